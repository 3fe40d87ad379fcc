import CoopClient
import CoopProto
import Foundation

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

/// A list request that is answered a page at a time.
protocol PagedRequest {
    var pageToken: String { get set }
}

extension Coop_V1_ListObservationsRequest: PagedRequest {}
extension Coop_V1_ListEventsRequest: PagedRequest {}
extension Coop_V1_ListAgreementsRequest: PagedRequest {}
extension Coop_V1_ListStatementsRequest: PagedRequest {}
extension Coop_V1_ListSourcesRequest: PagedRequest {}

/// A page of a list: its items and the token of the next page ("" after the last).
protocol PagedReply {
    associatedtype Item
    var items: [Item] { get }
    var nextPageToken: String { get }
}

extension Coop_V1_ListEventsResponse: PagedReply {
    var items: [Coop_V1_Event] { events }
}

extension Coop_V1_ListAgreementsResponse: PagedReply {
    var items: [Coop_V1_Agreement] { agreements }
}

extension Coop_V1_ListStatementsResponse: PagedReply {
    var items: [Coop_V1_Statement] { statements }
}

extension Coop_V1_ListSourcesResponse: PagedReply {
    var items: [Coop_V1_Source] { sources }
}

extension Coop_V1_ListObservationsResponse: PagedReply {
    var items: [Coop_V1_Observation] { observations }
}

/// Every page of `request`: `fetch` is asked for each with its page token set.
func allPages<Request: PagedRequest, Reply: PagedReply>(
    _ request: Request, _ fetch: (Request) async throws -> Reply
) async throws -> [Reply.Item] {
    try await allPages { token in
        var page = request
        page.pageToken = token
        let reply = try await fetch(page)
        return (reply.items, reply.nextPageToken)
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
struct ObservationListing {
    var observations: [Coop_V1_Observation] = []
    var sources: [Coop_V1_Source] = []
    var claimStatements: [Coop_V1_Statement] = []
}

func fetchListing(
    _ client: CoopClient, _ request: Coop_V1_ListObservationsRequest, _ options: CallOptions
) async throws -> ObservationListing {
    var sources: [Int64: Coop_V1_Source] = [:]
    var statements: [Int64: Coop_V1_Statement] = [:]
    let observations = try await allPages(request) { page in
        let reply = try await client.listObservations(page, options: options)
        for source in reply.sources { sources[source.id] = source }
        for statement in reply.claimStatements { statements[statement.id] = statement }
        return reply
    }
    return ObservationListing(
        observations: observations, sources: sources.values.sorted { $0.id < $1.id },
        claimStatements: statements.values.sorted { $0.id < $1.id })
}

func allSources(_ client: CoopClient, _ options: CallOptions) async throws -> [Coop_V1_Source] {
    try await allPages(Coop_V1_ListSourcesRequest.with { $0.pageSize = 1000 }) { page in
        try await client.listSources(page, options: options)
    }
}
