import CoopStore
import Foundation
import Testing

@Suite struct WriteTests {
    @Test(arguments: Backend.all) func aRetryWithTheSameRequestIDReturnsTheFirstResultAndWritesOnce(_ backend: Backend) async throws {
        try await withStore(backend) { store async throws in
            let ctx = context("put-source-1")
            let first = try await store.putSource(Source(title: "Report", publisher: "MHLW"), ctx)
            let retry = try await store.putSource(Source(title: "Report", publisher: "MHLW"), ctx)
            #expect(retry == first)
            // Even a changed payload is answered with the first result: the request was already applied.
            let changed = try await store.putSource(Source(title: "Other", publisher: "MHLW"), ctx)
            #expect(changed == first)
            #expect(try store.sources(page: PageRequest()).items == [first])
            #expect(try store.changes(after: 0, limit: 100).count == 1)
            #expect(try store.latestSequence() == 1)
        }
    }

    @Test(arguments: Backend.all) func addObservationsReturnsExactlyWhatIsStored(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            var detailed = fixture.observation(value: 7, period: "2021")
            // Given unsorted, without unit, vintage or status: the store sorts and fills them.
            detailed.breakdown = [Dimension(key: "status_of_residence", value: "TITP")]
            detailed.status = .unspecified
            detailed.note = "a note"
            let returned = try await fixture.store.addObservations(
                [fixture.observation(value: 1, period: "2020"), detailed], context())
            var query = ObservationQuery.everything()
            query.indicators = [fixture.indicator.code]
            let read = try fixture.store.observations(query).items
            #expect(returned.count == 2)
            #expect(read.sorted { $0.id < $1.id } == returned)
            #expect(returned[1].status == .normal)
            #expect(returned[1].unit == fixture.indicator.unit)
            #expect(returned.allSatisfy { $0.recordedSequence > 0 })
        }
    }

    @Test(arguments: Backend.all) func figuresAreCheckedAgainstTheIndicatorAsItIsNow(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            var bySex = fixture.observation(value: 3, period: "2022")
            bySex.breakdown = [Dimension(key: "sex", value: "F")]
            func rejected() async -> String? {
                await storeError { _ = try await fixture.store.addObservations([bySex], context()) }?.field
            }
            #expect(await rejected() == "observations[0].breakdown[0].key")
            var widened = fixture.indicator
            widened.breakdownDimensions.append("sex")
            _ = try await fixture.store.putIndicator(widened, context())
            #expect(try await fixture.store.addObservations([bySex], context()).count == 1)
            _ = try await fixture.store.putIndicator(fixture.indicator, context())
            #expect(await rejected() == "observations[0].breakdown[0].key")
        }
    }

    @Test(arguments: Backend.all) func aRetriedBatchReturnsTheSameObservations(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            let ctx = context("batch-1")
            let before = try fixture.store.latestSequence()
            let first = try await fixture.store.addObservations([fixture.observation(value: 1), fixture.observation(value: 2, period: "2022")], ctx)
            let retry = try await fixture.store.addObservations([fixture.observation(value: 1), fixture.observation(value: 2, period: "2022")], ctx)
            #expect(retry == first)
            #expect(try fixture.store.latestSequence() == before + 2)
            #expect(try await allObservations(fixture.store, .everything()).count == 2)
        }
    }

    @Test(arguments: Backend.all) func reusingARequestIDForAnotherOperationIsAFailedPrecondition(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            let ctx = context("shared-id")
            _ = try await fixture.store.putSource(Source(title: "Report", publisher: "MHLW"), ctx)
            let error = await storeError { _ = try await fixture.store.addObservations([fixture.observation()], ctx) }
            #expect(error?.code == .failedPrecondition)
            #expect(error?.field == "request_id")
            #expect(try await allObservations(fixture.store, .everything()).isEmpty)
        }
    }

    @Test(arguments: Backend.all, ["", String(repeating: "r", count: 129)])
    func aMissingOrOverlongRequestIDIsInvalid(_ backend: Backend, requestID: String) async throws {
        try await withStore(backend) { store async throws in
            let error = await storeError {
                _ = try await store.putSource(Source(title: "T", publisher: "P"), context(requestID))
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.field == "request_id")
        }
    }

    @Test(arguments: Backend.all) func aRequestIDOf128BytesIsAccepted(_ backend: Backend) async throws {
        try await withStore(backend) { store async throws in
            _ = try await store.putSource(Source(title: "T", publisher: "P"), context(String(repeating: "r", count: 128)))
        }
    }

    @Test(arguments: Backend.all) func aBatchWithOneBadRowStoresNothingAndNamesTheRow(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            let before = try fixture.store.latestSequence()
            var bad = fixture.observation(value: 2)
            bad.origin = "XX"
            let error = await storeError {
                _ = try await fixture.store.addObservations(
                    [fixture.observation(value: 1), fixture.observation(value: 3, period: "2022"), bad], context())
            }
            #expect(error == StoreError.invalid("observations[2].origin", "unknown country code \"XX\""))
            #expect(try await allObservations(fixture.store, .everything()).isEmpty)
            #expect(try fixture.store.latestSequence() == before)
        }
    }

    @Test(arguments: Backend.all) func theChangeLogRecordsTheWriterUIDAndTheEntity(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            let stored = try await fixture.store.addObservations([fixture.observation(value: 7)], context(uid: 4242))[0]
            let change = try #require(try fixture.store.changes(after: 0, limit: 100).last)
            #expect(change.writerUID == 4242)
            #expect(change.entityKind == "observation")
            #expect(change.entityID == stored.id)
            #expect(change.operation == .insert)
            #expect(change.sequence == stored.recordedSequence)
            #expect(change.entity == .observation(stored))
            #expect(change.time.hasSuffix("Z"))
            #expect(change.summary == "observation \(stored.id): TEST_WORKERS VN→JP 2023-10-31 = 7 persons")

            let earlier = try fixture.store.changes(after: 0, limit: 100)
            #expect(earlier.map(\.entityKind) == ["source", "indicator", "observation"])
            #expect(earlier.map(\.writerUID) == [1000, 1000, 4242])
            #expect(try fixture.store.changes(after: 2, limit: 100).map(\.sequence) == [3])
            #expect(try fixture.store.changes(after: 0, limit: 1).map(\.sequence) == [1])
        }
    }

    @Test(arguments: Backend.all) func sequenceUpdatesYieldTheLatestSequenceAfterAWrite(_ backend: Backend) async throws {
        try await withStore(backend) { store async throws in
            let updates = store.sequenceUpdates()
            let other = store.sequenceUpdates()
            _ = try await store.putSource(Source(title: "T", publisher: "P"), context())
            #expect(await firstValue(of: updates) == 1)
            #expect(await firstValue(of: other) == 1)
            _ = try await store.putSource(Source(title: "U", publisher: "P"), context())
            _ = try await store.putSource(Source(title: "V", publisher: "P"), context())
            // Only the newest value is buffered for a subscriber that was not reading.
            #expect(await firstValue(of: updates) == 3)
        }
    }

    @Test func closingTheStoreEndsSequenceUpdates() async throws {
        try await withTemporaryDirectory { directory async throws in
            let store = try SQLiteStore(path: directory.appendingPathComponent("coop.sqlite").path)
            let updates = store.sequenceUpdates()
            try store.close()
            var received: [Int64] = []
            for await value in updates { received.append(value) }
            #expect(received == [])
        }
    }

    @Test(arguments: Backend.all) func concurrentWritesAreGroupedAndAFailingOneRollsBackOnlyItself(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            let store = fixture.store
            let before = try store.latestSequence()
            let results = await withTaskGroup(of: Result<Observation, StoreError>.self) { group in
                for index in 0..<60 {
                    group.addTask {
                        var observation = fixture.observation(value: Int64(index), period: "\(1950 + index)")
                        if index % 10 == 3 {
                            observation.indicator = "UNKNOWN_INDICATOR"
                        }
                        do {
                            return .success(try await store.addObservations([observation], context("w\(index)"))[0])
                        } catch let error as StoreError {
                            return .failure(error)
                        } catch {
                            return .failure(StoreError(.internalError, "\(error)"))
                        }
                    }
                }
                var results: [Result<Observation, StoreError>] = []
                for await result in group { results.append(result) }
                return results
            }
            let stored = results.compactMap { try? $0.get() }
            let failures = results.compactMap { if case .failure(let error) = $0 { error } else { nil } }
            #expect(stored.count == 54)
            #expect(failures.count == 6)
            #expect(failures.allSatisfy { $0.field == "observations[0].indicator" })
            #expect(Set(stored.map(\.value)) == Set((0..<60).filter { $0 % 10 != 3 }.map(Int64.init)))

            let changes = try store.changes(after: before, limit: 1000)
            #expect(changes.map(\.sequence) == Array((before + 1)...(before + 54)))
            #expect(Set(stored.map(\.recordedSequence)) == Set(changes.map(\.sequence)))
            if let sqlite = store as? SQLiteStore {
                #expect(try await sqlite.checkStorage().integrity == ["ok"])
            }
        }
    }

    @Test(arguments: Backend.all) func theSameFigureIsNotStoredTwice(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            let store = fixture.store
            let first = try await store.addObservations([fixture.observation(value: 570_708)], context())[0]
            let before = try store.observations(.everything()).items.count
            let again = await storeError {
                _ = try await store.addObservations([fixture.observation(value: 570_708)], context())
            }
            #expect(again?.code == .alreadyExists && again?.field == "observations[0]", "\(String(describing: again))")
            #expect(again?.message.contains("identical to observation \(first.id)") == true)
            // Twice in one request: the second is the duplicate, and nothing of the request is stored.
            let twice = await storeError {
                _ = try await store.addObservations(
                    [fixture.observation(value: 1), fixture.observation(value: 1)], context())
            }
            #expect(twice?.code == .alreadyExists && twice?.field == "observations[1]", "\(String(describing: twice))")
            #expect(try store.observations(.everything()).items.count == before)
            // Any value of its own (another vintage, another value) is a figure of its own.
            _ = try await store.addObservations([fixture.observation(value: 570_708, vintage: "2026-02-01")], context())
            _ = try await store.addObservations([fixture.observation(value: 570_709)], context())
            #expect(try store.observations(.everything()).items.count == before + 2)
        }
    }

    @Test(arguments: Backend.all) func statementsStoreTheirClaimAndLinkItToTheConflictingStatistics(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            let store = fixture.store
            let claimIndicator = try await store.putIndicator(
                Indicator(code: "STATED_WORKERS", name: "Stated workers", measure: .claim, unit: "persons"), context())
            let statistic = try await store.addObservations([fixture.observation(value: 453_344, period: "2021-10-31")], context())[0]
            let event = try await store.putEvent(
                Event(kind: .meeting, title: "Talks", countries: ["VN", "JP"], actualDate: "2022-06-29", status: .held),
                context())
            let claim = Observation(
                indicator: claimIndicator.code, origin: "VN", destination: "JP", periodStart: "2022-06-29",
                periodEnd: "2022-06-29", value: 200_000, qualifier: .approx, sourceID: fixture.source.id)
            let statement = try await store.addStatement(
                Statement(
                    speaker: Participant(name: "Furukawa Yoshihisa", country: "JP"), eventID: event.id,
                    saidOn: "2022-06-29", text: "About 200,000 are trainees and workers.", sourceID: fixture.source.id,
                    conflictsWith: [statistic.id]),
                claim: claim, context())
            #expect(statement.claimObservationID != 0)
            #expect(statement.conflictsWith == [statistic.id])

            var query = ObservationQuery.of(claimIndicator.code, "VN", "JP")
            let stored = try #require(try store.observations(query).items.first)
            #expect(stored.id == statement.claimObservationID)
            #expect(stored.conflictsWith == [statistic.id])
            query = ObservationQuery.of(fixture.indicator.code, "VN", "JP")
            #expect(try store.observations(query).items.first?.conflictsWith == [stored.id])

            var byCountry = StatementQuery()
            byCountry.country = "VN"  // the claim's pair, not the speaker's country
            #expect(try store.statements(byCountry).items.map(\.id) == [statement.id])

            var notAClaim = claim
            notAClaim.indicator = fixture.indicator.code
            let error = await storeError {
                _ = try await store.addStatement(
                    Statement(speaker: Participant(name: "X"), saidOn: "2022", text: "t", sourceID: fixture.source.id),
                    claim: notAClaim, context())
            }
            #expect(error?.field == "claim.indicator")

            // By reference: a claim already stored may be named; a statistic may not, and nothing is stored.
            let again = try await store.addStatement(
                Statement(
                    speaker: Participant(name: "Furukawa Yoshihisa", country: "JP"), saidOn: "2022-07-01",
                    text: "Again, about 200,000.", claimObservationID: statement.claimObservationID,
                    sourceID: fixture.source.id),
                claim: nil, context())
            #expect(again.claimObservationID == statement.claimObservationID)
            let before = try store.statements(StatementQuery()).items.count
            let statisticAsClaim = await storeError {
                _ = try await store.addStatement(
                    Statement(
                        speaker: Participant(name: "X"), saidOn: "2022", text: "t", claimObservationID: statistic.id,
                        sourceID: fixture.source.id),
                    claim: nil, context())
            }
            #expect(statisticAsClaim?.code == .invalidArgument)
            #expect(statisticAsClaim?.field == "statement.claim_observation_id", "\(String(describing: statisticAsClaim))")
            #expect(try store.statements(StatementQuery()).items.count == before)
        }
    }

    @Test(arguments: Backend.all) func updatingAnEventReplacesItAndAnUnknownIDIsNotFound(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            let store = fixture.store
            var event = try await store.putEvent(
                Event(
                    kind: .conference, title: "Justice ministers' meeting", countries: ["JP", "VN"],
                    plannedDate: "2022-07", status: .announced, participants: [Participant(name: "A")]), context())
            #expect(event.id > 0)
            event.actualDate = "2023-07-06"
            event.status = .held
            event.participants = []
            let updated = try await store.putEvent(event, context())
            #expect(updated == event)
            let change = try #require(try store.changes(after: 0, limit: 100).last)
            #expect(change.operation == .update)
            #expect(change.entity == .event(updated))

            var unknown = event
            unknown.id = 999
            let error = await storeError { _ = try await store.putEvent(unknown, context()) }
            #expect(error?.code == .notFound)
            #expect(error?.field == "event.id")
        }
    }

    @Test(arguments: Backend.all) func agreementsAreFilteredByPartyTopicAndDate(_ backend: Backend) async throws {
        try await withSeededStore(backend) { store async throws in
            var query = AgreementQuery()
            query.topic = "technical_intern_training"
            #expect(try store.agreements(query).items.map(\.signedDate) == ["2017-06-06", "2019-03", "2022-06-20"])
            query = AgreementQuery()
            query.country = "VN"
            query.counterpart = "JP"
            query.from = "2019"
            query.to = "2020"
            #expect(try store.agreements(query).items.map(\.signedDate) == ["2019-03", "2019-07-01", "2020-10"])
            query = AgreementQuery()
            query.kind = .partnership
            #expect(try store.agreements(query).items.count == 2)
        }
    }
}
