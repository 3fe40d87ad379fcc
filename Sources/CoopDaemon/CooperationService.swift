import Atomics
import CoopProto
import CoopServer
import CoopStore
import CoopWire
import Foundation
import Logging
import NIOCore
import NIOPosix
import SwiftProtobuf

/// `coop.v1.Cooperation`: the data API, over a `CooperationStore`.
///
/// Reads are open to every peer; writes are checked against the writer policy first, so a
/// denied call changes nothing. Store errors become statuses here, once.
struct CooperationService {
    typealias Methods = Coop_V1_CooperationMethods
    static let name = Methods.service

    let store: any CooperationStore
    let policy: LockedBox<WriterPolicy>
    let logger: Logger
    /// Answers of read methods, valid while the store's data version holds; nil turns caching off.
    let cache: ResponseCache?
    /// Writes refused to non-writers and writes the database could not take, logged once per interval.
    let refusedWrites = RateLimitedLog(interval: .seconds(10))
    let failedWrites = RateLimitedLog(interval: .seconds(10))

    func definition() throws -> ServiceDefinition {
        // A store whose reads wait on a database server answers them on its own threads, not on event loops;
        // the embedded store answers on the loop, unless reads like this one have lately been long.
        let offload: Offload
        if let threads = store.readThreads {
            offload = .always(
                StoreReadQueue(store: store, threads: threads),
                versionWithoutWaiting: { [store] in store.dataVersionWithoutWaiting })
        } else {
            offload = .whenLonger(than: Self.inlineReadBudget, LongWorkQueue(threads: .singleton))
        }
        var s = ServiceDefinition(name: Self.name, offload: offload)
        let store = self.store
        let version: @Sendable () -> UInt64 = { store.dataVersion }

        // MARK: reads

        try s.addCachedInline(Methods.ListCountries.self, cache: cache, version: version) {
            (_: Coop_V1_ListCountriesRequest) in
            try mapped {
                var reply = Coop_V1_ListCountriesResponse()
                reply.countries = try store.countries().map(Coop_V1_Country.init)
                return reply
            }
        }
        // A task, not inline: it reads every figure and event of the pair.
        try s.addUnary(Methods.GetPairSummary.self) { (request: Coop_V1_GetPairSummaryRequest, _) in
            try await reading { try mapped { try pairSummary(request) } }
        }
        try s.addCachedInline(Methods.ListIndicators.self, cache: cache, version: version) {
            (_: Coop_V1_ListIndicatorsRequest) in
            try mapped {
                var reply = Coop_V1_ListIndicatorsResponse()
                reply.indicators = try store.indicators().map(Coop_V1_Indicator.init)
                return reply
            }
        }
        try s.addCachedInlineEncoded(
            Methods.ListObservations.self, cache: cache, version: version,
            size: { Self.pageSize($0.pageSize) * ($0.includeSuperseded ? 2 : 1) }
        ) {
            (request: Coop_V1_ListObservationsRequest) in
            try mapped {
                var query = ObservationQuery()
                query.origin = request.origin
                query.destination = request.destination
                query.indicators = request.indicators
                query.periodFrom = request.periodFrom
                query.periodTo = request.periodTo
                query.breakdown = request.breakdown.map { Dimension(key: $0.key, value: $0.value) }.sorted()
                query.anyBreakdown = request.anyBreakdown
                query.asOf = request.asOf
                query.includeSuperseded = request.includeSuperseded
                query.includeConflicts = request.includeConflicts
                query.includeRetracted = request.includeRetracted
                query.includeClaims = request.includeClaims
                query.page = try PageRequest(size: request.pageSize, token: request.pageToken)
                // Encoded from the rows as they are read: no Observation per row.
                var encoder = ObservationPageEncoder()
                // Claims can be on the page only when asked for (or their indicator named): only then the lookup.
                let claimed = query.includeClaims || !query.indicators.isEmpty
                let (nextToken, claims) = try store.observationRows(query, claims: claimed) { encoder.add($0) }
                let sources = request.includeSources ? try sources(ids: encoder.sourceIDs) : []
                return try encoder.finish(
                    nextPageToken: nextToken, sources: sources, claimStatements: claims.map(Coop_V1_Statement.init))
            }
        }
        try s.addCachedInline(Methods.GetSeries.self, cache: cache, version: version) {
            (request: Coop_V1_GetSeriesRequest) in
            try mapped {
                var query = SeriesQuery(
                    indicator: request.indicator, origin: request.origin, destination: request.destination)
                query.breakdown = request.breakdown.map { Dimension(key: $0.key, value: $0.value) }.sorted()
                query.periodFrom = request.periodFrom
                query.periodTo = request.periodTo
                query.asOf = request.asOf
                let points = try store.series(query)
                var reply = Coop_V1_Series()
                if let indicator = try store.indicators().first(where: { $0.code == request.indicator }) {
                    reply.indicator = Coop_V1_Indicator(indicator)
                } else {
                    throw RPCError(.notFound, "indicator: no indicator \"\(request.indicator)\"")
                }
                reply.origin = request.origin
                reply.destination = request.destination
                reply.points = points.map { o in
                    .with {
                        $0.periodStart = o.periodStart
                        $0.periodEnd = o.periodEnd
                        $0.observation = Coop_V1_Observation(o)
                    }
                }
                reply.sources = try sources(for: points)
                return reply
            }
        }
        try s.addCachedInline(
            Methods.ListEvents.self, cache: cache, version: version, size: { Self.pageSize($0.pageSize) }
        ) {
            (request: Coop_V1_ListEventsRequest) in
            try mapped {
                var query = EventQuery()
                query.country = request.country
                query.counterpart = request.counterpart
                query.from = request.from
                query.to = request.to
                if request.kind != .unspecified { query.kind = try modelEnum(request.kind, field: "kind") }
                if request.status != .unspecified { query.status = try modelEnum(request.status, field: "status") }
                query.participant = request.participant
                query.page = try PageRequest(size: request.pageSize, token: request.pageToken)
                let page = try store.events(query)
                var reply = Coop_V1_ListEventsResponse()
                reply.events = page.items.map(Coop_V1_Event.init)
                reply.nextPageToken = page.nextToken
                return reply
            }
        }
        try s.addCachedInline(
            Methods.ListAgreements.self, cache: cache, version: version, size: { Self.pageSize($0.pageSize) }
        ) {
            (request: Coop_V1_ListAgreementsRequest) in
            try mapped {
                var query = AgreementQuery()
                query.country = request.country
                query.counterpart = request.counterpart
                query.from = request.from
                query.to = request.to
                if request.kind != .unspecified { query.kind = try modelEnum(request.kind, field: "kind") }
                query.topic = request.topic
                query.page = try PageRequest(size: request.pageSize, token: request.pageToken)
                let page = try store.agreements(query)
                var reply = Coop_V1_ListAgreementsResponse()
                reply.agreements = page.items.map(Coop_V1_Agreement.init)
                reply.nextPageToken = page.nextToken
                return reply
            }
        }
        try s.addCachedInline(
            Methods.ListStatements.self, cache: cache, version: version, size: { Self.pageSize($0.pageSize) }
        ) {
            (request: Coop_V1_ListStatementsRequest) in
            try mapped {
                var query = StatementQuery()
                query.country = request.country
                query.speaker = request.speaker
                query.eventID = request.eventID
                query.from = request.from
                query.to = request.to
                query.page = try PageRequest(size: request.pageSize, token: request.pageToken)
                let page = try store.statements(query)
                var reply = Coop_V1_ListStatementsResponse()
                reply.statements = page.items.map(Coop_V1_Statement.init)
                reply.nextPageToken = page.nextToken
                return reply
            }
        }
        try s.addCachedInline(
            Methods.ListSources.self, cache: cache, version: version, size: { Self.pageSize($0.pageSize) }
        ) {
            (request: Coop_V1_ListSourcesRequest) in
            try mapped {
                let page = try store.sources(page: try PageRequest(size: request.pageSize, token: request.pageToken))
                var reply = Coop_V1_ListSourcesResponse()
                reply.sources = page.items.map(Coop_V1_Source.init)
                reply.nextPageToken = page.nextToken
                return reply
            }
        }
        try s.addCachedInline(
            Methods.Search.self, cache: cache, version: version,
            size: { $0.limit <= 0 ? Self.searchDefaultLimit : min(Int($0.limit), Self.searchMaximumLimit) }
        ) {
            (request: Coop_V1_SearchRequest) in
            try mapped {
                guard request.limit >= 0 else { throw RPCError(.invalidArgument, "limit: must not be negative") }
                let limit = request.limit == 0 ? Self.searchDefaultLimit : min(Int(request.limit), Self.searchMaximumLimit)
                var reply = Coop_V1_SearchResponse()
                reply.hits = try store.search(request.query, limit: limit).map(Coop_V1_SearchHit.init)
                return reply
            }
        }
        try s.addCachedInline(Methods.ListRelationships.self, cache: cache, version: version) {
            (_: Coop_V1_ListRelationshipsRequest) in
            try mapped {
                var reply = Coop_V1_ListRelationshipsResponse()
                reply.relationships = try store.relationships().map(Coop_V1_Relationship.init)
                return reply
            }
        }
        try s.addServerStreaming(Methods.WatchChanges.self) {
            (request: Coop_V1_WatchChangesRequest, _, stream: TypedServerStream<Coop_V1_Change>) in
            try await mapped { try await watchChanges(request, stream) }
        }

        // MARK: writes

        try s.addUnary(Methods.PutSource.self) { (request: Coop_V1_PutSourceRequest, context) in
            try await write(context, request) { w in
                Coop_V1_Source(try await store.putSource(try request.source.model(field: "source"), w))
            }
        }
        try s.addUnary(Methods.PutIndicator.self) { (request: Coop_V1_PutIndicatorRequest, context) in
            try await write(context, request) { w in
                Coop_V1_Indicator(try await store.putIndicator(try request.indicator.model(field: "indicator"), w))
            }
        }
        try s.addUnary(Methods.AddObservations.self) { (request: Coop_V1_AddObservationsRequest, context) in
            try await write(context, request) { w in
                guard !request.observations.isEmpty else {
                    throw RPCError(.invalidArgument, "observations: at least one is required")
                }
                let models = try request.observations.enumerated().map { i, o in
                    try o.model(field: "observations[\(i)]")
                }
                var reply = Coop_V1_AddObservationsResponse()
                reply.observations = try await store.addObservations(models, w).map(Coop_V1_Observation.init)
                return reply
            }
        }
        try s.addUnary(Methods.ReviseObservation.self) { (request: Coop_V1_ReviseObservationRequest, context) in
            try await write(context, request) { w in
                Coop_V1_Observation(
                    try await store.reviseObservation(
                        supersedes: request.supersedesID, revision: try request.revision.model(field: "revision"), w))
            }
        }
        try s.addUnary(Methods.RetractObservation.self) { (request: Coop_V1_RetractObservationRequest, context) in
            try await write(context, request) { w in
                Coop_V1_Observation(try await store.retractObservation(request.observationID, reason: request.reason, w))
            }
        }
        try s.addUnary(Methods.PutEvent.self) { (request: Coop_V1_PutEventRequest, context) in
            try await write(context, request) { w in
                Coop_V1_Event(try await store.putEvent(try request.event.model(field: "event"), w))
            }
        }
        try s.addUnary(Methods.PutAgreement.self) { (request: Coop_V1_PutAgreementRequest, context) in
            try await write(context, request) { w in
                Coop_V1_Agreement(try await store.putAgreement(try request.agreement.model(field: "agreement"), w))
            }
        }
        try s.addUnary(Methods.AddStatement.self) { (request: Coop_V1_AddStatementRequest, context) in
            try await write(context, request) { w in
                let claim = request.hasClaim ? try request.claim.model(field: "claim") : nil
                return Coop_V1_Statement(try await store.addStatement(request.statement.model, claim: claim, w))
            }
        }
        try s.addUnary(Methods.LinkConflict.self) { (request: Coop_V1_LinkConflictRequest, context) in
            try await write(context, request) { w in
                var reply = Coop_V1_LinkConflictResponse()
                reply.observation = Coop_V1_Observation(
                    try await store.linkConflict(
                        request.observationID, with: request.conflictsWithID, note: request.note, w))
                return reply
            }
        }
        try s.addUnary(Methods.PutRelationship.self) { (request: Coop_V1_PutRelationshipRequest, context) in
            try await write(context, request) { w in
                Coop_V1_Relationship(try await store.putRelationship(request.relationship.model, w))
            }
        }
        try s.requireExactly(Methods.names)
        return s
    }

