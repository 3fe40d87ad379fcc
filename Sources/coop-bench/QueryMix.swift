import CoopClient
import CoopProto
import CoopWire
import Foundation
import NIOCore
import Synchronization

/// ListObservations questions as users ask them, each call different: drawn from the pairs, indicators,
/// breakdowns, periods and vintages coopd holds (read once before the load), reproducible from a seed. Some
/// calls ask for the next page of an earlier answer (its `next_page_token`), as a client paging a listing does.
final class QueryMix: Sendable {
    /// What one pair holds.
    private struct Pair {
        var origin: String
        var destination: String
        var indicators: [String]
        var breakdowns: [Coop_V1_Dimension]
        var periods: [String]
        var vintages: [String]
    }

    /// One connection's state: its generator, and questions whose next page it may ask for.
    private struct Connection {
        var random: SplitMix64
        var nextPages: [Coop_V1_ListObservationsRequest] = []
    }

    private let pairs: [Pair]
    /// Words of indicator names and event titles, for the searches of the large mix.
    private let searchTerms: [String]
    /// One state per connection: each connection draws on its own event loop. The questions repeat for a seed;
    /// which next pages are asked depends on when answers arrive.
    private let connections: Locked<[Connection]>
    /// How many earlier questions a connection keeps to page through.
    private static let keptPages = 16

    init(socket: String, seed: UInt64, connections: Int) async throws {
        let client = CoopClient(socketPath: socket)
        defer { Task { await client.close() } }
        var byPair: [String: Pair] = [:]
        var request = Coop_V1_ListObservationsRequest()
        request.pageSize = 1000
        request.includeSuperseded = true
        var seen = 0
        // At most 50,000 rows are read to learn the shape of the data.
        while seen < 50_000 {
            let page = try await client.listObservations(request)
            for o in page.observations {
                let key = o.origin + ">" + o.destination
                var pair = byPair[key] ?? Pair(origin: o.origin, destination: o.destination, indicators: [],
                                               breakdowns: [], periods: [], vintages: [])
                if !pair.indicators.contains(o.indicator) { pair.indicators.append(o.indicator) }
                for dimension in o.breakdown where !pair.breakdowns.contains(dimension) {
                    pair.breakdowns.append(dimension)
                }
                pair.periods.append(o.periodStart)
                pair.vintages.append(o.vintage)
                byPair[key] = pair
            }
            seen += page.observations.count
            if page.nextPageToken.isEmpty { break }
            request.pageToken = page.nextPageToken
        }
        pairs = byPair.keys.sorted().map { key in
            var pair = byPair[key]!
            pair.periods = Array(Set(pair.periods)).sorted()
            pair.vintages = Array(Set(pair.vintages.filter { !$0.isEmpty })).sorted()
            return pair
        }
        guard !pairs.isEmpty else { throw CoopBenchError("query-mix: coopd holds no observations") }
        let titles = try await client.listIndicators().map(\.name)
            + (try await client.listEvents(Coop_V1_ListEventsRequest.with { $0.pageSize = 200 }).events.map(\.title))
        searchTerms = Array(Set(titles.flatMap { title in
            title.split(whereSeparator: { !$0.isLetter }).filter { $0.count >= 4 }.map(String.init)
        })).sorted()
        self.connections = Locked((0..<connections).map {
            Connection(random: SplitMix64(seed: seed &* 0x100_0000_01B3 &+ UInt64($0)))
        })
    }

    /// The next question of `connection`: one in seven asks for the next page of an earlier answer.
    func next(_ connection: Int) -> Call {
        connections.withLock { all in
            let index = connection % all.count
            if all[index].random.next() % 7 == 0, let follow = all[index].nextPages.popLast() {
                return listCall(follow, connection: index)
            }
            return listCall(Self.question(pairs, &all[index].random), connection: index)
        }
    }

    /// The next question of the large mix: three in four a page of 1,000 rows with every vintage (following
    /// the next page of an earlier answer half the time), else a search.
    func nextLarge(_ connection: Int) -> Call {
        connections.withLock { all in
            let index = connection % all.count
            let roll = all[index].random.next() % 8
            if roll < 6 {
                if roll < 3, let follow = all[index].nextPages.popLast() {
                    return listCall(follow, connection: index)
                }
                let pair = pairs[Int(all[index].random.next() % UInt64(pairs.count))]
                var request = Coop_V1_ListObservationsRequest()
                request.origin = pair.origin
                request.destination = pair.destination
                request.includeSuperseded = true
                request.pageSize = 1000
                return listCall(request, connection: index)
            }
            var search = Coop_V1_SearchRequest()
            search.query = searchTerms.isEmpty
                ? pairs[0].origin : searchTerms[Int(all[index].random.next() % UInt64(searchTerms.count))]
            search.limit = 200
            return Call(method: "Search", payload: (try? search.serializedBuffer()) ?? ByteBuffer())
        }
    }

    /// A ListObservations call that keeps its question for paging on when the answer has a next page.
    private func listCall(_ request: Coop_V1_ListObservationsRequest, connection: Int) -> Call {
        Call(method: "ListObservations", payload: (try? request.serializedBuffer()) ?? ByteBuffer()) { [self] reply in
            // next_page_token is field 2 of the answer: read without decoding the rows.
            guard let token = reply.protobufField(2), token.readableBytes > 0 else { return }
            var follow = request
            follow.pageToken = String(buffer: token)
            connections.withLock { all in
                all[connection].nextPages.append(follow)
                if all[connection].nextPages.count > Self.keptPages { all[connection].nextPages.removeFirst() }
            }
        }
    }

    private static func question(_ pairs: [Pair], _ random: inout SplitMix64) -> Coop_V1_ListObservationsRequest {
        let pair = pairs[Int(random.next() % UInt64(pairs.count))]
        var request = Coop_V1_ListObservationsRequest()
        request.origin = pair.origin
        request.destination = pair.destination
        let roll = random.next() % 100
        if roll >= 50 {
            let count = roll < 85 ? 1 : 2 + Int(random.next() % 2)
            request.indicators = (0..<count).map { _ in pair.indicators[Int(random.next() % UInt64(pair.indicators.count))] }
        }
        if random.next() % 100 < 75, !pair.periods.isEmpty {
            let a = Int(random.next() % UInt64(pair.periods.count))
            let b = Int(random.next() % UInt64(pair.periods.count))
            // From any day of a month the pair has data for, to a date it has: ranges as users ask them, that
            // match rows.
            request.periodFrom = anyDay(pair.periods[min(a, b)], &random)
            request.periodTo = pair.periods[max(a, b)]
            if request.periodFrom > request.periodTo { request.periodFrom = request.periodTo }
        }
        if random.next() % 100 < 25, !pair.breakdowns.isEmpty {
            request.breakdown = [pair.breakdowns[Int(random.next() % UInt64(pair.breakdowns.count))]]
        }
        if random.next() % 100 < 20, !pair.vintages.isEmpty {
            request.asOf = anyDay(pair.vintages[Int(random.next() % UInt64(pair.vintages.count))], &random)
        }
        request.includeSuperseded = random.next() % 100 < 10
        request.pageSize = 10 + Int32(random.next() % 91)
        return request
    }
}

/// `date` (YYYY-MM-DD) with its day replaced by a random one of 01…28 (users ask for ranges, not for stored
/// dates); other forms unchanged.
private func anyDay(_ date: String, _ random: inout SplitMix64) -> String {
    guard date.utf8.count == 10 else { return date }
    return String(date.prefix(8)) + String(format: "%02d", 1 + Int(random.next() % 28))
}

struct CoopBenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
