import ArgumentParser
import CoopClient
import CoopProto
import Foundation

struct Statements: AsyncParsableCommand, DateRangeOptions {
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

    func run() async throws {
        var request = Coop_V1_ListStatementsRequest()
        request.country = countryCode(country)
        request.speaker = speaker ?? ""
        request.eventID = event ?? 0
        request.from = since ?? ""
        request.to = until ?? ""
        request.pageSize = 1000
        let statements = try await connection.run { client in
            try await allPages(request) { try await client.listStatements($0, options: connection.callOptions) }
        }
        try Self.listing.print(statements, as: output.format)
    }

    static var listing: Listing<Coop_V1_Statement> {
        Listing("statements", [
            .init(Table.Column("ID", right: true), csv: "id") { String($0.id) },
            .init(Table.Column("SAID ON"), csv: "said_on", \.saidOn),
            .init(Table.Column("SPEAKER", shrinkable: true, minimumWidth: 12), csv: "speaker", \.speaker.label),
            .csv("event_id") { blankIfZero($0.eventID) },
            .init(Table.Column("TEXT", shrinkable: true, minimumWidth: 20), csv: "text", \.text),
            .init(Table.Column("CLAIM", right: true), csv: "claim_observation_id") { blankIfZero($0.claimObservationID) },
            .init(Table.Column("CONFLICTS WITH"), csv: "conflicts_with") {
                joinedIDs($0.conflictsWith, separator: ",")
            } csvCell: {
                joinedIDs($0.conflictsWith)
            },
            .csv("source_id") { String($0.sourceID) },
            .csv("note", \.note),
        ])
    }
}