    // MARK: helpers

    /// Reads that recently took longer than this on average run off the event loops: an Echo (about 15 µs of
    /// server CPU) waits for at most this much work of other clients on its loop, and a short read costs less
    /// inline than the two thread hops (about 10 µs each) of running elsewhere.
    static let inlineReadBudget = Duration.microseconds(50)

    static let searchDefaultLimit = 20
    static let searchMaximumLimit = 200

    /// The size hint of a paged request: its page size as the store resolves it (the default for 0, at most the
    /// maximum), so a request cannot pick a size class of its own that has no cost recorded.
    static func pageSize(_ size: Int32) -> Int {
        size <= 0 ? PageRequest.defaultSize : min(Int(size), PageRequest.maximumSize)
    }

    /// Runs a synchronous read from a task: on the store's read threads when its reads may block, else here.
    private func reading<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        guard let threads = store.readThreads else { return try body() }
        return try await threads.runIfActive(body)
    }

    private func pairSummary(_ request: Coop_V1_GetPairSummaryRequest) throws -> Coop_V1_PairSummary {
        let countries = try store.countries()
        guard let a = countries.first(where: { $0.code == request.countryA }) else {
            throw RPCError(.invalidArgument, "country_a: unknown country code \"\(request.countryA)\"")
        }
        guard let b = countries.first(where: { $0.code == request.countryB }) else {
            throw RPCError(.invalidArgument, "country_b: unknown country code \"\(request.countryB)\"")
        }
        var reply = Coop_V1_PairSummary()
        reply.countryA = Coop_V1_Country(a)
        reply.countryB = Coop_V1_Country(b)
        if let relationship = try store.relationship(a.code, b.code) {
            reply.relationship = Coop_V1_Relationship(relationship)
        }
        // The latest figure of each indicator measured between the two, either direction.
        let indicators = Dictionary(try store.indicators().map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
        var latest: [String: Observation] = [:]
        for (origin, destination) in [(a.code, b.code), (b.code, a.code)] {
            var query = ObservationQuery()
            query.origin = origin
            query.destination = destination
            query.includeClaims = request.includeClaims
            query.page = PageRequest(size: 1000)
            while true {
                let page = try store.observations(query)
                for o in page.items {
                    let key = "\(o.indicator)|\(o.origin)|\(o.destination)"
                    if let current = latest[key], (current.periodEnd, current.vintage) >= (o.periodEnd, o.vintage) {
                        continue
                    }
                    latest[key] = o
                }
                if page.nextToken.isEmpty { break }
                query.page.token = page.nextToken
            }
        }
        let claims = latest.values.filter { indicators[$0.indicator]?.measure == .claim }.map(\.id)
        let claimStatements = Dictionary(
            try store.statements(claiming: claims).map { ($0.claimObservationID, $0) }, uniquingKeysWith: { a, _ in a })
        reply.indicators = latest.keys.sorted().compactMap { key in
            guard let o = latest[key], let indicator = indicators[o.indicator] else { return nil }
            return .with {
                $0.indicator = Coop_V1_Indicator(indicator)
                $0.latest = Coop_V1_Observation(o)
                if let statement = claimStatements[o.id] { $0.statement = Coop_V1_Statement(statement) }
            }
        }
        var events: [Event] = []
        var query = EventQuery()
        query.country = a.code
        query.counterpart = b.code
        query.page = PageRequest(size: 1000)
        while true {
            let page = try store.events(query)
            events += page.items
            if page.nextToken.isEmpty { break }
            query.page.token = page.nextToken
        }
        let today = Self.today()
        func date(_ e: Event) -> String { e.actualDate.isEmpty ? e.plannedDate : e.actualDate }
        reply.recentEvents = events.filter { $0.status == .held || (!$0.actualDate.isEmpty && $0.actualDate <= today) }
            .sorted { date($0) > date($1) }.prefix(10).map(Coop_V1_Event.init)
        reply.upcomingEvents = events.filter {
            ($0.status == .announced || $0.status == .postponed) && $0.actualDate.isEmpty
        }.sorted { date($0) < date($1) }.map(Coop_V1_Event.init)
        return reply
    }

    private func sources(for observations: [Observation]) throws -> [Coop_V1_Source] {
        try sources(ids: observations.map(\.sourceID))
    }

    /// The sources of these ids (each once, by id; 0 is none).
    private func sources(ids all: [Int64]) throws -> [Coop_V1_Source] {
        let ids = Array(Set(all.filter { $0 > 0 })).sorted()
        guard !ids.isEmpty else { return [] }
        return try store.sources(ids: ids).map(Coop_V1_Source.init)
    }

    /// Sends the change log from the requested sequence, then every new change as it commits.
    private func watchChanges(
        _ request: Coop_V1_WatchChangesRequest, _ stream: TypedServerStream<Coop_V1_Change>
    ) async throws {
        guard request.fromSequence >= 0 else {
            throw RPCError(.invalidArgument, "from_sequence: must not be negative")
        }
        // Subscribe before reading, so nothing committed in between is missed.
        let updates = store.sequenceUpdates()
        let store = self.store
        var cursor = request.fromSequence == 0
            ? try await reading { try store.latestSequence() } : request.fromSequence - 1
        var iterator = updates.makeAsyncIterator()
        while !Task.isCancelled {
            let after = cursor
            let batch = try await reading { try store.changes(after: after, limit: 500) }
            for change in batch {
                try await stream.send(Coop_V1_Change(change))
                cursor = change.sequence
            }
            if batch.count == 500 { continue }
            // Caught up: wait for the next commit.
            guard let latest = await iterator.next() else { return }
            if latest <= cursor { continue }
        }
    }

    private func write<Request: WriteRequest, Reply: Sendable>(
        _ context: CallContext, _ request: Request, _ body: (WriteContext) async throws -> Reply
    ) async throws -> Reply {
        do {
            try policy.value.authorize(context.peer)
        } catch {
            logUnwritten(refusedWrites, .warning, "write refused: the peer is not a writer", context,
                         ["pid": "\(context.peer.pid)", "status": "PERMISSION_DENIED"], countedAs: "refused")
            throw error
        }
        let requestID = request.requestID
        guard !requestID.isEmpty else {
            throw RPCError(.invalidArgument, "request_id: required, so that a retried write is applied once")
        }
        guard requestID.utf8.count <= 128 else {
            throw RPCError(.invalidArgument, "request_id: at most 128 bytes")
        }
        let write = WriteContext(requestID: requestID, writerUID: context.peer.uid, requestDigest: try request.digest())
        do {
            return try await mapped { try await body(write) }
        } catch let error as RPCError where error.code == .unavailable {
            // A full disk or a database that cannot be written: the operator needs to hear of it.
            logUnwritten(failedWrites, .error, "write failed: \(error.message)", context,
                         ["request_id": "\(requestID)", "pid": "\(context.peer.pid)", "status": "UNAVAILABLE"],
                         countedAs: "failed")
            throw error
        }
    }

    /// Logs a write that did not happen, with the method and the caller's uid, at most once per interval of `log`
    /// (with how many since the last line, under `countedAs`).
    private func logUnwritten(
        _ log: RateLimitedLog, _ level: Logger.Level, _ message: String, _ context: CallContext,
        _ metadata: Logger.Metadata, countedAs countKey: String
    ) {
        log.record { count in
            var all = metadata
            all["method"] = "\(context.service)/\(context.method)"
            all["uid"] = "\(context.peer.uid)"
            all[countKey] = "\(count)"
            logger.log(level: level, "\(message)", metadata: all)
        }
    }

    /// Translates store errors into statuses (once, here); anything else unexpected is INTERNAL.
    private func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as StoreError {
            throw status(error)
        }
    }

    private func mapped<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as StoreError {
            throw status(error)
        }
    }

    private func status(_ error: StoreError) -> RPCError {
        switch error.code {
        case .invalidArgument: return RPCError(.invalidArgument, error.description)
        case .notFound: return RPCError(.notFound, error.description)
        case .alreadyExists: return RPCError(.alreadyExists, error.description)
        case .failedPrecondition: return RPCError(.failedPrecondition, error.description)
        case .unavailable: return RPCError(.unavailable, error.description)
        default:
            logger.error("store failure", metadata: ["error": "\(error)"])
            return RPCError(.internalError, "internal error")
        }
    }

    private static func today() -> String {
        UTCTime.date(nanos: UTCTime.nowNanos())
    }
}

