import ArgumentParser
import CoopClient
import CoopFormats
import CoopProto
import Foundation

// MARK: Option parsing helpers

// Enum options by their short names ("at_least"). Declare them optional and name the default in the help:
// ArgumentParser would show a default by its number ("default: 1").

extension Coop_V1_EventKind: ExpressibleByArgument {
    public init?(argument: String) { self.init(shortName: argument) }
    public static var allValueStrings: [String] { shortNames }
}

extension Coop_V1_EventStatus: ExpressibleByArgument {
    public init?(argument: String) { self.init(shortName: argument) }
    public static var allValueStrings: [String] { shortNames }
}

extension Coop_V1_AgreementKind: ExpressibleByArgument {
    public init?(argument: String) { self.init(shortName: argument) }
    public static var allValueStrings: [String] { shortNames }
}

extension Coop_V1_SourceKind: ExpressibleByArgument {
    public init?(argument: String) { self.init(shortName: argument) }
    public static var allValueStrings: [String] { shortNames }
}

extension Coop_V1_Measure: ExpressibleByArgument {
    public init?(argument: String) { self.init(shortName: argument) }
    public static var allValueStrings: [String] { shortNames }
}

extension Coop_V1_PeriodBasis: ExpressibleByArgument {
    public init?(argument: String) { self.init(shortName: argument) }
    public static var allValueStrings: [String] { shortNames }
}

extension Coop_V1_Qualifier: ExpressibleByArgument {
    public init?(argument: String) { self.init(shortName: argument) }
    public static var allValueStrings: [String] { shortNames }
}

extension Coop_V1_ObservationStatus: ExpressibleByArgument {
    public init?(argument: String) { self.init(shortName: argument) }
    public static var allValueStrings: [String] { shortNames }
}

/// Validates a date option: "2023", "2023-06" or "2023-06-30".
func checkDate(_ value: String?, _ option: String) throws {
    if let value, !value.isEmpty, !PartialDate.isValid(value) {
        throw ValidationError("\(option): \"\(value)\" is not a date (YYYY, YYYY-MM or YYYY-MM-DD)")
    }
}

/// Upper-cases a country option ("vn" → "VN").
func countryCode(_ value: String?) -> String {
    guard let value else { return "" }
    return value == "_t" ? "_T" : value.uppercased()
}

/// Follows page tokens until the last page.
func allPages<Item>(
    _ fetch: (_ token: String) async throws -> (items: [Item], next: String)
) async throws -> [Item] {
    var items: [Item] = []
    var token = ""
    var pages = 0
    repeat {
        let page = try await fetch(token)
        items += page.items
        token = page.next
        pages += 1
        if pages > 100_000 { throw CtlError(.failure, "coopd keeps returning page tokens; giving up") }
    } while !token.isEmpty
    return items
}

// MARK: Countries and indicators

struct Countries: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the country codes coopd knows (ISO 3166-1).")

    @Argument(help: "Only countries whose code or name contains this text.")
    var filter: String?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        var countries = try await connection.run { client in try await client.listCountries(options: connection.callOptions) }
        if let filter, !filter.isEmpty {
            countries = countries.filter { c in
                ([c.code, c.name] + c.otherNames).contains { $0.localizedCaseInsensitiveContains(filter) }
            }
        }
        switch output.format {
        case .json:
            Console.out(JSONOutput.object([("countries", try JSONOutput.array(countries))]))
        case .csv:
            Printer(format: .csv).csv(
                header: ["code", "name", "other_names"],
                rows: countries.map { [$0.code, $0.name, $0.otherNames.joined(separator: "; ")] })
        case .table:
            var table = Table([
                Table.Column("CODE"), Table.Column("NAME", shrinkable: true, minimumWidth: 12),
                Table.Column("OTHER NAMES", shrinkable: true),
            ])
            for c in countries { table.add([c.code, c.name, c.otherNames.joined(separator: "; ")]) }
            Printer(format: .table).table(table)
        }
    }
}

