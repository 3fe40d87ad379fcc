import Foundation
import Testing

@testable import CoopStore

@Suite struct GroupCommitTests {
    @Test(arguments: Backend.all) func writesWaitingTogetherShareOneTransactionAndAFailingOneRollsBackOnlyItself(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            let store = fixture.store
            let before = store.writer.statistics
            // Hold the writer busy, so the next requests queue up behind it.
            let release = DispatchSemaphore(value: 0)
            let started = Locked(false)
            async let blocker: Void = store.writer.submit { _ in
                started.withLock { $0 = true }
                release.wait()
            }
            while !started.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(1)) }

            let results = try await withThrowingTaskGroup(of: (Int, Result<Observation, StoreError>).self) { group in
                for index in 0..<10 {
                    group.addTask {
                        var observation = fixture.observation(value: Int64(index), period: "\(2000 + index)")
                        if index == 4 { observation.origin = "XX" }
                        do {
                            return (index, .success(try await store.addObservations([observation], context())[0]))
                        } catch let error as StoreError {
                            return (index, .failure(error))
                        }
                    }
                }
                while store.writer.pendingCount < 10 { try await Task.sleep(for: .milliseconds(1)) }
                release.signal()
                var results: [Int: Result<Observation, StoreError>] = [:]
                for try await (index, result) in group { results[index] = result }
                return results
            }
            try await blocker

            let after = store.writer.statistics
            #expect(after.requests - before.requests == 11)
            #expect(after.transactions - before.transactions == 2)
            #expect(results.count == 10)
            #expect(results[4].flatMap { if case .failure(let error) = $0 { error.field } else { nil } } == "observations[0].origin")
            let stored = results.values.compactMap { try? $0.get() }
            #expect(stored.count == 9)
            #expect(Set(stored.map(\.value)) == [0, 1, 2, 3, 5, 6, 7, 8, 9])
            #expect(try await allObservations(store, .everything()).count == 9)
        }
    }
}