/// A write request: it carries the client's `request_id`, and its digest is stored with that id.
protocol WriteRequest: SwiftProtobuf.Message {
    var requestID: String { get }
}

extension WriteRequest {
    /// SHA-256 of the request in protobuf's deterministic encoding: a retry re-encoded by any client has the same.
    func digest() throws -> String {
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        let bytes: [UInt8] = try serializedBytes(options: options)
        return SHA256.hex(bytes)
    }
}

extension Coop_V1_PutSourceRequest: WriteRequest {}
extension Coop_V1_PutIndicatorRequest: WriteRequest {}
extension Coop_V1_AddObservationsRequest: WriteRequest {}
extension Coop_V1_ReviseObservationRequest: WriteRequest {}
extension Coop_V1_RetractObservationRequest: WriteRequest {}
extension Coop_V1_PutEventRequest: WriteRequest {}
extension Coop_V1_PutAgreementRequest: WriteRequest {}
extension Coop_V1_AddStatementRequest: WriteRequest {}
extension Coop_V1_LinkConflictRequest: WriteRequest {}
extension Coop_V1_PutRelationshipRequest: WriteRequest {}

/// Reads of a store whose reads wait on a database server: on the caller's event loop where the store can run
/// them there without blocking it (`CooperationStore.readOnEventLoop`), else on its read threads. Bounded as
/// ``LongWorkQueue`` is: past `maximumWaiting` reads in progress, calls are refused rather than queued.
final class StoreReadQueue: WorkQueue {
    let store: any CooperationStore
    let threads: LongWorkQueue
    let maximumWaiting: Int
    private let waiting = ManagedAtomic(0)

