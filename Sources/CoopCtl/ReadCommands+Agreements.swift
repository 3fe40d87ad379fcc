import ArgumentParser
import CoopClient
import CoopProto
import Foundation

struct Agreements: AsyncParsableCommand, DateRangeOptions {
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
            try await allPages(request) { try await client.listAgreements($0, options: connection.callOptions) }
        }
        try Self.listing.print(agreements, as: output.format)
    }

    static var listing: Listing<Coop_V1_Agreement> {
        Listing("agreements", [
            .init(Table.Column("ID", right: true), csv: "id") { String($0.id) },
            .table(Table.Column("SIGNED"), \.signedDate),
            .init(Table.Column("KIND"), csv: "kind") { $0.kind.shortName },
            .init(Table.Column("TITLE", shrinkable: true, minimumWidth: 20), csv: "title", \.title),
            .init(Table.Column("PARTIES", shrinkable: true, minimumWidth: 10), csv: "parties") { a in
                a.parties.map { $0.country.isEmpty ? $0.name : "\($0.name) [\($0.country)]" }.joined(separator: "; ")
            },
            .csv("signed_date", \.signedDate),
            .csv("effective_date", \.effectiveDate),
            .csv("place", \.place),
            .init(Table.Column("TOPICS"), csv: "topics") {
                $0.topics.joined(separator: ",")
            } csvCell: {
                $0.topics.joined(separator: ";")
            },
            .csv("text_url", \.textURL),
            .csv("event_id") { blankIfZero($0.eventID) },
            .csv("source_ids") { joinedIDs($0.sourceIds) },
            .csv("summary", \.summary),
        ])
    }
}
