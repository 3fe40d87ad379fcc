import ArgumentParser
import CoopClient
import CoopProto
import Foundation

// MARK: Figures

/// Filters shared by `figures` and `export`.
struct FigureFilters: ParsableArguments {
    @Option(
        help: ArgumentHelp("Origin country (e.g. VN; _T = all partners).", valueName: "code"),
        completion: CodeCompletion.countries)
    var from: String?

    @Option(help: ArgumentHelp("Destination country (e.g. JP).", valueName: "code"), completion: CodeCompletion.countries)
    var to: String?

    @Option(
        name: .customLong("indicator"), help: ArgumentHelp("Indicator code (repeatable).", valueName: "code"),
        completion: CodeCompletion.indicators)
    var indicators: [String] = []

    @Option(help: ArgumentHelp("Periods ending on or after this date.", valueName: "date"))
    var since: String?

    @Option(help: ArgumentHelp("Periods starting on or before this date.", valueName: "date"))
    var until: String?

    @Option(help: ArgumentHelp("As known on this date (vintages published by then).", valueName: "date"))
    var asOf: String?

    @Option(help: ArgumentHelp("Exact breakdown to match, KEY=VALUE (repeatable).", valueName: "key=value"))
    var breakdown: [String] = []

    @Flag(help: "Also the observations listed as conflicting with those matched.")
    var conflicts = false

    @Flag(help: "Also retracted observations.")
    var retracted = false

    @Option(help: ArgumentHelp(
        "Observations per page asked of coopd, 1 to 1000; every page is fetched.", valueName: "n"))
    var pageSize: Int32 = 1000

    func validate() throws {
        try checkDate(since, "--since")
        try checkDate(until, "--until")
        try checkDate(asOf, "--as-of")
        for item in breakdown { _ = try Breakdown.parse(item) }
        guard (1...1000).contains(pageSize) else { throw ValidationError("--page-size must be 1…1000") }
    }

    /// Whether any filter is given (--page-size is not one).
    var isSet: Bool {
        from != nil || to != nil || !indicators.isEmpty || since != nil || until != nil || asOf != nil
            || !breakdown.isEmpty || conflicts || retracted
    }

    /// The request; `anyBreakdown` false means totals only, unless --breakdown names breakdowns.
    func request(allVintages: Bool, anyBreakdown: Bool) throws -> Coop_V1_ListObservationsRequest {
        var request = Coop_V1_ListObservationsRequest()
        request.origin = countryCode(from)
        request.destination = countryCode(to)
        request.indicators = indicators
        request.periodFrom = since ?? ""
        request.periodTo = until ?? ""
        request.asOf = asOf ?? ""
        request.breakdown = try breakdown.map(Breakdown.parse)
        request.anyBreakdown = anyBreakdown
        request.includeSuperseded = allVintages
        request.includeConflicts = conflicts
        request.includeRetracted = retracted
        request.includeSources = true
        request.pageSize = pageSize
        return request
    }
}

/// How far a figure is from its publisher, said beside it: "" for official releases and news.
func provenanceLabel(_ source: Coop_V1_Source?) -> String {
    switch source?.kind {
    case .repost?: "from a repost"
    case .blog?: "from a blog"
    case .officialReleaseReproduced?: "release as reproduced"
    default: ""
    }
}

/// A claim said as one: "claim: Dao Ngoc Dung, 2022-06-29", or "claim" when no stored statement states it.
func claimLabel(_ statement: Coop_V1_Statement?) -> String {
    guard let statement else { return "claim" }
    return "claim: \(statement.speaker.name), \(statement.saidOn)"
}