struct Indicators: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List what is measured: indicator codes, units, breakdowns.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let indicators = try await connection.run { client in
            try await client.listIndicators(options: connection.callOptions)
        }
        switch output.format {
        case .json:
            Console.out(JSONOutput.object([("indicators", try JSONOutput.array(indicators))]))
        case .csv:
            Printer(format: .csv).csv(
                header: [
                    "code", "name", "compiler", "measure", "unit", "period_basis", "breakdown_dimensions", "description",
                ],
                rows: indicators.map {
                    [
                        $0.code, $0.name, $0.compiler, $0.measure.shortName, $0.unit, $0.periodBasis.shortName,
                        $0.breakdownDimensions.joined(separator: ";"), $0.description_p,
                    ]
                })
        case .table:
            var table = Table([
                Table.Column("CODE"), Table.Column("NAME", shrinkable: true, minimumWidth: 16), Table.Column("MEASURE"),
                Table.Column("UNIT"), Table.Column("PERIOD BASIS"), Table.Column("BREAKDOWN"),
                Table.Column("COMPILER", shrinkable: true),
            ])
            for i in indicators {
                table.add([
                    i.code, i.name, i.measure.shortName, i.unit, i.periodBasis.shortName,
                    i.breakdownDimensions.joined(separator: ","), i.compiler,
                ])
            }
            Printer(format: .table).table(table)
        }
    }
}

// MARK: Figures

/// Filters shared by `figures` and `export`.
struct FigureFilters: ParsableArguments {
    @Option(help: ArgumentHelp("Origin country (e.g. VN; _T = all partners).", valueName: "code"))
    var from: String?

    @Option(help: ArgumentHelp("Destination country (e.g. JP).", valueName: "code"))
    var to: String?

