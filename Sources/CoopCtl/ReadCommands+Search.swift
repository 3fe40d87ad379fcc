import ArgumentParser
import CoopClient
import CoopProto
import Foundation

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
        try Self.listing.print(hits, as: output.format)
    }

    static var listing: Listing<Coop_V1_SearchHit> {
        Listing("hits", [
            .init(Table.Column("KIND"), csv: "entity_kind", \.entityKind),
            .init(Table.Column("ID", right: true), csv: "entity_id") { String($0.entityID) },
            // Names in their own script beside the romanised title: "Dao Ngoc Dung (2022-06-29) · Đào Ngọc Dung".
            .init(Table.Column("TITLE", shrinkable: true, minimumWidth: 16), csv: "title") {
                ([$0.title] + $0.nativeNames).joined(separator: " · ")
            } csvCell: {
                $0.title
            },
            .csv("native_names") { $0.nativeNames.joined(separator: "; ") },
            .init(Table.Column("SNIPPET", shrinkable: true, minimumWidth: 16), csv: "snippet", \.snippet),
        ])
    }
}