struct Figures: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List observations (sourced figures), latest vintage by default.",
        discussion: """
            Examples:
              coopctl figures --from VN --to JP --indicator JP_MHLW_FOREIGN_WORKERS --since 2015 --until 2023
              coopctl figures --indicator JP_ISA_FOREIGN_RESIDENTS_BY_STATUS --breakdown status_of_residence=SSW
              coopctl figures --from VN --all-vintages --sources

            Statistics only, unless --claims: then also figures stated by people (claim indicators, \
            STATEMENT_*), each marked "claim: SPEAKER, DATE". Naming a claim indicator with --indicator lists it too.

            VALUE shows ≈ for approximate figures and ≥/≤ for "over"/"under"; FLAGS shows claims, status, \
            revisions, conflicts, retraction, and figures read in a repost, a blog or a reproduced release. \
            --json prints {"observations": [...], "sources": [...], "claim_statements": [...]}, which coopctl \
            import reads back.
            """)

    @OptionGroup var filters: FigureFilters

    @Flag(help: "Also figures stated in statements (claims), each marked with who said it.")
    var claims = false

    @Flag(help: "Totals and every breakdown (default: totals only, unless --breakdown is given).")
    var anyBreakdown = false

    @Flag(help: "Every vintage (superseded values too), not only the latest.")
    var allVintages = false

    @Flag(help: "Add where each figure comes from: publisher, title and URL.")
    var sources = false

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    /// The observations' columns; `marks` says what a reader must know before quoting a figure (a claim, a
    /// copy of a copy), `sources` (with --sources) where each was read.
    static func listing(
        marks: @escaping (Coop_V1_Observation) -> (claim: String, provenance: String),
        sources: [Int64: Coop_V1_Source]?
    ) -> Listing<Coop_V1_Observation> {
        Listing("observations", [
            .init(Table.Column("ID", right: true), csv: "id") { String($0.id) },
            .init(Table.Column("INDICATOR"), csv: "indicator", \.indicatorLabel, csvCell: \.indicator),
            .csv("breakdown") { Breakdown.canonical($0.breakdown) },
            .table(Table.Column("PAIR"), \.pairLabel),
            .csv("origin", \.origin),
            .csv("destination", \.destination),
            .table(Table.Column("PERIOD"), \.periodLabel),
            .csv("period_start", \.periodStart),
            .csv("period_end", \.periodEnd),
            .init(Table.Column("VALUE", right: true), csv: "value", \.displayValue) { String($0.value) },
            .csv("value_high") { blankIfZero($0.valueHigh) },
            .csv("unit_multiplier") { String($0.unitMultiplier) },
            .init(Table.Column("UNIT"), csv: "unit", \.unit),
            .csv("qualifier") { $0.qualifier.shortName },
            .csv("status") { $0.status.shortName },
            .init(Table.Column("VINTAGE"), csv: "vintage", \.vintage),
            .init(Table.Column("SRC", right: true), csv: "source_id") { String($0.sourceID) },
            .csv("locator", \.locator),
            .csv("supersedes_id") { blankIfZero($0.supersedesID) },
            .csv("superseded_by_id") { blankIfZero($0.supersededByID) },
            .csv("conflicts_with") { joinedIDs($0.conflictsWith) },
            .csv("retracted") { $0.retracted ? "true" : "false" },
            .csv("note", \.note),
            .csv("claim") { marks($0).claim },
            .csv("provenance") { marks($0).provenance },
            .table(Table.Column("FLAGS", shrinkable: true, minimumWidth: 5)) { o in
                let (claim, provenance) = marks(o)
                return [claim, provenance, o.flagsLabel].filter { !$0.isEmpty }.joined(separator: "; ")
            },
        ] + (sources.map { byID in Listing.sourceColumns(byID, \.sourceID) } ?? []))
    }

    func run() async throws {
        var request = try filters.request(allVintages: allVintages, anyBreakdown: anyBreakdown)
        request.includeClaims = claims
        let (listing, claimIndicators) = try await connection.run { client in
            let listing = try await fetchListing(client, request, connection.callOptions)
            // Which rows are claims: known from the indicators only when claims can be listed at all.
            guard claims || !filters.indicators.isEmpty else { return (listing, Set<String>()) }
            let indicators = try await client.listIndicators(options: connection.callOptions)
            return (listing, Set(indicators.filter { $0.measure == .claim }.map(\.code)))
        }
        let byID = Dictionary(listing.sources.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let statementByClaim = Dictionary(
            listing.claimStatements.map { ($0.claimObservationID, $0) }, uniquingKeysWith: { a, _ in a })
        /// What a reader must know before quoting the figure: a claim, and by whom; a copy of a copy.
        func marks(_ o: Coop_V1_Observation) -> (claim: String, provenance: String) {
            let claim = claimIndicators.contains(o.indicator) || statementByClaim[o.id] != nil
            return (claim ? claimLabel(statementByClaim[o.id]) : "", provenanceLabel(byID[o.sourceID]))
        }
        try Self.listing(marks: marks, sources: sources ? byID : nil).print(listing.observations, as: output.format) {
            [("sources", try JSONOutput.array(listing.sources))]
                + (claims ? [("claim_statements", try JSONOutput.array(listing.claimStatements))] : [])
        }
        if output.format == .table && listing.observations.isEmpty && filters.breakdown.isEmpty && !anyBreakdown {
            Console.err("(no totals match; breakdowns are shown with --any-breakdown or --breakdown KEY=VALUE)")
        }
    }
}
