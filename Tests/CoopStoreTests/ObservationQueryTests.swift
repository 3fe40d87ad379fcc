import CoopStore
import CoopFormats
import Foundation
import Testing

@Suite struct ObservationQueryTests {
    static let dolab = "VN_DOLAB_WORKERS_DEPLOYED"

    /// Rows read in place (for answers encoded straight from the store) hold what the listed observations hold,
    /// in the same order, with the same next page token.
    @Test(arguments: Backend.all) func rowsReadInPlaceHoldWhatTheListedObservationsHold(_ backend: Backend) async throws {
        try await withSeededStore(backend) { store async throws in
            var query = ObservationQuery()
            query.anyBreakdown = true
            query.includeSuperseded = true
            query.includeRetracted = true
            query.includeClaims = true
            query.page = PageRequest(size: 40)
            var pages = 0
            while true {
                let page = try store.observations(query)
                var rows: [Observation] = []
                let (token, _) = try store.observationRows(query, claims: false) { row in
                    row.withValues { v in
                        func text(_ column: ObservationRow.Text) -> String { String(decoding: v[column], as: UTF8.self) }
                        var o = Observation(
                            id: v[.id], indicator: text(.indicator), origin: text(.origin),
                            destination: text(.destination), periodStart: text(.periodStart),
                            periodEnd: text(.periodEnd), value: v[.value], valueHigh: v[.valueHigh],
                            unitMultiplier: Int32(v[.unitMultiplier]), unit: text(.unit),
                            qualifier: Qualifier(rawValue: text(.qualifier)) ?? .unspecified,
                            status: ObservationStatus(rawValue: text(.status)) ?? .unspecified,
                            sourceID: v[.sourceID], locator: text(.locator), vintage: text(.vintage),
                            supersedesID: v[.supersedesID], note: text(.note))
                        o.supersededByID = v[.supersededByID]
                        o.retracted = v[.retracted] != 0
                        o.retractionReason = text(.retractionReason)
                        o.recordedSequence = v[.recordedSequence]
                        // Breakdowns and conflict links are compared through the model.
                        o.breakdown = row.observation.breakdown
                        o.conflictsWith = row.observation.conflictsWith
                        rows.append(o)
                    }
                }
                #expect(rows == page.items)
                #expect(token == page.nextToken)
                pages += 1
                if token.isEmpty { break }
                query.page.token = token
            }
            #expect(pages > 1)
        }
    }

    /// Claims asked with a page are the statements that state its figures, whole (conflict links too), exactly
    /// as the statement listing holds them; a page of no claims has none.
    @Test(arguments: Backend.all) func claimsReadWithAPageAreTheStatementsStatingItsFigures(_ backend: Backend) async throws {
        try await withSeededStore(backend) { store async throws in
            var all: [Statement] = []
            var statements = StatementQuery()
            statements.page = PageRequest(size: 1000)
            all = try store.statements(statements).items
            let stating = Dictionary(grouping: all.filter { $0.claimObservationID != 0 }, by: \.claimObservationID)
            #expect(!stating.isEmpty, "the shipped data holds claims")
            var query = ObservationQuery()
            query.includeClaims = true
            query.anyBreakdown = true
            query.page = PageRequest(size: 1000)
            var ids: [Int64] = []
            let (_, claims) = try store.observationRows(query, claims: true) { row in ids.append(row.observation.id) }
            let expected = ids.flatMap { stating[$0] ?? [] }.sorted { $0.id < $1.id }
            #expect(!expected.isEmpty)
            #expect(claims == expected)

            query.includeClaims = false
            let (_, none) = try store.observationRows(query, claims: true) { _ in }
            #expect(none.isEmpty, "statistics only: no figure on the page is a claim")
            let (_, notAsked) = try store.observationRows(query, claims: false) { _ in }
            #expect(notAsked.isEmpty)
        }
    }

    @Test(arguments: Backend.all) func aRevisionKeepsTheEarlierVintage(_ backend: Backend) async throws {
        try await withSeededStore(backend) { store async throws in
            // DOLAB 2019, all destinations: 147,387 (published 2020-01-02), revised to "152,000" (2023-01).
            var query = ObservationQuery.of(Self.dolab, "VN", "_T")
            query.periodFrom = "2019"
            query.periodTo = "2019"
            let latest = try store.observations(query).items
            #expect(latest.map(\.value) == [152_000])

            query.includeSuperseded = true
            let both = try store.observations(query).items
            #expect(both.map(\.value) == [147_387, 152_000])
            #expect(both[0].supersededByID == both[1].id)
            #expect(both[1].supersedesID == both[0].id)
            #expect(both.map(\.vintage) == ["2020-01-02", "2023-01"])

            query.includeSuperseded = false
            query.asOf = "2022-12-31"
            #expect(try store.observations(query).items.map(\.value) == [147_387])
            query.asOf = "2023-01"
            #expect(try store.observations(query).items.map(\.value) == [152_000])
            query.asOf = "2019-12-31"
            #expect(try store.observations(query).items.isEmpty)
        }
    }

