import CoopFormats
import CoopStore
import Foundation
import Testing

/// One way to spoil a valid observation, and the error it must produce.
struct BadObservation: Sendable, CustomTestStringConvertible {
    var name: String
    var spoil: @Sendable (inout Observation) -> Void
    var field: String
    var message: String
    var testDescription: String { name }
}

@Suite struct ValidationTests {
    static let badObservations: [BadObservation] = [
        BadObservation(
            name: "unknown country", spoil: { $0.destination = "XX" }, field: "observations[1].destination",
            message: "unknown country code \"XX\""),
        BadObservation(
            name: "lower-case country", spoil: { $0.origin = "vn" }, field: "observations[1].origin",
            message: "unknown country code \"vn\""),
        BadObservation(
            name: "impossible date", spoil: { $0.periodEnd = "2023-02-30" }, field: "observations[1].period_end",
            message: "\"2023-02-30\" is not a calendar date (YYYY, YYYY-MM or YYYY-MM-DD)"),
        BadObservation(
            name: "period starts after it ends", spoil: { $0.periodStart = "2024-01" },
            field: "observations[1].period_start", message: "period starts (2024-01) after it ends (2023-10-31)"),
        BadObservation(
            name: "negative value", spoil: { $0.value = -1 }, field: "observations[1].value",
            message: "must not be negative"),
        BadObservation(
            name: "value_high below value", spoil: { $0.valueHigh = 50 }, field: "observations[1].value_high",
            message: "must be at least value (100) when set"),
        BadObservation(
            name: "unit multiplier above 15", spoil: { $0.unitMultiplier = 16 }, field: "observations[1].unit_multiplier",
            message: "must be between 0 and 15"),
        BadObservation(
            name: "unknown indicator", spoil: { $0.indicator = "NOPE" }, field: "observations[1].indicator",
            message: "unknown indicator \"NOPE\""),
        BadObservation(
            name: "unknown source", spoil: { $0.sourceID = 999 }, field: "observations[1].source_id",
            message: "unknown source 999"),
        BadObservation(
            name: "missing source", spoil: { $0.sourceID = 0 }, field: "observations[1].source_id",
            message: "is required: every figure names its source"),
        BadObservation(
            name: "breakdown dimension not allowed",
            spoil: { $0.breakdown = [Dimension(key: "sex", value: "F")] }, field: "observations[1].breakdown[0].key",
            message: "indicator TEST_WORKERS has no dimension \"sex\" (allowed: status_of_residence)"),
        BadObservation(
            name: "unit differs from the indicator's", spoil: { $0.unit = "plans" }, field: "observations[1].unit",
            message: "indicator TEST_WORKERS is measured in \"persons\", not \"plans\""),
        BadObservation(
            name: "vintage not a date", spoil: { $0.vintage = "yesterday" }, field: "observations[1].vintage",
            message: "\"yesterday\" is not a calendar date (YYYY, YYYY-MM or YYYY-MM-DD)"),
        BadObservation(
            name: "id given", spoil: { $0.id = 5 }, field: "observations[1].id",
            message: "must be 0: ids are assigned by the store"),
    ]

    @Test(arguments: Backend.all, badObservations)
    func anInvalidObservationIsRejectedNamingItsField(_ backend: Backend, _ bad: BadObservation) async throws {
        try await withFixture(backend) { fixture async throws in
            var observation = fixture.observation()
            bad.spoil(&observation)
            let error = await storeError {
                _ = try await fixture.store.addObservations(
                    [fixture.observation(period: "2022-10-31"), observation], context())
            }
            #expect(error == StoreError.invalid(bad.field, bad.message))
            #expect(try await allObservations(fixture.store, .everything()).isEmpty)
        }
    }

