internal import CoopFormats
import Foundation

/// Corrections to the shipped data after it was first published, applied once to every seeded database: a
/// fresh one right after the import, one seeded by an earlier release at its next start. They are ordinary
/// writes (fixed request ids, so a step cut short is finished, not repeated), and nothing is overwritten: a
/// misfiled figure is retracted with the reason and filed again, so its history stays readable.
enum SeedCorrections {
    static let version = "1"
    static let metaKey = "seed.vn-jp.corrections"

    private static func context(_ step: String) -> WriteContext {
        WriteContext(requestID: "seed-corrections-v\(version)/\(step)", writerUID: 0)
    }

    static func apply(_ store: SQLStore, progress: (String) -> Void) async throws {
        try await sourceKinds(store)
        let refiled = try await refileTraineesAndWorkersClaim(store)
        try await statements(store, traineesAndWorkers: refiled)
        progress("seed data corrections applied")
    }

    /// Sources of the figures table whose kind the table's wording now reads differently (blogs of consultants,
    /// official releases reproduced by other sites).
    private static func sourceKinds(_ store: SQLStore) async throws {
        let table = try SeedFiguresTable(csv: SeedFiguresCSV.text)
        var seen: Set<String> = []
        for row in table.rows where seen.insert(row.sourceURL).inserted {
            let kind = SourceKind(row.sourceKind)
            guard var stored = try store.source(url: row.sourceURL, title: row.sourceTitle), stored.kind != kind
            else { continue }
            stored.kind = kind
            _ = try await store.putSource(stored, context("source-kind/\(stored.id)"))
        }
    }

    /// MOLISA's "about 230,000 trainees and workers in Japan" (March 2020) was filed as a count of all
    /// Vietnamese nationals; it is a claim about trainees and workers. Returns the figure as filed now.
    private static func refileTraineesAndWorkersClaim(_ store: SQLStore) async throws -> Observation? {
        guard
            let misfiled = try figure(
                store, "STATEMENT_VN_NATIONALS_IN_JP", periodEnd: "2020-03-31", value: 230_000, includeRetracted: true)
        else { return nil }
        var refiled = misfiled
        refiled.id = 0
        refiled.indicator = "STATEMENT_VN_TRAINEES_AND_WORKERS_IN_JP"
        refiled.conflictsWith = []
        refiled.recordedSequence = 0
        refiled.retracted = false
        refiled.retractionReason = ""
        let stored = try await store.addObservations([refiled], context("refile-230000"))[0]
        if !misfiled.retracted {
            _ = try await store.retractObservation(
                misfiled.id,
                reason: "filed under the wrong indicator: the source says \"trainees and workers\"; "
                    + "filed again as observation \(stored.id)",
                context("retract-misfiled-230000"))
        }
        return stored
    }

    /// The two claims that had no statement: who made them, and the statistics they disagree with.
    private static func statements(_ store: SQLStore, traineesAndWorkers: Observation?) async throws {
        if let claim = try figure(store, "STATEMENT_VN_NATIONALS_IN_JP", periodEnd: "2022-12-31", value: 345_000),
            let residents = try figure(store, "JP_ISA_FOREIGN_RESIDENTS", periodEnd: "2022-12-31", value: 489_312)
        {
            let statement = Statement(
                speaker: Participant(
                    name: "Le Van Thanh", nativeName: "Lê Văn Thanh",
                    title: "Deputy Minister of Labour, Invalids and Social Affairs",
                    organisation: "Ministry of Labour, Invalids and Social Affairs (MOLISA)", country: "VN"),
                saidOn: "2023-08", text: "About 345,000 Vietnamese are living and working in Japan.",
                claimObservationID: claim.id, sourceID: claim.sourceID, conflictsWith: [residents.id],
                note: "Said at a workshop on Viet Nam–Japan labour and social security cooperation. ISA counted "
                    + "489,312 Vietnamese residents at the end of 2022: the estimate's scope is narrower.")
            _ = try await store.addStatement(statement, claim: nil, context("statement/thanh-345000"))
        }
        if let claim = traineesAndWorkers,
            let workers = try figure(store, "JP_MHLW_FOREIGN_WORKERS", periodEnd: "2019-10-31", value: 401_326)
        {
            let statement = Statement(
                speaker: Participant(
                    name: "MOLISA", organisation: "Ministry of Labour, Invalids and Social Affairs (MOLISA)",
                    country: "VN"),
                saidOn: "2020-03", text: "About 230,000 Vietnamese trainees and workers are in Japan.",
                claimObservationID: claim.id, sourceID: claim.sourceID, conflictsWith: [workers.id],
                note: "MHLW counted 401,326 Vietnamese workers, technical intern trainees included, at the end of "
                    + "October 2019.")
            _ = try await store.addStatement(statement, claim: nil, context("statement/molisa-230000"))
        }
    }

    /// The VN→JP total of `indicator` for the period ending `periodEnd` with `value` (any vintage), if stored.
    private static func figure(
        _ store: SQLStore, _ indicator: String, periodEnd: String, value: Int64, includeRetracted: Bool = false
    ) throws -> Observation? {
        var query = ObservationQuery()
        query.origin = "VN"
        query.destination = "JP"
        query.indicators = [indicator]
        query.periodFrom = periodEnd
        query.periodTo = periodEnd
        query.includeSuperseded = true
        query.includeRetracted = includeRetracted
        query.page = PageRequest(size: 1000)
        return try store.observations(query).items.first { $0.periodEnd == periodEnd && $0.value == value }
    }
}
