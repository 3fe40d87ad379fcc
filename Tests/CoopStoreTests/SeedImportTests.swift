import CoopStore
import Foundation
import Testing

@Suite struct SeedImportTests {
    /// The figures table's 100 rows, and one claim filed again by the corrections (`SeedCorrections`).
    @Test func seedImportStoresTheTablesFiguresAndTheCorrectionsAndIsIdempotentAcrossReopen() async throws {
        try await withTemporaryDirectory { directory async throws in
            let path = directory.appendingPathComponent("coop.sqlite").path
            var lines: [String] = []
            let first = try SQLiteStore(path: path)
            try await first.importSeedIfNeeded { lines.append($0) }
            #expect(lines.contains("importing figures 50/100"))
            #expect(lines.last == "seed data imported")
            #expect(try await allObservations(first, .everything()).count == 101)
            let sequence = try first.latestSequence()
            try first.close()

            lines = []
            let second = try SQLiteStore(path: path)
            defer { try? second.close() }
            try await second.importSeedIfNeeded { lines.append($0) }
            #expect(lines == ["seed data already imported"])
            #expect(try await allObservations(second, .everything()).count == 101)
            #expect(try await second.latestSequence() == sequence)
            #expect(try await second.indicators().count == 17)
            #expect(try await second.sources(page: PageRequest(size: 1000)).items.count == 73)
            #expect(try await second.events(EventQuery()).items.count == 10)
            #expect(try await second.agreements(AgreementQuery()).items.count == 8)
            #expect(try await second.statements(StatementQuery()).items.count == 7)
        }
    }

    @Test(arguments: Backend.all) func aDatabaseSeededBeforeTheCorrectionsGetsThemOnceAtItsNextStart(_ backend: Backend) async throws {
        try await withStore(backend) { store async throws in
            try await store.importSeedIfNeeded(progress: { _ in }, corrections: false)
            var claims = ObservationQuery.everything()
            claims.indicators = ["STATEMENT_VN_NATIONALS_IN_JP", "STATEMENT_VN_TRAINEES_AND_WORKERS_IN_JP"]
            let before = try await allObservations(store, claims)
            let misfiled = try #require(before.first { $0.value == 230_000 })
            #expect(misfiled.indicator == "STATEMENT_VN_NATIONALS_IN_JP" && !misfiled.retracted)
            #expect(try store.statements(StatementQuery()).items.count == 5)

            var lines: [String] = []
            try await store.importSeedIfNeeded { lines.append($0) }
            #expect(lines == ["seed data already imported", "seed data corrections applied"])
            let after = try await allObservations(store, claims)
            let retracted = try #require(after.first { $0.id == misfiled.id })
            let refiled = try #require(after.first { $0.value == 230_000 && $0.id != misfiled.id })
            #expect(retracted.retracted && retracted.retractionReason.contains("observation \(refiled.id)"))
            #expect(refiled.indicator == "STATEMENT_VN_TRAINEES_AND_WORKERS_IN_JP" && refiled.sourceID == misfiled.sourceID)
            #expect(try store.statements(StatementQuery()).items.count == 7)

            let sequence = try store.latestSequence()
            try await store.importSeedIfNeeded { _ in }
            #expect(try store.latestSequence() == sequence)
        }
    }

    @Test(arguments: Backend.all) func anInterruptedImportResumesWithoutDuplicatingFinishedSteps(_ backend: Backend) async throws {
        try await withStore(backend) { store async throws in
            // As if a first run had stored one indicator (with the seed's request id) and then crashed.
            let early = Indicator(
                code: "JP_MHLW_FOREIGN_WORKERS", name: "early", measure: .stock, unit: "persons")
            _ = try await store.putIndicator(
                early, WriteContext(requestID: "seed-v1/indicator/JP_MHLW_FOREIGN_WORKERS", writerUID: 0))
            try await store.importSeedIfNeeded { _ in }

            #expect(try store.indicators().count == 17)
            #expect(try store.indicators().first { $0.code == "JP_MHLW_FOREIGN_WORKERS" }?.name == "early")
            let changes = try store.changes(after: 0, limit: 1000)
            #expect(changes.filter { $0.entityKind == "indicator" }.count == 17)
            #expect(try await allObservations(store, .everything()).count == 101)
        }
    }

