import ArgumentParser
import CoopClient
import CoopProto
import Foundation

// MARK: Countries and indicators

struct Countries: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the country codes coopd knows (ISO 3166-1).")

    @Argument(help: "Only countries whose code or name contains this text.")
    var filter: String?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    static var listing: Listing<Coop_V1_Country> {
        Listing("countries", [
            .init(Table.Column("CODE"), csv: "code", \.code),
            .init(Table.Column("NAME", shrinkable: true, minimumWidth: 12), csv: "name", \.name),
            .init(Table.Column("OTHER NAMES", shrinkable: true), csv: "other_names") { $0.otherNames.joined(separator: "; ") },
        ])
    }

    func run() async throws {
        var countries = try await connection.run { client in try await client.listCountries(options: connection.callOptions) }
        if let filter, !filter.isEmpty {
            countries = countries.filter { c in
                ([c.code, c.name] + c.otherNames).contains { $0.localizedCaseInsensitiveContains(filter) }
            }
        }
        try Self.listing.print(countries, as: output.format)
    }
}

struct Indicators: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List what is measured: indicator codes, units, breakdowns.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    static var listing: Listing<Coop_V1_Indicator> {
        Listing("indicators", [
            .init(Table.Column("CODE"), csv: "code", \.code),
            .init(Table.Column("NAME", shrinkable: true, minimumWidth: 16), csv: "name", \.name),
            .csv("compiler", \.compiler),
            .init(Table.Column("MEASURE"), csv: "measure") { $0.measure.shortName },
            .init(Table.Column("UNIT"), csv: "unit", \.unit),
            .init(Table.Column("PERIOD BASIS"), csv: "period_basis") { $0.periodBasis.shortName },
            .init(Table.Column("BREAKDOWN"), csv: "breakdown_dimensions") {
                $0.breakdownDimensions.joined(separator: ",")
            } csvCell: {
                $0.breakdownDimensions.joined(separator: ";")
            },
            .csv("description", \.description_p),
            .table(Table.Column("COMPILER", shrinkable: true), \.compiler),
        ])
    }

    func run() async throws {
        let indicators = try await connection.run { client in
            try await client.listIndicators(options: connection.callOptions)
        }
        try Self.listing.print(indicators, as: output.format)
    }
}
