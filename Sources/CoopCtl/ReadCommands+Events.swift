import ArgumentParser
import CoopClient
import CoopProto
import Foundation

struct Events: AsyncParsableCommand, DateRangeOptions {
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
            try await allPages(request) { try await client.listEvents($0, options: connection.callOptions) }
        }
        try Self.listing(since: since ?? "", until: until ?? "").print(events, as: output.format)
    }

    /// The events' columns; DATE leads with the date `--since`/`--until` found an event by.
    static func listing(since: String, until: String) -> Listing<Coop_V1_Event> {
        Listing("events", [
            .init(Table.Column("ID", right: true), csv: "id") { String($0.id) },
            .table(Table.Column("DATE")) { $0.dateLabel(since: since, until: until) },
            .init(Table.Column("KIND"), csv: "kind") { $0.kind.shortName },
            .init(Table.Column("STATUS"), csv: "status") { $0.status.shortName },
            .init(Table.Column("TITLE", shrinkable: true, minimumWidth: 20), csv: "title", \.title),
            .init(Table.Column("COUNTRIES"), csv: "countries") {
                $0.countries.joined(separator: ",")
            } csvCell: {
                $0.countries.joined(separator: ";")
            },
            .csv("planned_date", \.plannedDate),
            .csv("actual_date", \.actualDate),
            .csv("place", \.place),
            .init(Table.Column("PARTICIPANTS", shrinkable: true, minimumWidth: 10), csv: "participants") {
                $0.participants.map(\.label).joined(separator: "; ")
            },
            .csv("summary", \.summary),
            .csv("source_ids") { joinedIDs($0.sourceIds) },
            .csv("related_event_ids") { joinedIDs($0.relatedEventIds) },
        ])
    }
}