    @Option(name: .customLong("indicator"), help: ArgumentHelp("Indicator code (repeatable).", valueName: "code"))
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

/// Every page of a ListObservations request, with the sources they reference.
func fetchObservations(
    _ client: CoopClient, _ request: Coop_V1_ListObservationsRequest, _ options: CallOptions
) async throws -> (observations: [Coop_V1_Observation], sources: [Coop_V1_Source]) {
    let listing = try await fetchListing(client, request, options)
    return (listing.observations, listing.sources)
}

/// Every page of a ListObservations request, with the sources and the claims' statements they reference.
struct Listing {
    var observations: [Coop_V1_Observation] = []
    var sources: [Coop_V1_Source] = []
    var claimStatements: [Coop_V1_Statement] = []
}

func fetchListing(
    _ client: CoopClient, _ request: Coop_V1_ListObservationsRequest, _ options: CallOptions
) async throws -> Listing {
    var sources: [Int64: Coop_V1_Source] = [:]
    var statements: [Int64: Coop_V1_Statement] = [:]
    let observations = try await allPages { token in
        var page = request
        page.pageToken = token
        let reply = try await client.listObservations(page, options: options)
        for source in reply.sources { sources[source.id] = source }
        for statement in reply.claimStatements { statements[statement.id] = statement }
        return (reply.observations, reply.nextPageToken)
    }
    return Listing(
        observations: observations, sources: sources.values.sorted { $0.id < $1.id },
        claimStatements: statements.values.sorted { $0.id < $1.id })
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
        let observations = listing.observations
        let sourceList = listing.sources
        let byID = Dictionary(sourceList.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let statementByClaim = Dictionary(
            listing.claimStatements.map { ($0.claimObservationID, $0) }, uniquingKeysWith: { a, _ in a })
        /// What a reader must know before quoting the figure: a claim, and by whom; a copy of a copy.
        func marks(_ o: Coop_V1_Observation) -> [String] {
            let claim = claimIndicators.contains(o.indicator) || statementByClaim[o.id] != nil
            return [claim ? claimLabel(statementByClaim[o.id]) : "", provenanceLabel(byID[o.sourceID])]
        }
        switch output.format {
        case .json:
            var fields = [
                ("observations", try JSONOutput.array(observations)), ("sources", try JSONOutput.array(sourceList)),
            ]
            if claims { fields.append(("claim_statements", try JSONOutput.array(listing.claimStatements))) }
            Console.out(JSONOutput.object(fields))
        case .csv:
            var header = [
                "id", "indicator", "breakdown", "origin", "destination", "period_start", "period_end", "value",
                "value_high", "unit_multiplier", "unit", "qualifier", "status", "vintage", "source_id", "locator",
                "supersedes_id", "superseded_by_id", "conflicts_with", "retracted", "note", "claim", "provenance",
            ]
            if sources { header += ["source_publisher", "source_title", "source_url"] }
            let rows = observations.map { o -> [String] in
                var row = [
                    String(o.id), o.indicator, Breakdown.canonical(o.breakdown), o.origin, o.destination, o.periodStart,
                    o.periodEnd, String(o.value), o.valueHigh == 0 ? "" : String(o.valueHigh), String(o.unitMultiplier),
                    o.unit, o.qualifier.shortName, o.status.shortName, o.vintage, String(o.sourceID), o.locator,
                    o.supersedesID == 0 ? "" : String(o.supersedesID),
                    o.supersededByID == 0 ? "" : String(o.supersededByID),
                    o.conflictsWith.map(String.init).joined(separator: ";"), o.retracted ? "true" : "false", o.note,
                ] + marks(o)
                if sources {
                    let s = byID[o.sourceID]
                    row += [s?.publisher ?? "", s?.title ?? "", s?.url ?? ""]
                }
                return row
            }
            Printer(format: .csv).csv(header: header, rows: rows)
        case .table:
            var columns = [
                Table.Column("ID", right: true), Table.Column("INDICATOR"),
                Table.Column("PAIR"), Table.Column("PERIOD"),
                Table.Column("VALUE", right: true), Table.Column("UNIT"),
                Table.Column("VINTAGE"), Table.Column("SRC", right: true),
                Table.Column("FLAGS", shrinkable: true, minimumWidth: 5),
            ]
            if sources {
                columns += [
                    Table.Column("PUBLISHER", shrinkable: true, minimumWidth: 8),
                    Table.Column("TITLE", shrinkable: true, minimumWidth: 8),
                    Table.Column("URL", shrinkable: true, minimumWidth: 12),
                ]
            }
            var table = Table(columns)
            for o in observations {
                var row = [
                    String(o.id), o.indicatorLabel, o.pairLabel, o.periodLabel, o.displayValue, o.unit, o.vintage,
                    String(o.sourceID), (marks(o) + [o.flagsLabel]).filter { !$0.isEmpty }.joined(separator: "; "),
                ]
                if sources {
                    let s = byID[o.sourceID]
                    row += [s?.publisher ?? "", s?.title ?? "", s?.url ?? ""]
                }
                table.add(row)
            }
            Printer(format: .table).table(table)
            if observations.isEmpty && filters.breakdown.isEmpty && !anyBreakdown {
                Console.err("(no totals match; breakdowns are shown with --any-breakdown or --breakdown KEY=VALUE)")
            }
        }
    }
}

// MARK: Series

struct Series: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show one indicator's values over time for a pair, with a bar chart.",
        discussion: """
            One value per period (the latest vintage, or as known on --as-of), a bar scaled to the largest \
            value, and a row marked "no figure" for each period missing from a regular series.

            Example:
              coopctl series JP_MHLW_FOREIGN_WORKERS --from VN --to JP --since 2015 --until 2023
            """)

    @Argument(help: "Indicator code, e.g. JP_MHLW_FOREIGN_WORKERS.")
    var indicator: String

    @Option(help: ArgumentHelp("Origin country.", valueName: "code"))
    var from: String

    @Option(help: ArgumentHelp("Destination country.", valueName: "code"))
    var to: String

    @Option(help: ArgumentHelp("Periods ending on or after this date.", valueName: "date"))
    var since: String?

    @Option(help: ArgumentHelp("Periods starting on or before this date.", valueName: "date"))
    var until: String?

    @Option(help: ArgumentHelp("As known on this date.", valueName: "date"))
    var asOf: String?

    @Option(help: ArgumentHelp("Breakdown, KEY=VALUE (repeatable); default the total.", valueName: "key=value"))
    var breakdown: [String] = []

    @Flag(help: "Add each value's source (publisher, title, URL).")
    var sources = false

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try checkDate(since, "--since")
        try checkDate(until, "--until")
        try checkDate(asOf, "--as-of")
        for item in breakdown { _ = try Breakdown.parse(item) }
    }

    func run() async throws {
        let request = try Coop_V1_GetSeriesRequest.with {
            $0.indicator = indicator
            $0.origin = countryCode(from)
            $0.destination = countryCode(to)
            $0.breakdown = try breakdown.map(Breakdown.parse)
            $0.periodFrom = since ?? ""
            $0.periodTo = until ?? ""
            $0.asOf = asOf ?? ""
        }
        let series = try await connection.run { client in try await client.series(request, options: connection.callOptions) }
        let byID = Dictionary(series.sources.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        switch output.format {
        case .json:
            Console.out(try JSONOutput.message(series))
        case .csv:
            var header = [
                "period_start", "period_end", "value", "value_high", "unit_multiplier", "unit", "qualifier", "status",
                "vintage", "observation_id", "source_id",
            ]
            if sources { header += ["source_publisher", "source_title", "source_url"] }
            Printer(format: .csv).csv(
                header: header,
                rows: series.points.map { p in
                    let o = p.observation
                    var row = [
                        p.periodStart, p.periodEnd, String(o.value), o.valueHigh == 0 ? "" : String(o.valueHigh),
                        String(o.unitMultiplier), o.unit, o.qualifier.shortName, o.status.shortName, o.vintage,
                        String(o.id), String(o.sourceID),
                    ]
                    if sources {
                        let s = byID[o.sourceID]
                        row += [s?.publisher ?? "", s?.title ?? "", s?.url ?? ""]
                    }
                    return row
                })
        case .table:
            let breakdownLabel = breakdown.isEmpty ? "" : " [\(breakdown.joined(separator: ";"))]"
            let unit = series.points.first?.observation.unit ?? series.indicator.unit
            Console.out(
                "\(series.indicator.code)\(breakdownLabel) \(series.origin)→\(series.destination) (\(unit)): "
                    + series.indicator.name)
            if series.points.isEmpty {
                Console.out("(no values)")
                return
            }
            Console.out(SeriesChart(series: series, sources: sources ? byID : nil).render(width: Terminal.width()))
        }
    }
}

