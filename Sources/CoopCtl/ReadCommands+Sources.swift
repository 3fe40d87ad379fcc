import ArgumentParser
import CoopClient
import CoopProto
import Foundation

struct Sources: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the documents figures and events were read in.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let sources = try await connection.run { client in
            try await allSources(client, connection.callOptions)
        }
        try Self.listing.print(sources, as: output.format)
    }

    static var listing: Listing<Coop_V1_Source> {
        Listing("sources", [
            .init(Table.Column("ID", right: true), csv: "id") { String($0.id) },
            .csv("title", \.title),
            .csv("publisher", \.publisher),
            .csv("original_publisher", \.originalPublisher),
            .csv("url", \.url),
            .init(Table.Column("PUBLISHED"), csv: "published", \.published),
            .init(Table.Column("KIND"), csv: "kind") { $0.kind.shortName },
            .csv("language", \.language),
            .csv("note", \.note),
            .table(Table.Column("PUBLISHER", shrinkable: true, minimumWidth: 10), \.publisher),
            .table(Table.Column("TITLE", shrinkable: true, minimumWidth: 16), \.title),
            .table(Table.Column("URL", shrinkable: true, minimumWidth: 12), \.url),
        ])
    }
}