    @Test(arguments: Backend.all) func asOfShowsWhatWasKnownOnThatDate(_ backend: Backend) async throws {
        try await withSeededStore(backend) { store async throws in
            // DOLAB 2018 to Japan: "more than 67,000" (2018-12-25), then "69,000" (2019-03-20).
            var query = ObservationQuery.of(Self.dolab, "VN", "JP")
            query.periodFrom = "2018"
            query.periodTo = "2018"
            query.asOf = "2019-03-19"
            #expect(try store.observations(query).items.map(\.value) == [67_000])
            query.asOf = "2019-03-20"
            #expect(try store.observations(query).items.map(\.value) == [69_000])
            query.asOf = "2018-12-24"
            #expect(try store.observations(query).items.isEmpty)

            // As of mid-2020, the MHLW series had reached end-October 2019.
            var mhlw = ObservationQuery.of("JP_MHLW_FOREIGN_WORKERS", "VN", "JP")
            mhlw.asOf = "2020-06-30"
            #expect(try store.observations(mhlw).items.map(\.periodEnd).last == "2019-10-31")
        }
    }

    @Test(arguments: Backend.all) func revisingThroughTheAPISupersedesWithoutOverwriting(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            let store = fixture.store
            let first = try await store.addObservations(
                [fixture.observation(value: 140_000, period: "2018-12-31", vintage: "2018-12-25")], context())[0]
            var revision = Observation(
                indicator: "", origin: "", destination: "", periodStart: "", periodEnd: "", value: 142_000,
                sourceID: fixture.source.id, vintage: "2019-02")
            revision.qualifier = .atLeast
            let second = try await store.reviseObservation(supersedes: first.id, revision: revision, context())
            #expect(second.supersedesID == first.id)
            #expect(second.indicator == first.indicator)
            #expect(second.periodEnd == "2018-12-31")

            let query = ObservationQuery.of(fixture.indicator.code, "VN", "JP")
            #expect(try store.observations(query).items.map(\.value) == [142_000])
            var all = query
            all.includeSuperseded = true
            #expect(try store.observations(all).items.map(\.value) == [140_000, 142_000])
            var before = query
            before.asOf = "2019-01-31"
            #expect(try store.observations(before).items.map(\.value) == [140_000])

            let again = await storeError {
                _ = try await store.reviseObservation(supersedes: first.id, revision: revision, context())
            }
            #expect(again?.code == .failedPrecondition)
            #expect(again?.field == "supersedes_id")

            var moved = revision
            moved.periodStart = "2019-12-31"
            let mismatch = await storeError {
                _ = try await store.reviseObservation(supersedes: second.id, revision: moved, context())
            }
            #expect(mismatch?.field == "revision.period_start")

            var early = revision
            early.vintage = "2018-01"
            let tooEarly = await storeError {
                _ = try await store.reviseObservation(supersedes: second.id, revision: early, context())
            }
            #expect(tooEarly?.field == "revision.vintage")

            let missing = await storeError {
                _ = try await store.reviseObservation(supersedes: 999, revision: revision, context())
            }
            #expect(missing?.code == .notFound)
        }
    }

    @Test(arguments: Backend.all) func retractedObservationsAreHiddenUnlessAskedFor(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            let store = fixture.store
            let stored = try await store.addObservations([fixture.observation(value: 5)], context())[0]
            let retracted = try await store.retractObservation(stored.id, reason: "misread table", context())
            #expect(retracted.retracted)
            #expect(retracted.retractionReason == "misread table")
            let query = ObservationQuery.of(fixture.indicator.code, "VN", "JP")
            #expect(try store.observations(query).items.isEmpty)
            var withRetracted = query
            withRetracted.includeRetracted = true
            #expect(try store.observations(withRetracted).items.map(\.id) == [stored.id])
            let twice = await storeError { _ = try await store.retractObservation(stored.id, reason: "again", context()) }
            #expect(twice?.code == .failedPrecondition)
            let change = try #require(try store.changes(after: 0, limit: 100).last)
            #expect(change.operation == .retract)
            #expect(change.entity == .observation(retracted))
        }
    }

    @Test(arguments: Backend.all) func conflictLinksWorkInBothDirections(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            let store = fixture.store
            let stored = try await store.addObservations(
                [fixture.observation(value: 1, period: "2020"), fixture.observation(value: 2, period: "2021")], context())
            let linked = try await store.linkConflict(stored[1].id, with: stored[0].id, note: "scope differs", context())
            #expect(linked.id == stored[1].id)
            #expect(linked.conflictsWith == [stored[0].id])

            var first = ObservationQuery.of(fixture.indicator.code, "VN", "JP")
            first.periodTo = "2020"
            #expect(try store.observations(first).items.map(\.conflictsWith) == [[stored[1].id]])
            first.includeConflicts = true
            #expect(try store.observations(first).items.map(\.value) == [1, 2])

            let change = try #require(try store.changes(after: 0, limit: 100).last)
            #expect(change.entityKind == "conflict")
            #expect(change.entityKey == "\(stored[0].id):\(stored[1].id)")
            #expect(change.operation == .link)

            let selfLink = await storeError { _ = try await store.linkConflict(stored[0].id, with: stored[0].id, note: "", context()) }
            #expect(selfLink?.field == "conflicts_with_id")
            let missing = await storeError { _ = try await store.linkConflict(stored[0].id, with: 4242, note: "", context()) }
            #expect(missing?.code == .notFound)
            #expect(missing?.field == "conflicts_with_id")
        }
    }

    @Test(arguments: Backend.all) func includeConflictsAddsTheStatisticsAClaimContradicts(_ backend: Backend) async throws {
        try await withSeededStore(backend) { store async throws in
            var query = ObservationQuery.of("STATEMENT_VN_NATIONALS_IN_JP", "VN", "JP")
            query.periodFrom = "2022-06-29"
            query.periodTo = "2022-06-29"
            #expect(try store.observations(query).items.map(\.value) == [500_000])
            query.includeConflicts = true
            let values = try store.observations(query).items.map(\.value)
            #expect(values == [432_934, 476_346, 500_000])
        }
    }

    @Test(arguments: Backend.all, [1, 7, 33, 100])
    func pagingThroughAllObservationsGivesEveryRowExactlyOnce(_ backend: Backend, pageSize: Int) async throws {
        try await withSeededStore(backend) { store async throws in
            var query = ObservationQuery.everything()
            query.page.size = pageSize
            var ids: [Int64] = []
            var pages = 0
            while true {
                let page = try store.observations(query)
                #expect(page.items.count <= pageSize)
                ids += page.items.map(\.id)
                pages += 1
                if page.nextToken.isEmpty { break }
                query.page.token = page.nextToken
            }
            #expect(ids.count == 101)
            #expect(Set(ids).count == 101)
            #expect(pages == (101 + pageSize - 1) / pageSize)

            var single = ObservationQuery.everything()
            single.page.size = 1000
            #expect(try store.observations(single).items.map(\.id) == ids)
        }
    }

    @Test(arguments: Backend.all) func aPageTokenStaysValidWhileRowsAreAdded(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            let store = fixture.store
            _ = try await store.addObservations(
                (2001...2006).map { fixture.observation(value: Int64($0), period: "\($0)") }, context())
            var query = ObservationQuery.of(fixture.indicator.code, "VN", "JP")
            query.page.size = 3
            let first = try store.observations(query)
            #expect(first.items.map(\.value) == [2001, 2002, 2003])
            // A row sorting before the page boundary does not shift the next page.
            _ = try await store.addObservations([fixture.observation(value: 1999, period: "1999")], context())
            query.page.token = first.nextToken
            let second = try store.observations(query)
            #expect(second.items.map(\.value) == [2004, 2005, 2006])
            #expect(second.nextToken == "")
        }
    }

    @Test(arguments: Backend.all) func breakdownValuesWithSeparatorsQuotesAndControlsRoundTripAndPage(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            let store = fixture.store
            // The last two start with combining marks, and follow separators with them: one Character each.
            let awkward = [
                "a=b;c%3D", "say \"hi\" \\ there", "tab\there\u{1}", "Đào Ngọc Dung", "%25;=", "\u{301}accent first",
                "\u{94D}x=\u{301};\u{200D}%\u{301}",
            ]
            let written = awkward.enumerated().map { index, value in
                var o = fixture.observation(value: Int64(index), period: "2020")
                o.breakdown = [Dimension(key: "status_of_residence", value: value)]
                return o
            }
            _ = try await store.addObservations(written, context())
            var query = ObservationQuery.of(fixture.indicator.code, "VN", "JP")
            query.anyBreakdown = true
            // A page of one: every boundary's token carries one of the awkward values.
            query.page.size = 1
            var seen: [String] = []
            while true {
                let page = try store.observations(query)
                seen += page.items.flatMap { $0.breakdown.map(\.value) }
                if page.nextToken.isEmpty { break }
                query.page.token = page.nextToken
            }
            #expect(seen.sorted() == awkward.sorted())
            for value in awkward {
                var exact = ObservationQuery.of(fixture.indicator.code, "VN", "JP")
                exact.breakdown = [Dimension(key: "status_of_residence", value: value)]
                #expect(try store.observations(exact).items.map { $0.breakdown } == [exact.breakdown])
            }
        }
    }

    /// Keys too: a key starting with a combining mark joins the ";" before it into one Character.
    @Test func breakdownCanonicalFormReadsBackByScalar() {
        let breakdown = [Dimension(key: "a", value: "%\u{301}"), Dimension(key: "\u{301}k", value: "=\u{94D}")]
        #expect(Breakdown.parse(Breakdown.canonical(breakdown)) == breakdown.sorted())
    }

    @Test(arguments: Backend.all, ["garbage!", "eyJsIjoiZXZlbnRzIiwiayI6WyIyMDIyIiwxXX0", "e30", "%%%"])
    func aMalformedPageTokenIsAnInvalidArgument(_ backend: Backend, token: String) async throws {
        try await withStore(backend) { store async throws in
            var query = ObservationQuery()
            query.page.token = token
            let error = await storeError { _ = try store.observations(query) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.field == "page_token")
        }
    }

    @Test(arguments: Backend.all) func directionBreakdownAndPeriodFiltersSelectExactly(_ backend: Backend) async throws {
        try await withSeededStore(backend) { store async throws in
            var reverse = ObservationQuery()
            reverse.origin = "JP"
            reverse.destination = "VN"
            #expect(try store.observations(reverse).items.map(\.indicator) == [
                "JP_ODA_COMMITTED_CUMULATIVE", "JP_ODA_LOANS_EXPECTED", "JP_ODA_PLEDGE",
            ])

            // Statistics only, unless claims are asked for (7 live claims, all totals).
            #expect(try await allObservations(store, ObservationQuery()).count == 73)
            var any = ObservationQuery()
            any.anyBreakdown = true
            #expect(try await allObservations(store, any).count == 90)
            any.includeClaims = true
            #expect(try await allObservations(store, any).count == 97)
            #expect(try await allObservations(store, any).filter { $0.indicator.hasPrefix("STATEMENT_") }.count == 7)
            // The same with a period that holds them all (listed another way, by indicator): claims only if asked.
            var ranged = ObservationQuery()
            ranged.periodFrom = "1900"
            ranged.page.size = 7
            #expect(try await allObservations(store, ranged).map(\.id) == (try await allObservations(store, ObservationQuery()).map(\.id)))
            ranged.includeClaims = true
            var claims = ObservationQuery()
            claims.includeClaims = true
            let withClaims = try await allObservations(store, claims).map(\.id)
            #expect(try await allObservations(store, ranged).map(\.id) == withClaims)
            #expect(withClaims.count == 80)

            var titp = ObservationQuery.of("JP_MHLW_FOREIGN_WORKERS_BY_STATUS", "VN", "JP")
            #expect(try store.observations(titp).items.isEmpty)
            titp.breakdown = [Dimension(key: "status_of_residence", value: "TITP")]
            #expect(try store.observations(titp).items.map(\.value) == [
                72_740, 105_540, 142_883, 218_600, 183_011, 209_305,
            ])

            var in2019 = ObservationQuery.of(Self.dolab, "VN", "JP")
            in2019.periodFrom = "2019"
            in2019.periodTo = "2019"
            #expect(Set(try store.observations(in2019).items.map(\.value)) == [80_002, 74_000])

            var fromJuly2022 = ObservationQuery.of(Self.dolab, "VN", "JP")
            fromJuly2022.periodFrom = "2022-07"
            #expect(try store.observations(fromJuly2022).items.map(\.value) == [67_295, 80_000, 69_188])

            var several = ObservationQuery()
            several.indicators = ["JP_ISA_NEW_ENTRANTS", "JP_OTIT_TITP_PLAN_APPROVALS"]
            #expect(try store.observations(several).items.map(\.value) == [335_470, 90_753])
        }
    }

    /// A figure whose period began long before a range and ends inside it is in the range, however long its period
    /// and whenever it was stored: listings bound the periods they read by the longest period stored, which every
    /// write keeps. Checked against every figure filtered here, page by page, with and without named indicators.
    @Test(arguments: Backend.all) func figuresWhosePeriodsBeganLongBeforeARangeAreListedInIt(_ backend: Backend) async throws {
        try await withFixture(backend) { f async throws in
            let other = try await f.store.putIndicator(
                Indicator(code: "TEST_ENTRANTS", name: "Test entrants", compiler: "ISA", measure: .flow,
                          unit: "persons", periodBasis: .calendarYear),
                context())
            var figures: [Observation] = []
            for (month, indicator) in (0..<48).flatMap({ m in [(m, f.indicator.code), (m, other.code)] }) {
                var o = f.observation(value: Int64(month), period: String(format: "%04d-%02d", 2018 + month / 12, month % 12 + 1))
                o.indicator = indicator
                figures.append(o)
            }
            _ = try await f.store.addObservations(figures, context())
            func check(_ label: String) async throws {
                let all = try await allObservations(f.store, .everything())
                for from in ["2018-03", "2019-12-15", "2020-06", "2021"] {
                    for indicators in [[], [f.indicator.code], [other.code, f.indicator.code]] {
                        var query = ObservationQuery()
                        query.origin = "VN"
                        query.destination = "JP"
                        query.indicators = indicators
                        query.periodFrom = from
                        query.periodTo = "2021-06"
                        query.page.size = 5
                        let expected = all.filter { o in
                            (indicators.isEmpty || indicators.contains(o.indicator))
                                && PartialDate.lastDay(of: o.periodEnd) >= PartialDate.firstDay(of: from)
                                && PartialDate.firstDay(of: o.periodStart) <= "2021-06-30"
                        }.map(\.id)
                        let listed = try await allObservations(f.store, query).map(\.id)
                        #expect(listed.sorted() == expected.sorted(), "\(label) from \(from) \(indicators)")
                    }
                    var series = SeriesQuery(indicator: f.indicator.code, origin: "VN", destination: "JP")
                    series.periodFrom = from
                    let points = try f.store.series(series).map(\.periodEnd)
                    #expect(Set(points) == Set(all.filter { o in
                        o.indicator == f.indicator.code
                            && PartialDate.lastDay(of: o.periodEnd) >= PartialDate.firstDay(of: from)
                    }.map(\.periodEnd)), "\(label) series from \(from)")
                }
            }
            try await check("months")
            // Longer periods, stored after listings had run: each must show.
            for (start, end) in [("2019-11", "2020-07"), ("2010", "2020"), ("2016", "2021-01")] {
                var long = f.observation(value: 1_000)
                long.periodStart = start
                long.periodEnd = end
                _ = try await f.store.addObservations([long], context())
                try await check("\(start)…\(end)")
            }
        }
    }

    @Test(arguments: Backend.all) func invalidQueryFiltersNameTheirField(_ backend: Backend) async throws {
        try await withStore(backend) { store async throws in
            var query = ObservationQuery()
            query.origin = "XX"
            #expect(await storeError { _ = try store.observations(query) }?.field == "origin")
            query = ObservationQuery()
            query.asOf = "2023-02-30"
            #expect(await storeError { _ = try store.observations(query) }?.field == "as_of")
            query = ObservationQuery()
            query.page.size = -1
            #expect(await storeError { _ = try store.observations(query) }?.field == "page_size")
        }
    }

    @Test(arguments: Backend.all) func seriesGivesOnePointPerYearInOrder(_ backend: Backend) async throws {
        try await withSeededStore(backend) { store async throws in
            var query = SeriesQuery(indicator: "JP_MHLW_FOREIGN_WORKERS", origin: "VN", destination: "JP")
            query.periodFrom = "2015"
            query.periodTo = "2023"
            let points = try store.series(query)
            #expect(points.map(\.periodEnd) == (2015...2023).map { "\($0)-10-31" })
            #expect(points.map(\.value) == [
                110_013, 172_018, 240_259, 316_840, 401_326, 443_998, 453_344, 462_384, 518_364,
            ])
        }
    }

    @Test(arguments: Backend.all) func seriesTakesTheLatestVintageKnownAsOfTheDate(_ backend: Backend) async throws {
        try await withSeededStore(backend) { store async throws in
            var query = SeriesQuery(indicator: Self.dolab, origin: "VN", destination: "_T")
            query.periodFrom = "2018"
            query.periodTo = "2019"
            #expect(try store.series(query).map(\.value) == [142_000, 152_000])
            query.asOf = "2020-06-30"
            #expect(try store.series(query).map(\.value) == [142_000, 147_387])
            query.asOf = "2018-12-31"
            #expect(try store.series(query).map(\.value) == [140_000])
        }
    }
}