/// The series as rows of period, value and a bar; missing periods of a regular series shown as gaps.
struct SeriesChart {
    var series: Coop_V1_Series
    var sources: [Int64: Coop_V1_Source]?

    enum Row {
        case point(Coop_V1_SeriesPoint)
        case gap(label: String)
    }

    /// Points in order, with a gap row for each period missing from a regular cadence (every year, half year,
    /// quarter or month).
    func rows() -> [Row] {
        let points = series.points
        let ends = points.map { Day($0.periodEnd) }
        let starts = points.map { Day($0.periodStart) }
        guard points.count >= 3, ends.allSatisfy({ $0 != nil }), starts.allSatisfy({ $0 != nil }) else {
            return points.map { .point($0) }
        }
        let months = ends.map { $0!.monthIndex }
        let steps = zip(months.dropFirst(), months).map { $0 - $1 }
        // The cadence is the most common step, if most steps are it and all are multiples of it.
        var counts: [Int: Int] = [:]
        for step in steps where step > 0 { counts[step, default: 0] += 1 }
        guard let (cadence, seen) = counts.max(by: { ($0.value, -$0.key) < ($1.value, -$1.key) }),
            [1, 3, 6, 12].contains(cadence), seen * 2 >= steps.count,
            steps.allSatisfy({ $0 > 0 && $0 % cadence == 0 })
        else {
            return points.map { .point($0) }
        }
        var rows: [Row] = []
        for (index, point) in points.enumerated() {
            if index > 0 {
                let missing = steps[index - 1] / cadence - 1
                for k in 0..<max(0, missing) {
                    let start = starts[index - 1]!.adding(months: cadence * (k + 1))
                    let end = ends[index - 1]!.adding(months: cadence * (k + 1))
                    rows.append(.gap(label: Period.label(start: start.text, end: end.text)))
                }
            }
            rows.append(.point(point))
        }
        return rows
    }