    init(store: any CooperationStore, threads: NIOThreadPool, maximumWaiting: Int = 1024) {
        self.store = store
        self.threads = LongWorkQueue(threads: threads, maximumWaiting: maximumWaiting)
        self.maximumWaiting = maximumWaiting
    }

    func submit(
        on eventLoop: any EventLoop, abandoned: ManagedAtomic<Bool>, _ work: @escaping @Sendable () throws -> ByteBuffer
    ) -> EventLoopFuture<ByteBuffer> {
        guard !abandoned.load(ordering: .relaxed) else { return eventLoop.makeFailedFuture(CancellationError()) }
        guard waiting.wrappingIncrementThenLoad(ordering: .relaxed) <= maximumWaiting else {
            waiting.wrappingDecrement(ordering: .relaxed)
            return eventLoop.makeFailedFuture(
                RPCError(.resourceExhausted, "too many reads waiting (\(maximumWaiting)); retry later"))
        }
        guard let answer = store.readOnEventLoop(eventLoop, abandoned: { abandoned.load(ordering: .relaxed) }, work) else {
            waiting.wrappingDecrement(ordering: .relaxed)
            return threads.submit(on: eventLoop, abandoned: abandoned, work)
        }
        answer.whenComplete { [waiting] _ in waiting.wrappingDecrement(ordering: .relaxed) }
        return answer
    }
}
