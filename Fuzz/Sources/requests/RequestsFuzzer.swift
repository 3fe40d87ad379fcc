import CoopDaemon
import CoopProto
import CoopStore
import CoopWire
import NIOCore
import SwiftProtobuf

/// Fuzzes what coopd does with a request payload before any store I/O: decoding it as the method's message
/// (as the server does, straight from the frame's buffer), then the checks and conversions that the method's
/// handler and the store apply in front of the database: enums and entities through `model(field:)`,
/// `Validation`, page sizes and tokens, the search expression.
///
/// Input: one byte choosing the request message (index into `requests`, modulo its count), then the payload.
/// Errors (a payload that does not decode, a field that does not validate) are expected; a crash is a finding,
/// as is a failed check below.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequests(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size >= 1 else { return 0 }
    let payload = ByteBuffer(bytes: UnsafeBufferPointer(start: data + 1, count: size - 1))
    let request = requests[Int(data[0]) % requests.count]
    try? request.run(payload)
    return 0
}

/// One request message and what coopd does with it.
struct Request: Sendable {
    let name: String
    let run: @Sendable (ByteBuffer) throws -> Void

    init<M: Message>(_: M.Type, _ check: @escaping @Sendable (M) throws -> Void) {
        name = M.protoMessageName
        run = { payload in
            let message = try M(buffer: payload)
            try checkReencoding(message)
            try check(message)
        }
    }
}