    func render(width: Int?) -> String {
        let rows = rows()
        let maximum = series.points.map { Amount.double($0.observation.valueHigh > $0.observation.value
            ? $0.observation.valueHigh : $0.observation.value, multiplier: $0.observation.unitMultiplier) }.max() ?? 0
        var labels: [String] = []
        var values: [String] = []
        var notes: [String] = []
        for row in rows {
            switch row {
            case .point(let p):
                labels.append(Period.label(start: p.periodStart, end: p.periodEnd))
                values.append(p.observation.displayValue)
                var note = p.observation.status == .normal ? "" : p.observation.status.shortName
                if let sources, let s = sources[p.observation.sourceID] {
                    note += (note.isEmpty ? "" : "; ") + [s.publisher, s.title, s.url].filter { !$0.isEmpty }
                        .joined(separator: " · ")
                }
                notes.append(note)
            case .gap(let label):
                labels.append(label)
                values.append("—")
                notes.append("")
            }
        }
        let labelWidth = labels.map(\.displayWidth).max() ?? 0
        let valueWidth = values.map(\.displayWidth).max() ?? 0
        let available = (width ?? 100) - labelWidth - valueWidth - 4
        let hasNotes = notes.contains { !$0.isEmpty }
        let barWidth = max(10, min(60, hasNotes ? available / 2 : available))
        var lines: [String] = []
        for (index, row) in rows.enumerated() {
            let bar: String
            switch row {
            case .point(let p):
                let v = Amount.double(p.observation.value, multiplier: p.observation.unitMultiplier)
                bar = Self.bar(maximum > 0 ? v / maximum : 0, width: barWidth)
            case .gap:
                bar = "(no figure)"
            }
            var line = labels[index].padded(to: labelWidth) + "  " + values[index].padded(to: valueWidth, right: true)
                + "  " + bar
            if !notes[index].isEmpty {
                line = line.padded(to: labelWidth + valueWidth + 4 + barWidth) + "  " + notes[index]
            }
            if let width { line = line.truncated(toWidth: width) }
            while line.hasSuffix(" ") { line.removeLast() }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// A horizontal bar of `fraction` × `width` cells, in eighths.
    static func bar(_ fraction: Double, width: Int) -> String {
        let eighths = Int((max(0, min(1, fraction)) * Double(width) * 8).rounded())
        let partials = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        var text = String(repeating: "█", count: eighths / 8) + partials[eighths % 8]
        if text.isEmpty && fraction > 0 { text = "▏" }
        return text
    }
}

// MARK: Events, agreements, statements, sources

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List events: meetings, visits, signings, anniversaries (planned and held).",
        discussion: """
            DATE is the date an event was held, else the date planned ("planned 2025-10"); one held on \
            another date than planned shows both: "2023-07-06 (planned 2022-07)". --since and --until find an \
            event by either date; one found only by its planned date shows that date first: \
            "planned 2022-07 (held 2023-07-06)".
            """)

    @Option(help: ArgumentHelp("Involving this country.", valueName: "code"))
    var country: String?

    @Option(help: ArgumentHelp("And this one.", valueName: "code"))
    var counterpart: String?

    @Option(help: ArgumentHelp("Planned or held on or after this date.", valueName: "date"))
    var since: String?

    @Option(help: ArgumentHelp("Planned or held on or before this date.", valueName: "date"))
    var until: String?

    @Option(help: ArgumentHelp("Kind of event.", valueName: "kind"))
    var kind: Coop_V1_EventKind?

    @Option(help: ArgumentHelp("Status.", valueName: "status"))
    var status: Coop_V1_EventStatus?

    @Option(help: ArgumentHelp("A participant's name contains (diacritics ignored).", valueName: "name"))
    var participant: String?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try checkDate(since, "--since")
        try checkDate(until, "--until")
    }

    func run() async throws {
        var request = Coop_V1_ListEventsRequest()
        request.country = countryCode(country)
        request.counterpart = countryCode(counterpart)
        request.from = since ?? ""
        request.to = until ?? ""
        request.kind = kind ?? .unspecified
        request.status = status ?? .unspecified
        request.participant = participant ?? ""
        request.pageSize = 1000
        let events = try await connection.run { client in
            try await allPages { token in
                var page = request
                page.pageToken = token
                let reply = try await client.listEvents(page, options: connection.callOptions)
                return (reply.events, reply.nextPageToken)
            }
        }
        switch output.format {
        case .json:
            Console.out(JSONOutput.object([("events", try JSONOutput.array(events))]))
        case .csv:
            Printer(format: .csv).csv(
                header: [
                    "id", "kind", "status", "title", "countries", "planned_date", "actual_date", "place",
                    "participants", "summary", "source_ids", "related_event_ids",
                ],
                rows: events.map { e in
                    [
                        String(e.id), e.kind.shortName, e.status.shortName, e.title, e.countries.joined(separator: ";"),
                        e.plannedDate, e.actualDate, e.place, e.participants.map(\.label).joined(separator: "; "),
                        e.summary, e.sourceIds.map(String.init).joined(separator: ";"),
                        e.relatedEventIds.map(String.init).joined(separator: ";"),
                    ]
                })
        case .table:
            var table = Table([
                Table.Column("ID", right: true), Table.Column("DATE"), Table.Column("KIND"), Table.Column("STATUS"),
                Table.Column("TITLE", shrinkable: true, minimumWidth: 20), Table.Column("COUNTRIES"),
                Table.Column("PARTICIPANTS", shrinkable: true, minimumWidth: 10),
            ])
            for e in events {
                table.add([
                    String(e.id), e.dateLabel(since: since ?? "", until: until ?? ""), e.kind.shortName,
                    e.status.shortName, e.title, e.countries.joined(separator: ","),
                    e.participants.map(\.label).joined(separator: "; "),
                ])
            }
            Printer(format: .table).table(table)
        }
    }
}

