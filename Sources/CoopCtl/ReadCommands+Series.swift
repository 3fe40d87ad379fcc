import ArgumentParser
import CoopClient
import CoopProto
import Foundation

struct Series: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show one indicator's values over time for a pair, with a bar chart.",
        discussion: """
            One value per period (the latest vintage, or as known on --as-of), a bar scaled to the largest \
            value, and a row marked "no figure" for each period missing from a regular series.

            Example:
              coopctl series JP_MHLW_FOREIGN_WORKERS --from VN --to JP --since 2015 --until 2023
            """)

    @Argument(help: "Indicator code, e.g. JP_MHLW_FOREIGN_WORKERS.", completion: CodeCompletion.indicators)
    var indicator: String

    @Option(help: ArgumentHelp("Origin country.", valueName: "code"), completion: CodeCompletion.countries)
    var from: String

    @Option(help: ArgumentHelp("Destination country.", valueName: "code"), completion: CodeCompletion.countries)
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

    /// The points' CSV columns (the table is a chart); `sources` (with --sources) where each value was read.
    static func listing(sources: [Int64: Coop_V1_Source]?) -> Listing<Coop_V1_SeriesPoint> {
        Listing("points", [
            .csv("period_start", \.periodStart),
            .csv("period_end", \.periodEnd),
            .csv("value") { String($0.observation.value) },
            .csv("value_high") { blankIfZero($0.observation.valueHigh) },
            .csv("unit_multiplier") { String($0.observation.unitMultiplier) },
            .csv("unit", \.observation.unit),
            .csv("qualifier") { $0.observation.qualifier.shortName },
            .csv("status") { $0.observation.status.shortName },
            .csv("vintage", \.observation.vintage),
            .csv("observation_id") { String($0.observation.id) },
            .csv("source_id") { String($0.observation.sourceID) },
        ] + (sources.map { byID in Listing.sourceColumns(byID, inTable: false, \.observation.sourceID) } ?? []))
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
            Console.out(Self.listing(sources: sources ? byID : nil).csv(series.points))
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