/// Every request message of every method coopd serves (Cooperation, Diagnostics, grpc.health), sorted by full
/// name: a corpus file's first byte is its message's index here (Fuzz/make-corpus.py sorts the same way).
/// Each body follows the method's handler (CooperationService, DiagnosticsService, HealthService) and then the
/// store method's checks (SQLiteStore+Reads, SQLiteStore+Writes), in the same order, up to the first database
/// access.
let requests: [Request] = [
    // MARK: reads
    Request(Coop_V1_ListCountriesRequest.self) { _ in },
    Request(Coop_V1_GetPairSummaryRequest.self) { r in
        try Validation.country(r.countryA, field: "country_a", allowAllPartners: false)
        try Validation.country(r.countryB, field: "country_b", allowAllPartners: false)
    },
    Request(Coop_V1_ListIndicatorsRequest.self) { _ in },
    Request(Coop_V1_ListObservationsRequest.self) { r in
        checkBreakdown(r.breakdown.map { Dimension(key: $0.key, value: $0.value) })
        let page = try PageRequest(size: r.pageSize, token: r.pageToken)
        try Validation.filterCountry(r.origin, field: "origin")
        try Validation.filterCountry(r.destination, field: "destination")
        try Validation.date(r.periodFrom, field: "period_from")
        try Validation.date(r.periodTo, field: "period_to")
        try Validation.date(r.asOf, field: "as_of")
        try checkPage(page, listing: "observations", shape: ObservationTable.tokenShape)
    },
    Request(Coop_V1_GetSeriesRequest.self) { r in
        checkBreakdown(r.breakdown.map { Dimension(key: $0.key, value: $0.value) })
        if r.indicator.isEmpty { return }
        try Validation.country(r.origin, field: "origin")
        try Validation.country(r.destination, field: "destination")
        try Validation.date(r.periodFrom, field: "period_from")
        try Validation.date(r.periodTo, field: "period_to")
        try Validation.date(r.asOf, field: "as_of")
    },
    Request(Coop_V1_ListEventsRequest.self) { r in
        if r.kind != .unspecified { let _: EventKind = try modelEnum(r.kind, field: "kind") }
        if r.status != .unspecified { let _: EventStatus = try modelEnum(r.status, field: "status") }
        let page = try PageRequest(size: r.pageSize, token: r.pageToken)
        try Validation.filterCountry(r.country, field: "country")
        try Validation.filterCountry(r.counterpart, field: "counterpart")
        try Validation.date(r.from, field: "from")
        try Validation.date(r.to, field: "to")
        try checkPage(page, listing: "events", shape: EventTable.tokenShape)
    },
    Request(Coop_V1_ListAgreementsRequest.self) { r in
        if r.kind != .unspecified { let _: AgreementKind = try modelEnum(r.kind, field: "kind") }
        let page = try PageRequest(size: r.pageSize, token: r.pageToken)
        try Validation.filterCountry(r.country, field: "country")
        try Validation.filterCountry(r.counterpart, field: "counterpart")
        try Validation.date(r.from, field: "from")
        try Validation.date(r.to, field: "to")
        try checkPage(page, listing: "agreements", shape: AgreementTable.tokenShape)
    },
    Request(Coop_V1_ListStatementsRequest.self) { r in
        let page = try PageRequest(size: r.pageSize, token: r.pageToken)
        try Validation.filterCountry(r.country, field: "country")
        try Validation.date(r.from, field: "from")
        try Validation.date(r.to, field: "to")
        try Validation.id(r.eventID, field: "event_id")
        try checkPage(page, listing: "statements", shape: StatementTable.tokenShape)
    },
    Request(Coop_V1_ListSourcesRequest.self) { r in
        try checkPage(try PageRequest(size: r.pageSize, token: r.pageToken), listing: "sources", shape: [false])
    },
    Request(Coop_V1_SearchRequest.self) { r in
        guard r.limit >= 0, r.query.utf8.count <= 1000 else { return }
        guard let match = TextFolding.matchExpression(r.query) else { return }
        checkMatchExpression(match)
    },
    Request(Coop_V1_ListRelationshipsRequest.self) { _ in },
    Request(Coop_V1_WatchChangesRequest.self) { _ in },

    // MARK: writes (the writer policy and the request id come first in every one)
    Request(Coop_V1_PutSourceRequest.self) { r in
        try Validation.requestID(r.requestID)
        try Validation.source(try r.source.model(field: "source"), field: "source")
    },
    Request(Coop_V1_PutIndicatorRequest.self) { r in
        try Validation.requestID(r.requestID)
        try Validation.indicator(try r.indicator.model(field: "indicator"), field: "indicator")
    },
    Request(Coop_V1_AddObservationsRequest.self) { r in
        try Validation.requestID(r.requestID)
        let models = try r.observations.enumerated().map { i, o in try o.model(field: "observations[\(i)]") }
        try Validation.observations(models, references: References())
        models.forEach { checkBreakdown($0.breakdown) }
    },
    Request(Coop_V1_ReviseObservationRequest.self) { r in
        try Validation.requestID(r.requestID)
        let revision = try r.revision.model(field: "revision")
        guard r.supersedesID > 0 else { return }
        // The store first fills the fields a revision leaves empty from the stored original; validated as sent here.
        try Validation.observation(revision, field: "revision", references: References())
        checkBreakdown(revision.breakdown)
    },
    Request(Coop_V1_RetractObservationRequest.self) { r in
        try Validation.requestID(r.requestID)
        guard r.observationID > 0 else { return }
        try Validation.required(r.reason, field: "reason")
    },
    Request(Coop_V1_PutEventRequest.self) { r in
        try Validation.requestID(r.requestID)
        try Validation.event(try r.event.model(field: "event"), field: "event", references: References())
    },
    Request(Coop_V1_PutAgreementRequest.self) { r in
        try Validation.requestID(r.requestID)
        try Validation.agreement(
            try r.agreement.model(field: "agreement"), field: "agreement", references: References())
    },
    Request(Coop_V1_AddStatementRequest.self) { r in
        try Validation.requestID(r.requestID)
        let claim = r.hasClaim ? try r.claim.model(field: "claim") : nil
        let statement = r.statement.model
        if let claim {
            guard statement.claimObservationID == 0 else { return }
            try Validation.observation(claim, field: "claim", references: References())
            checkBreakdown(claim.breakdown)
        }
        try Validation.statement(statement, field: "statement", references: References())
    },
    Request(Coop_V1_LinkConflictRequest.self) { r in
        try Validation.requestID(r.requestID)
        guard r.observationID > 0, r.conflictsWithID > 0, r.observationID != r.conflictsWithID else { return }
        try Validation.text(r.note, field: "note")
    },
    Request(Coop_V1_PutRelationshipRequest.self) { r in
        try Validation.requestID(r.requestID)
        try Validation.relationship(r.relationship.model, field: "relationship", references: References())
    },

    // MARK: Diagnostics and health
    Request(Coop_V1_EchoRequest.self) { r in
        _ = try Coop_V1_EchoResponse.with { $0.data = r.data }.serializedBuffer()
    },
    Request(Coop_V1_GetServerInfoRequest.self) { _ in },
    Request(Grpc_Health_V1_HealthCheckRequest.self) { _ in },
].sorted { $0.name < $1.name }