struct Agreements: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List agreements: memoranda, treaties, joint statements, partnerships.")

    @Option(help: ArgumentHelp("A party's country.", valueName: "code"))
    var country: String?

    @Option(help: ArgumentHelp("And this one.", valueName: "code"))
    var counterpart: String?

    @Option(help: ArgumentHelp("Signed on or after.", valueName: "date"))
    var since: String?

    @Option(help: ArgumentHelp("Signed on or before.", valueName: "date"))
    var until: String?

    @Option(help: ArgumentHelp("Kind of agreement.", valueName: "kind"))
    var kind: Coop_V1_AgreementKind?

    @Option(help: ArgumentHelp("Topic, e.g. technical_intern_training.", valueName: "topic"))
    var topic: String?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try checkDate(since, "--since")
        try checkDate(until, "--until")
    }

    func run() async throws {
        var request = Coop_V1_ListAgreementsRequest()
        request.country = countryCode(country)
        request.counterpart = countryCode(counterpart)
        request.from = since ?? ""
        request.to = until ?? ""
        request.kind = kind ?? .unspecified
        request.topic = topic ?? ""
        request.pageSize = 1000
        let agreements = try await connection.run { client in
            try await allPages { token in
                var page = request
                page.pageToken = token
                let reply = try await client.listAgreements(page, options: connection.callOptions)
                return (reply.agreements, reply.nextPageToken)
            }
        }
        func parties(_ a: Coop_V1_Agreement) -> String {
            a.parties.map { $0.country.isEmpty ? $0.name : "\($0.name) [\($0.country)]" }.joined(separator: "; ")
        }
        switch output.format {
        case .json:
            Console.out(JSONOutput.object([("agreements", try JSONOutput.array(agreements))]))
        case .csv:
            Printer(format: .csv).csv(
                header: [
                    "id", "kind", "title", "parties", "signed_date", "effective_date", "place", "topics", "text_url",
                    "event_id", "source_ids", "summary",
                ],
                rows: agreements.map { a in
                    [
                        String(a.id), a.kind.shortName, a.title, parties(a), a.signedDate, a.effectiveDate, a.place,
                        a.topics.joined(separator: ";"), a.textURL, a.eventID == 0 ? "" : String(a.eventID),
                        a.sourceIds.map(String.init).joined(separator: ";"), a.summary,
                    ]
                })
        case .table:
            var table = Table([
                Table.Column("ID", right: true), Table.Column("SIGNED"), Table.Column("KIND"),
                Table.Column("TITLE", shrinkable: true, minimumWidth: 20),
                Table.Column("PARTIES", shrinkable: true, minimumWidth: 10),
                Table.Column("TOPICS"),
            ])
            for a in agreements {
                table.add([
                    String(a.id), a.signedDate, a.kind.shortName, a.title, parties(a), a.topics.joined(separator: ","),
                ])
            }
            Printer(format: .table).table(table)
        }
    }
}