    @Test(arguments: Backend.all) func allPartnersIsAValidCounterpartButNotAnEventCountry(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            _ = try await fixture.store.addObservations([fixture.observation(origin: "VN", destination: "_T")], context())
            let error = await storeError {
                _ = try await fixture.store.putEvent(
                    Event(kind: .meeting, title: "T", countries: ["VN", "_T"], actualDate: "2024", status: .held),
                    context())
            }
            #expect(error == StoreError.invalid("event.countries[1]", "\"_T\" (all partners) is not allowed here"))
        }
    }

    @Test(arguments: [
        ("2023", true), ("2023-02", true), ("2024-02-29", true), ("2000-02-29", true), ("2023-12-31", true),
        ("2023-02-29", false), ("1900-02-29", false), ("2023-02-30", false), ("2023-04-31", false),
        ("2023-13", false), ("2023-00", false), ("2023-01-00", false), ("23", false), ("2023-1-01", false),
        ("2023-01-01T00:00", false), ("２０２３", false), ("0999", false), ("2023-", false),
        ("2023/02", false), ("2023-02/01", false), ("2023-0a", false), ("2023-02-2a", false), ("2O23", false),
    ])
    func datesAreFullOrPartialISODatesThatExist(text: String, valid: Bool) {
        #expect((PartialDate(text) != nil) == valid)
    }

    @Test func partialDatesCoverTheirWholePeriod() throws {
        let year = try #require(PartialDate("2024"))
        #expect(year.firstDay == "2024-01-01")
        #expect(year.lastDay == "2024-12-31")
        let february = try #require(PartialDate("2024-02"))
        #expect(february.lastDay == "2024-02-29")
        #expect(PartialDate("2023-02")?.lastDay == "2023-02-28")
        #expect(PartialDate("2022-06-29")?.firstDay == "2022-06-29")
    }

    @Test(arguments: Backend.all) func eventsNeedAKindStatusTitleCountryAndDate(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            let valid = Event(
                kind: .meeting, title: "Talks", countries: ["VN", "JP"], actualDate: "2022-06-29", status: .held,
                participants: [Participant(name: "Dao Ngoc Dung", country: "VN")], sourceIDs: [fixture.source.id])
            let cases: [(String, (inout Event) -> Void, String)] = [
                ("event.kind", { $0.kind = .unspecified }, "is required"),
                ("event.title", { $0.title = "  " }, "is required"),
                ("event.countries", { $0.countries = [] }, "at least one country is required"),
                ("event.actual_date", { $0.actualDate = ""; $0.plannedDate = "2022-06" }, "is required for a held event"),
                ("event.planned_date", { $0.actualDate = "" }, "planned_date or actual_date is required"),
                ("event.planned_date", { $0.plannedDate = "2022-6" }, "\"2022-6\" is not a calendar date (YYYY, YYYY-MM or YYYY-MM-DD)"),
                ("event.participants[0].country", { $0.participants[0].country = "ZZ" }, "unknown country code \"ZZ\""),
                ("event.participants[0].name", { $0.participants[0].name = "" }, "is required"),
                ("event.source_ids[0]", { $0.sourceIDs = [77] }, "unknown source 77"),
                ("event.related_event_ids[0]", { $0.relatedEventIDs = [12] }, "unknown event 12"),
            ]
            for (field, spoil, message) in cases {
                var event = valid
                spoil(&event)
                let error = await storeError { _ = try await fixture.store.putEvent(event, context()) }
                #expect(error == StoreError.invalid(field, message))
            }
            #expect(try fixture.store.events(EventQuery()).items.isEmpty)
            _ = try await fixture.store.putEvent(valid, context())
        }
    }

    @Test(arguments: Backend.all) func sourcesAndIndicatorsNeedTheirRequiredFields(_ backend: Backend) async throws {
        try await withStore(backend) { store async throws in
            var error = await storeError { _ = try await store.putSource(Source(title: "", publisher: "P"), context()) }
            #expect(error == StoreError.invalid("source.title", "is required"))
            error = await storeError {
                _ = try await store.putSource(Source(title: "T", publisher: "P", published: "2023-02-30"), context())
            }
            #expect(error?.field == "source.published")
            error = await storeError {
                _ = try await store.putSource(Source(id: 5, title: "T", publisher: "P"), context())
            }
            #expect(error?.code == .notFound)
            error = await storeError {
                _ = try await store.putIndicator(Indicator(code: "bad code", name: "N", measure: .stock), context())
            }
            #expect(error?.field == "indicator.code")
            error = await storeError {
                _ = try await store.putIndicator(Indicator(code: "GOOD_CODE", name: "N"), context())
            }
            #expect(error == StoreError.invalid("indicator.measure", "is required (stock, flow, target, claim or amount)"))
        }
    }

    @Test(arguments: Backend.all) func storeErrorsNeverMentionSQL(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            var messages: [String] = []
            for spoil in ValidationTests.badObservations {
                var observation = fixture.observation()
                spoil.spoil(&observation)
                if let error = await storeError({ _ = try await fixture.store.addObservations([observation], context()) }) {
                    messages.append(error.description)
                }
            }
            #expect(messages.count == ValidationTests.badObservations.count)
            for word in ["SELECT", "INSERT", "sqlite", "observations WHERE", "constraint"] {
                #expect(messages.allSatisfy { !$0.contains(word) })
            }
        }
    }
}
