import Foundation
import Testing

@testable import CoopStore

@Suite struct GroupCommitTests {
    @Test(arguments: Backend.all) func writesWaitingTogetherShareOneTransactionAndAFailingOneRollsBackOnlyItself(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            let store = fixture.store
            let before = store.writer.statistics
            let requests: [@Sendable () async throws -> Observation] = (0..<10).map { index in
                {
                    var observation = fixture.observation(value: Int64(index), period: "\(2000 + index)")
                    if index == 4 { observation.origin = "XX" }
                    return try await store.addObservations([observation], context())[0]
                }
            }
            let results = try await inOneGroup(store, requests)

            let after = store.writer.statistics
            #expect(after.requests - before.requests == 11)
            #expect(after.transactions - before.transactions == 2)
            #expect(results.count == 10)
            #expect({ if case .failure(let error) = results[4] { error.field } else { nil } }() == "observations[0].origin")
            let stored = results.compactMap { try? $0.get() }
            #expect(stored.count == 9)
            #expect(Set(stored.map(\.value)) == [0, 1, 2, 3, 5, 6, 7, 8, 9])
            #expect(try await allObservations(store, .everything()).count == 9)
        }
    }

    /// Hold the writer busy while `requests` queue up behind it, in the order given, so they all run in one group
    /// in that order; their results in that order.
    private func inOneGroup<Value: Sendable>(
        _ store: SQLStore, _ requests: [@Sendable () async throws -> Value]
    ) async throws -> [Result<Value, StoreError>] {
        let release = DispatchSemaphore(value: 0)
        let started = Locked(false)
        async let blocker: Void = store.writer.submit { _ in
            started.withLock { $0 = true }
            release.wait()
        }
        while !started.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(1)) }
        let pendingBefore = store.writer.pendingCount
        let results = try await withThrowingTaskGroup(of: (Int, Result<Value, StoreError>).self) { group in
            for (index, request) in requests.enumerated() {
                group.addTask {
                    do {
                        return (index, .success(try await request()))
                    } catch let error as StoreError {
                        return (index, .failure(error))
                    }
                }
                while store.writer.pendingCount < pendingBefore + index + 1 {
                    try await Task.sleep(for: .milliseconds(1))
                }
            }
            release.signal()
            var results: [Int: Result<Value, StoreError>] = [:]
            for try await (index, result) in group { results[index] = result }
            return results
        }
        try await blocker
        return requests.indices.map { results[$0]! }
    }

    /// A request that fails after it stored rows (here the second figure of a request duplicates a stored one,
    /// after the first was inserted) is taken back alone: the group runs again with savepoints, the others are
    /// stored once each, and the change log has one change per stored figure, numbered without a gap.
    @Test(arguments: Backend.all) func aRequestThatFailsAfterWritingIsTakenBackAloneAndTheLogHasNoGap(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            let store = fixture.store
            let stored = try await store.addObservations([fixture.observation(value: 999, period: "1999")], context())[0]
            let logStart = try store.changes(after: 0, limit: 10_000).last?.sequence ?? 0
            let before = store.writer.statistics
            let requests: [@Sendable () async throws -> [Observation]] = (0..<8).map { index in
                {
                    var figures = [fixture.observation(value: Int64(index), period: "\(2000 + index)")]
                    if index == 3 { figures.append(fixture.observation(value: 999, period: "1999")) }
                    return try await store.addObservations(figures, context("group-\(index)"))
                }
            }
            let results = try await inOneGroup(store, requests)
            let after = store.writer.statistics
            #expect(after.transactions - before.transactions == 2)
            #expect(after.rerunWithSavepoints - before.rerunWithSavepoints == 1)
            guard case .failure(let error) = results[3] else {
                Issue.record("the request with a duplicate was stored: \(results[3])")
                return
            }
            #expect(error.code == .alreadyExists && error.field == "observations[1]", "\(error)")
            #expect(error.message.contains("\(stored.id)"))
            let values = results.compactMap { try? $0.get() }.flatMap { $0 }.map(\.value)
            #expect(values == [0, 1, 2, 4, 5, 6, 7])
            let all = try await allObservations(store, .everything())
            #expect(all.map(\.value).sorted() == [0, 1, 2, 4, 5, 6, 7, 999])
            let changes = try store.changes(after: logStart, limit: 100)
            #expect(changes.map(\.sequence) == Array(logStart + 1...logStart + 7))
            #expect(Set(changes.map(\.entityID)) == Set(results.compactMap { try? $0.get() }.flatMap { $0 }.map(\.id)))
            // The failed request stored nothing under its id: sent again without the duplicate, it is stored.
            let retried = try await store.addObservations([fixture.observation(value: 3, period: "2003")], context("group-3"))
            #expect(retried.map(\.value) == [3])
        }
    }

    /// The same request id twice in one group: the second is answered with what the first stored, and nothing is
    /// stored twice; a request that fails validation leaves the group on its fast path.
    @Test(arguments: Backend.all) func aRequestIDSentTwiceInOneGroupIsStoredOnce(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            let store = fixture.store
            let before = store.writer.statistics
            let requests: [@Sendable () async throws -> [Observation]] = [
                { try await store.addObservations([fixture.observation(value: 1, period: "2001")], context("twice")) },
                { try await store.addObservations([fixture.observation(value: 2, period: "2002", origin: "XX")], context()) },
                { try await store.addObservations([fixture.observation(value: 1, period: "2001")], context("twice")) },
            ]
            let results = try await inOneGroup(store, requests)
            let first = try results[0].get()
            #expect(try results[2].get() == first)
            guard case .failure(let error) = results[1] else {
                Issue.record("an invalid figure was stored")
                return
            }
            #expect(error.field == "observations[0].origin")
            #expect(store.writer.statistics.rerunWithSavepoints == before.rerunWithSavepoints)
            #expect(try await allObservations(store, .everything()).map(\.value) == [1])
        }
    }

    /// Figures of a group's requests may be stored together (on PostgreSQL one statement for all): one identical
    /// to a figure of an earlier request of the same group is still refused, and the earlier one stored.
    @Test(arguments: Backend.all) func aFigureIdenticalToOneOfAnEarlierRequestOfTheGroupIsRefused(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            let store = fixture.store
            let requests: [@Sendable () async throws -> [Observation]] = [
                { try await store.addObservations([fixture.observation(value: 7, period: "2007")], context()) },
                { try await store.addObservations([fixture.observation(value: 8, period: "2008")], context()) },
                { try await store.addObservations([fixture.observation(value: 7, period: "2007")], context()) },
            ]
            let results = try await inOneGroup(store, requests)
            let first = try results[0].get()[0]
            guard case .failure(let error) = results[2] else {
                Issue.record("a figure identical to one of the same group was stored: \(results[2])")
                return
            }
            #expect(error.code == .alreadyExists && error.field == "observations[0]", "\(error)")
            #expect(error.message.contains("identical to observation \(first.id)"), "\(error)")
            #expect(try await allObservations(store, .everything()).map(\.value).sorted() == [7, 8])
        }
    }

    /// A group's requests take effect in the order they queued, though figures may be stored later together: a
    /// retraction queued after a figure identical to the figure it retracts finds that figure refused, as it was
    /// when the figure's request ran (stored after the retraction, it would have been accepted).
    @Test(arguments: Backend.all) func aRequestAfterFiguresOfItsGroupSeesThemStoredOrRefusedFirst(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            let store = fixture.store
            let stored = try await store.addObservations([fixture.observation(value: 5, period: "2005")], context())[0]
            let requests: [@Sendable () async throws -> [Observation]] = [
                { try await store.addObservations([fixture.observation(value: 5, period: "2005")], context()) },
                { [try await store.retractObservation(stored.id, reason: "withdrawn by its source", context())] },
            ]
            let results = try await inOneGroup(store, requests)
            guard case .failure(let error) = results[0] else {
                Issue.record("a figure identical to a live one was stored: \(results[0])")
                return
            }
            #expect(error.code == .alreadyExists && error.message.contains("\(stored.id)"), "\(error)")
            #expect(try results[1].get().first?.retracted == true)
        }
    }

    /// A request that changed a row and then failed, beside requests that succeed: its row is taken back (the
    /// group runs again with savepoints), theirs are stored.
    @Test(arguments: Backend.all) func aRowChangedByARequestThatThenFailsIsTakenBack(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            let store = fixture.store
            let before = store.writer.statistics
            var requests: [@Sendable () async throws -> [Observation]] = (0..<4).map { index in
                { try await store.addObservations([fixture.observation(value: Int64(index), period: "\(2000 + index)")], context()) }
            }
            requests.insert(
                {
                    try await store.writer.submit { db -> [Observation] in
                        try MetaTable.set(db, "probe", "written by a request that then failed")
                        throw StoreError(.failedPrecondition, "failed after writing")
                    }
                }, at: 2)
            let results = try await inOneGroup(store, requests)
            #expect({ if case .failure(let error) = results[2] { error.message } else { nil } }() == "failed after writing")
            #expect(results.compactMap { try? $0.get() }.flatMap { $0 }.map(\.value) == [0, 1, 2, 3])
            #expect(store.writer.statistics.rerunWithSavepoints - before.rerunWithSavepoints == 1)
            #expect(try store.read { db in try MetaTable.value(db, "probe") } == nil)
            #expect(try await allObservations(store, .everything()).map(\.value).sorted() == [0, 1, 2, 3])
        }
    }
}