struct Statements: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List statements: what people said, the figure stated, and the statistics it conflicts with.")

    @Option(help: ArgumentHelp("The speaker's country or the claim's pair.", valueName: "code"))
    var country: String?

    @Option(help: ArgumentHelp("The speaker's name contains (diacritics ignored).", valueName: "name"))
    var speaker: String?

    @Option(help: ArgumentHelp("Said at this event.", valueName: "id"))
    var event: Int64?

    @Option(help: ArgumentHelp("Said on or after.", valueName: "date"))
    var since: String?

    @Option(help: ArgumentHelp("Said on or before.", valueName: "date"))
    var until: String?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try checkDate(since, "--since")
        try checkDate(until, "--until")
    }

    func run() async throws {
        var request = Coop_V1_ListStatementsRequest()
        request.country = countryCode(country)
        request.speaker = speaker ?? ""
        request.eventID = event ?? 0
        request.from = since ?? ""
        request.to = until ?? ""
        request.pageSize = 1000
        let statements = try await connection.run { client in
            try await allPages { token in
                var page = request
                page.pageToken = token
                let reply = try await client.listStatements(page, options: connection.callOptions)
                return (reply.statements, reply.nextPageToken)
            }
        }
        switch output.format {
        case .json:
            Console.out(JSONOutput.object([("statements", try JSONOutput.array(statements))]))
        case .csv:
            Printer(format: .csv).csv(
                header: [
                    "id", "said_on", "speaker", "event_id", "text", "claim_observation_id", "conflicts_with",
                    "source_id", "note",
                ],
                rows: statements.map { s in
                    [
                        String(s.id), s.saidOn, s.speaker.label, s.eventID == 0 ? "" : String(s.eventID), s.text,
                        s.claimObservationID == 0 ? "" : String(s.claimObservationID),
                        s.conflictsWith.map(String.init).joined(separator: ";"), String(s.sourceID), s.note,
                    ]
                })
        case .table:
            var table = Table([
                Table.Column("ID", right: true), Table.Column("SAID ON"),
                Table.Column("SPEAKER", shrinkable: true, minimumWidth: 12),
                Table.Column("TEXT", shrinkable: true, minimumWidth: 20), Table.Column("CLAIM", right: true),
                Table.Column("CONFLICTS WITH"),
            ])
            for s in statements {
                table.add([
                    String(s.id), s.saidOn, s.speaker.label, s.text,
                    s.claimObservationID == 0 ? "" : String(s.claimObservationID),
                    s.conflictsWith.map(String.init).joined(separator: ","),
                ])
            }
            Printer(format: .table).table(table)
        }
    }
}

struct Sources: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the documents figures and events were read in.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let sources = try await connection.run { client in
            try await allSources(client, connection.callOptions)
        }
        switch output.format {
        case .json:
            Console.out(JSONOutput.object([("sources", try JSONOutput.array(sources))]))
        case .csv:
            Printer(format: .csv).csv(
                header: [
                    "id", "title", "publisher", "original_publisher", "url", "published", "kind", "language", "note",
                ],
                rows: sources.map { s in
                    [
                        String(s.id), s.title, s.publisher, s.originalPublisher, s.url, s.published, s.kind.shortName,
                        s.language, s.note,
                    ]
                })
        case .table:
            var table = Table([
                Table.Column("ID", right: true), Table.Column("PUBLISHED"), Table.Column("KIND"),
                Table.Column("PUBLISHER", shrinkable: true, minimumWidth: 10),
                Table.Column("TITLE", shrinkable: true, minimumWidth: 16),
                Table.Column("URL", shrinkable: true, minimumWidth: 12),
            ])
            for s in sources {
                table.add([String(s.id), s.published, s.kind.shortName, s.publisher, s.title, s.url])
            }
            Printer(format: .table).table(table)
        }
    }
}

func allSources(_ client: CoopClient, _ options: CallOptions) async throws -> [Coop_V1_Source] {
    try await allPages { token in
        let reply = try await client.listSources(.with {
            $0.pageSize = 1000
            $0.pageToken = token
        }, options: options)
        return (reply.sources, reply.nextPageToken)
    }
}

// MARK: Search and summary

struct Search: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Full-text search over events, agreements, statements and sources (diacritics and case ignored).")

    @Argument(help: "Words to look for.")
    var words: [String]

    @Option(help: ArgumentHelp("At most this many hits, 1 to 200.", valueName: "n"))
    var limit: Int32 = 20

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if words.joined().trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("give the words to search for")
        }
        guard (1...200).contains(limit) else { throw ValidationError("--limit must be 1…200") }
    }

    func run() async throws {
        let text = words.joined(separator: " ")
        let hits = try await connection.run { client in
            try await client.search(text, limit: limit, options: connection.callOptions)
        }
        switch output.format {
        case .json:
            Console.out(JSONOutput.object([("hits", try JSONOutput.array(hits))]))
        case .csv:
            Printer(format: .csv).csv(
                header: ["entity_kind", "entity_id", "title", "native_names", "snippet"],
                rows: hits.map {
                    [$0.entityKind, String($0.entityID), $0.title, $0.nativeNames.joined(separator: "; "), $0.snippet]
                })
        case .table:
            var table = Table([
                Table.Column("KIND"), Table.Column("ID", right: true),
                Table.Column("TITLE", shrinkable: true, minimumWidth: 16),
                Table.Column("SNIPPET", shrinkable: true, minimumWidth: 16),
            ])
            for hit in hits {
                // Names in their own script beside the romanised title: "Dao Ngoc Dung (2022-06-29) · Đào Ngọc Dung".
                let title = ([hit.title] + hit.nativeNames).joined(separator: " · ")
                table.add([hit.entityKind, String(hit.entityID), title, hit.snippet])
            }
            Printer(format: .table).table(table)
        }
    }
}