// MARK: checks

/// A decoded request encodes to bytes that decode to a message encoding to the same bytes (unknown fields kept).
func checkReencoding<M: Message>(_ message: M) throws {
    let bytes = try message.serializedBuffer()
    let again = try M(buffer: bytes).serializedBuffer()
    require(bytes == again, "\(M.protoMessageName) does not re-encode to the same bytes")
}

/// The store keeps a breakdown in its canonical text form and reads it back with `Breakdown.parse`: any
/// breakdown a request can carry must come back as it went in.
func checkBreakdown(_ breakdown: [Dimension]) {
    let parsed = Breakdown.parse(Breakdown.canonical(breakdown))
    require(parsed == breakdown.sorted(), "breakdown \(breakdown) reads back as \(parsed)")
}

/// A page request either fails as INVALID_ARGUMENT or gives a usable size and a key of the listing's shape.
func checkPage(_ page: PageRequest, listing: String, shape: [Bool]) throws {
    let size = try page.resolvedSize()
    require((1...1000).contains(size), "page size \(size)")
    guard let key = try PageToken.decode(page.token, listing: listing, shape: shape) else { return }
    require(key.count == shape.count, "page token key of the wrong length")
}

/// The search expression is FTS5 strings ("…", with "" for a quote inside) in the few shapes coopd writes, read
/// scalar by scalar as SQLite reads it: nothing a user types reaches FTS5 as syntax.
func checkMatchExpression(_ match: String) {
    // Every search term is a quoted string (quotes doubled inside, never empty); outside them only the shapes
    // `TextFolding.matchExpression` writes: `("w" OR "w" *)`, `"run" *`, `"pairs of a run"`, joined by ` AND `.
    var skeleton = ""
    var scalars = match.unicodeScalars.makeIterator()
    while let c = scalars.next() {
        guard c == "\"" else {
            skeleton.unicodeScalars.append(c)
            continue
        }
        var length = 0
        while true {
            guard let c = scalars.next() else { fatalError("unterminated search term: \(match)") }
            if c != "\"" {
                length += 1
                continue
            }
            var lookahead = scalars
            guard lookahead.next() == "\"" else { break }
            scalars = lookahead
            length += 1
        }
        require(length > 0, "empty search term: \(match)")
        skeleton += "Q"
    }
    let term = #"(\(Q OR Q \*\)|Q \*|Q)"#
    require(
        skeleton.wholeMatch(of: try! Regex("\(term)( AND \(term))*")) != nil,
        "search expression of another shape: \(match) (\(skeleton))")
}

/// The store's view of existing rows, for the reference checks: ids 1...1000 exist, and every indicator code names
/// a flow indicator in USD with a "sector" and a "mode" dimension, so validation reaches the checks after them.
struct References: ValidationReferences {
    func indicator(_ code: String) throws -> Indicator? {
        Indicator(code: code, name: code, measure: .flow, unit: "USD", breakdownDimensions: ["sector", "mode"])
    }
    func sourceExists(_ id: Int64) throws -> Bool { (1...1000).contains(id) }
    func eventExists(_ id: Int64) throws -> Bool { (1...1000).contains(id) }
    func observationExists(_ id: Int64) throws -> Bool { (1...1000).contains(id) }
    func agreementExists(_ id: Int64) throws -> Bool { (1...1000).contains(id) }
}

/// `precondition` that keeps its message in optimized builds.
func require(_ condition: Bool, _ message: @autoclosure () -> String, line: UInt = #line) {
    if !condition { fatalError(message(), line: line) }
}
