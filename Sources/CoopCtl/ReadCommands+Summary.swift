import ArgumentParser
import CoopClient
import CoopProto
import Foundation

struct Summary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarise a pair of countries: relationship, latest figures, recent and upcoming events.",
        discussion: """
            Latest figures are statistics only, unless --claims: then also the latest figure each kind of \
            statement claims, marked with who said it. --csv prints the latest-figures table.
            """)

    @Argument(help: "First country, e.g. VN.", completion: CodeCompletion.countries)
    var a: String

    @Argument(help: "Second country, e.g. JP.", completion: CodeCompletion.countries)
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
        switch output.format {
        case .json:
            Console.out(try JSONOutput.message(summary))
        case .csv:
            Console.out(Self.latestFigures(claimColumn: false).csv(summary.indicators))
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
                Console.out(Self.levels.table(r.history).render(width: width))
            }
            if !summary.indicators.isEmpty {
                Console.out("\nLatest figures")
                let claims = summary.indicators.contains { !Self.claim($0).isEmpty }
                Console.out(Self.latestFigures(claimColumn: claims).table(summary.indicators).render(width: width))
            }
            for (title, events) in [("Recent events", summary.recentEvents), ("Upcoming events", summary.upcomingEvents)]
            where !events.isEmpty {
                Console.out("\n\(title)")
                Console.out(Self.events.table(events).render(width: width))
            }
        }
    }

    /// Who claimed a figure, for claim indicators: "claim: SPEAKER, DATE".
    static func claim(_ i: Coop_V1_IndicatorLatest) -> String {
        i.indicator.measure == .claim ? claimLabel(i.hasStatement ? i.statement : nil) : ""
    }

    /// The latest figure of each indicator: the table, and all --csv prints; the table has a CLAIM column only
    /// when `claimColumn`.
    static func latestFigures(claimColumn: Bool) -> Listing<Coop_V1_IndicatorLatest> {
        Listing("indicators", [
            .init(Table.Column("INDICATOR"), csv: "indicator", \.indicator.code),
            .csv("name", \.indicator.name),
            .table(Table.Column("PAIR"), \.latest.pairLabel),
            .csv("origin", \.latest.origin),
            .csv("destination", \.latest.destination),
            .table(Table.Column("PERIOD"), \.latest.periodLabel),
            .csv("period_start", \.latest.periodStart),
            .csv("period_end", \.latest.periodEnd),
            .init(Table.Column("VALUE", right: true), csv: "value", \.latest.displayValue) { String($0.latest.value) },
            .csv("unit_multiplier") { String($0.latest.unitMultiplier) },
            .init(Table.Column("UNIT"), csv: "unit", \.latest.unit),
            .csv("qualifier") { $0.latest.qualifier.shortName },
            .init(Table.Column("VINTAGE"), csv: "vintage", \.latest.vintage),
            .init(Table.Column("ID", right: true), csv: "observation_id") { String($0.latest.id) },
            .init(claimColumn ? Table.Column("CLAIM", shrinkable: true, minimumWidth: 8) : nil, csv: "claim", claim),
        ])
    }

    static var levels: Listing<Coop_V1_RelationshipLevel> {
        Listing("history", [
            .table(Table.Column("SINCE"), \.since),
            .table(Table.Column("LEVEL", shrinkable: true), \.level),
        ])
    }

    static var events: Listing<Coop_V1_Event> {
        Listing("events", [
            .table(Table.Column("ID", right: true)) { String($0.id) },
            .table(Table.Column("DATE"), \.dateLabel),
            .table(Table.Column("KIND")) { $0.kind.shortName },
            .table(Table.Column("TITLE", shrinkable: true, minimumWidth: 16), \.title),
        ])
    }
}