struct Summary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarise a pair of countries: relationship, latest figures, recent and upcoming events.",
        discussion: """
            Latest figures are statistics only, unless --claims: then also the latest figure each kind of \
            statement claims, marked with who said it. --csv prints the latest-figures table.
            """)

    @Argument(help: "First country, e.g. VN.")
    var a: String

    @Argument(help: "Second country, e.g. JP.")
    var b: String

    @Flag(help: "Also figures stated in statements (claims), each marked with who said it.")
    var claims = false

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let summary = try await connection.run { client in
            try await client.pairSummary(
                countryCode(a), countryCode(b), includeClaims: claims, options: connection.callOptions)
        }
        func claim(_ i: Coop_V1_IndicatorLatest) -> String {
            i.indicator.measure == .claim ? claimLabel(i.hasStatement ? i.statement : nil) : ""
        }
        switch output.format {
        case .json:
            Console.out(try JSONOutput.message(summary))
        case .csv:
            Printer(format: .csv).csv(
                header: [
                    "indicator", "name", "origin", "destination", "period_start", "period_end", "value",
                    "unit_multiplier", "unit", "qualifier", "vintage", "observation_id", "claim",
                ],
                rows: summary.indicators.map { i in
                    let o = i.latest
                    return [
                        i.indicator.code, i.indicator.name, o.origin, o.destination, o.periodStart, o.periodEnd,
                        String(o.value), String(o.unitMultiplier), o.unit, o.qualifier.shortName, o.vintage, String(o.id),
                        claim(i),
                    ]
                })
        case .table:
            let width = Terminal.width()
            let r = summary.relationship
            Console.out("\(summary.countryA.name) (\(summary.countryA.code)) – \(summary.countryB.name) (\(summary.countryB.code))")
            if !r.established.isEmpty { Console.out("diplomatic relations since \(r.established)") }
            if !r.level.isEmpty {
                Console.out("relationship: \(r.level)" + (r.levelSince.isEmpty ? "" : " (since \(r.levelSince))"))
            }
            if !r.history.isEmpty {
                Console.out("\nRelationship levels")
                var table = Table([Table.Column("SINCE"), Table.Column("LEVEL", shrinkable: true)])
                for level in r.history { table.add([level.since, level.level]) }
                Console.out(table.render(width: width))
            }
            if !summary.indicators.isEmpty {
                Console.out("\nLatest figures")
                let claims = summary.indicators.contains { !claim($0).isEmpty }
                var table = Table([
                    Table.Column("INDICATOR"), Table.Column("PAIR"),
                    Table.Column("PERIOD"), Table.Column("VALUE", right: true), Table.Column("UNIT"),
                    Table.Column("VINTAGE"), Table.Column("ID", right: true),
                ] + (claims ? [Table.Column("CLAIM", shrinkable: true, minimumWidth: 8)] : []))
                for i in summary.indicators {
                    let o = i.latest
                    table.add(
                        [i.indicator.code, o.pairLabel, o.periodLabel, o.displayValue, o.unit, o.vintage, String(o.id)]
                            + (claims ? [claim(i)] : []))
                }
                Console.out(table.render(width: width))
            }
            for (title, events) in [("Recent events", summary.recentEvents), ("Upcoming events", summary.upcomingEvents)]
            where !events.isEmpty {
                Console.out("\n\(title)")
                var table = Table([
                    Table.Column("ID", right: true), Table.Column("DATE"), Table.Column("KIND"),
                    Table.Column("TITLE", shrinkable: true, minimumWidth: 16),
                ])
                for e in events { table.add([String(e.id), e.dateLabel, e.kind.shortName, e.title]) }
                Console.out(table.render(width: width))
            }
        }
    }
}