    @Test(arguments: Backend.all) func seedWritesAreLoggedWithWriterUIDZero(_ backend: Backend) async throws {
        try await withSeededStore(backend) { store async throws in
            let changes = try store.changes(after: 0, limit: 1000)
            #expect(changes.count == Int(try store.latestSequence()))
            #expect(changes.allSatisfy { $0.writerUID == 0 })
            #expect(changes.map(\.sequence) == Array(1...Int64(changes.count)))
            let kinds = Dictionary(grouping: changes, by: \.entityKind).mapValues(\.count)
            // The table's 100 figures; the corrections file one claim again and retract its first filing.
            #expect(kinds["observation"] == 102)
            #expect(kinds["indicator"] == 17)
            #expect(kinds["source"] == 73)
            #expect(kinds["event"] == 10)
            #expect(kinds["agreement"] == 8)
            #expect(kinds["statement"] == 7)
            #expect(kinds["relationship"] == 1)
            #expect(kinds["conflict"] == 8)
            #expect(changes.filter { $0.operation == .revise }.count == 3)
        }
    }

    @Test(arguments: Backend.all) func theRelationshipHasItsEstablishedDateAndThreeLevels(_ backend: Backend) async throws {
        try await withSeededStore(backend) { store async throws in
            let relationship = try #require(try store.relationship("VN", "JP"))
            #expect(relationship.countryA == "VN")
            #expect(relationship.established == "1973-09-21")
            #expect(relationship.history.map(\.level) == [
                "Strategic Partnership", "Extensive Strategic Partnership", "Comprehensive Strategic Partnership",
            ])
            #expect(relationship.history.map(\.since) == ["2006-10-19", "2014-03-18", "2023-11-27"])
            let agreements = try store.agreements(AgreementQuery()).items
            let signed = relationship.history.map { level in
                agreements.first { $0.id == level.agreementID }?.signedDate
            }
            #expect(signed == ["2006-10-19", "2014-03-18", "2023-11-27"])
            #expect(try store.relationship("JP", "VN")?.established == "1973-09-21")
            #expect(try store.relationship("VN", "KR") == nil)
        }
    }

    @Test(arguments: Backend.all) func figuresAreConvertedWithUnitsQualifiersAndSources(_ backend: Backend) async throws {
        try await withSeededStore(backend) { store async throws in
            let oda = try await seedObservation(
                store, "JP_ODA_COMMITTED_CUMULATIVE", "JP", "VN", periodEnd: "2015-12-31", value: 26)
            #expect(oda.unitMultiplier == 11)
            #expect(oda.unit == "JPY")
            #expect(oda.qualifier == .approx)
            let pledge = try await seedObservation(store, "JP_ODA_PLEDGE", "JP", "VN", periodEnd: "2016-03-31", value: 300)
            #expect(pledge.unitMultiplier == 9)

            let preliminary = try await seedObservation(
                store, "JP_ISA_FOREIGN_RESIDENTS", "VN", "JP", periodEnd: "2018-06-30", value: 291_494)
            #expect(preliminary.status == .provisional)
            #expect(preliminary.qualifier == .exact)
            #expect(preliminary.vintage == "2018-09-25")

            let titp = try await seedObservation(
                store, "JP_MHLW_FOREIGN_WORKERS_BY_STATUS", "VN", "JP", periodEnd: "2018-10-31", value: 142_883)
            #expect(titp.breakdown == [Dimension(key: "status_of_residence", value: "TITP")])

            // Two rows read in the same article share one source.
            let a = try await seedObservation(store, "JP_MHLW_FOREIGN_WORKERS", "VN", "JP", periodEnd: "2015-10-31", value: 110_013)
            let b = try await seedObservation(store, "JP_MHLW_FOREIGN_WORKERS", "VN", "JP", periodEnd: "2017-10-31", value: 240_259)
            #expect(a.sourceID == b.sourceID)
            let source = try #require(try store.sources(ids: [a.sourceID]).first)
            #expect(source.url == "https://www.viet-jo.com/news/statistics/180130122246-pic1.html")
            #expect(source.published == "2018-01-30")
            #expect(source.kind == .news)

            let repost = try await seedObservation(store, "JP_MHLW_FOREIGN_WORKERS", "VN", "JP", periodEnd: "2021-10-31", value: 453_344)
            let repostSource = try #require(try store.sources(ids: [repost.sourceID]).first)
            #expect(repostSource.kind == .repost)
            #expect(repostSource.originalPublisher == "VIETJO")
        }
    }

    @Test(arguments: Backend.all) func theJusticeMinistersMeetingWasPlannedForJuly2022AndHeldOn6July2023(_ backend: Backend) async throws {
        try await withSeededStore(backend) { store async throws in
            var query = EventQuery()
            query.kind = .conference
            let events = try store.events(query).items
            #expect(events.count == 1)
            let meeting = try #require(events.first)
            #expect(meeting.title == "ASEAN-Japan Special Meeting of Justice Ministers")
            #expect(meeting.plannedDate == "2022-07")
            #expect(meeting.actualDate == "2023-07-06")
            #expect(meeting.status == .held)
            #expect(meeting.place == "Tokyo")

            // Found by its planned date as well as by its actual date.
            var july2022 = EventQuery()
            july2022.from = "2022-07"
            july2022.to = "2022-07"
            #expect(try store.events(july2022).items.map(\.id) == [meeting.id])
            // A partial date covers its whole period: the anniversary planned for "2023" overlaps 6 July 2023.
            var july2023 = EventQuery()
            july2023.from = "2023-07-06"
            july2023.to = "2023-07-06"
            #expect(try store.events(july2023).items.map(\.title) == [
                "ASEAN-Japan Special Meeting of Justice Ministers", "50th anniversary of Vietnam–Japan diplomatic relations",
            ])
        }
    }

    @Test(arguments: Backend.all) func theSeedArticleStatementsAreAttributedAndLinkedToTheStatisticsTheyContradict(_ backend: Backend) async throws {
        try await withSeededStore(backend) { store async throws in
            var byParticipant = EventQuery()
            byParticipant.participant = "furukawa"
            byParticipant.from = "2022-06-29"
            byParticipant.to = "2022-06-29"
            let events = try store.events(byParticipant).items
            let meeting = try #require(events.first { $0.title.hasPrefix("Minister Dao Ngoc Dung meets") })
            #expect(meeting.participants.map(\.nativeName) == ["Đào Ngọc Dung", "古川禎久"])
            #expect(meeting.participants.map(\.country) == ["VN", "JP"])

            var query = StatementQuery()
            query.eventID = meeting.id
            let statements = try store.statements(query).items
            #expect(statements.count == 4)

            let all = try await allObservations(store, .everything())
            var claims: [Int64: Int64] = [:]
            var conflicts: [Int64: [Int64]] = [:]
            var speakers: [Int64: String] = [:]
            for statement in statements {
                let value = try #require(all.first { $0.id == statement.claimObservationID }).value
                claims[value] = statement.claimObservationID
                speakers[value] = statement.speaker.name
                conflicts[value] = statement.conflictsWith.compactMap { id in all.first { $0.id == id }?.value }.sorted()
                #expect(statement.saidOn == "2022-06-29")
            }
            #expect(speakers == [
                500_000: "Dao Ngoc Dung", 149_000: "Dao Ngoc Dung", 50_000: "Dao Ngoc Dung",
                200_000: "Furukawa Yoshihisa",
            ])
            #expect(conflicts == [
                500_000: [432_934, 476_346], 149_000: [80_002, 147_387], 50_000: [32_053], 200_000: [453_344],
            ])

            // The claim observations carry the same links, in both directions.
            let isa2021 = try await seedObservation(
                store, "JP_ISA_FOREIGN_RESIDENTS", "VN", "JP", periodEnd: "2021-12-31", value: 432_934)
            let isa2022 = try await seedObservation(
                store, "JP_ISA_FOREIGN_RESIDENTS", "VN", "JP", periodEnd: "2022-06-30", value: 476_346)
            let claim = try await seedObservation(
                store, "STATEMENT_VN_NATIONALS_IN_JP", "VN", "JP", periodEnd: "2022-06-29", value: 500_000)
            #expect(claim.id == claims[500_000])
            #expect(claim.conflictsWith == [isa2021.id, isa2022.id].sorted())
            #expect(isa2021.conflictsWith == [claim.id])
            #expect(isa2022.conflictsWith == [claim.id])
        }
    }
}
