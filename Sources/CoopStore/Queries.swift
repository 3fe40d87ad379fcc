import NIOCore
import NIOPosix

/// One page of a listing. `nextToken` is empty on the last page; passing it back continues
/// exactly after the last item, even if rows were added meanwhile (keyset paging, no offsets).
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextToken: String
    public init(items: [Item], nextToken: String) {
        self.items = items
        self.nextToken = nextToken
    }
}

/// Paging input: size 0 means the default.
public struct PageRequest: Sendable, Hashable {
    public var size: Int
    public var token: String
    public init(size: Int = 0, token: String = "") {
        self.size = size
        self.token = token
    }
}

public struct ObservationQuery: Sendable, Hashable {
    public var origin: String = ""
    public var destination: String = ""
    public var indicators: [String] = []
    /// Periods ending on or after this date.
    public var periodFrom: String = ""
    /// Periods starting on or before this date.
    public var periodTo: String = ""
    /// Exact breakdown to match; empty with `anyBreakdown` false means totals only.
    public var breakdown: [Dimension] = []
    public var anyBreakdown: Bool = false
    /// As known on this date: vintage on or before it, and not superseded by a vintage on or before it.
    public var asOf: String = ""
    public var includeSuperseded: Bool = false
    public var includeConflicts: Bool = false
    public var includeRetracted: Bool = false
    /// Also figures stated in statements (indicators of measure claim). Without it, and without `indicators`,
    /// listings are statistics only, so a claim is never read as a statistic unawares.
    public var includeClaims: Bool = false
    public var page = PageRequest()
    public init() {}
}

public struct SeriesQuery: Sendable, Hashable {
    public var indicator: String
    public var origin: String
    public var destination: String
    public var breakdown: [Dimension] = []
    public var periodFrom: String = ""
    public var periodTo: String = ""
    public var asOf: String = ""
    public init(indicator: String, origin: String, destination: String) {
        self.indicator = indicator
        self.origin = origin
        self.destination = destination
    }
}

public struct EventQuery: Sendable, Hashable {
    public var country: String = ""
    public var counterpart: String = ""
    public var from: String = ""
    public var to: String = ""
    public var kind: EventKind? = nil
    public var status: EventStatus? = nil
    public var participant: String = ""
    public var page = PageRequest()
    public init() {}
}

public struct AgreementQuery: Sendable, Hashable {
    public var country: String = ""
    public var counterpart: String = ""
    public var from: String = ""
    public var to: String = ""
    public var kind: AgreementKind? = nil
    public var topic: String = ""
    public var page = PageRequest()
    public init() {}
}

public struct StatementQuery: Sendable, Hashable {
    public var country: String = ""
    public var speaker: String = ""
    public var eventID: Int64 = 0
    public var from: String = ""
    public var to: String = ""
    public var page = PageRequest()
    public init() {}
}

/// Who writes, and the client's id for the request (a retry with the same id is applied once).
public struct WriteContext: Sendable, Hashable {
    public var requestID: String
    public var writerUID: UInt32
    /// A digest of the whole request, stored with its id: the same id sent again with another body is
    /// refused (FAILED_PRECONDITION on `request_id`) instead of answered with the first result. Empty: not checked.
    public var requestDigest: String
    public init(requestID: String, writerUID: UInt32, requestDigest: String = "") {
        self.requestID = requestID
        self.writerUID = writerUID
        self.requestDigest = requestDigest
    }
}

/// Why a store operation failed, in terms a caller can act on. Backends translate their own
/// errors into these; nothing backend-specific (SQL, file paths) is in the message.
public struct StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable {
        let raw: Int
        public static let invalidArgument = Code(raw: 1)
        public static let notFound = Code(raw: 2)
        public static let alreadyExists = Code(raw: 3)
        public static let failedPrecondition = Code(raw: 4)
        public static let unavailable = Code(raw: 5)
        public static let internalError = Code(raw: 6)
    }

    public var code: Code
    /// The request field at fault, e.g. "observations[3].origin"; empty if none.
    public var field: String
    public var message: String

    public init(_ code: Code, field: String = "", _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    public static func invalid(_ field: String, _ message: String) -> StoreError {
        StoreError(.invalidArgument, field: field, message)
    }

    public var description: String { field.isEmpty ? message : "\(field): \(message)" }
}

/// The cooperation data store. A second backend (PostgreSQL) implements the same protocol.
///
/// Every write validates its input (field by field, naming the field), runs in one transaction,
/// appends to the change log, and returns only after it is durable. A write whose
/// `WriteContext.requestID` was already applied returns the first result and changes nothing.
///
/// Reads are synchronous and run on the caller's thread: every read is bounded (a page of at most
/// 1,000 rows, index-driven) and an embedded database answers one in tens of microseconds,
/// less than handing it to another thread and back costs. The daemon runs them on the event loop that
/// received the request. A networked backend would serve them from its own connection per calling thread.
public protocol CooperationStore: Sendable {
    // Reads
    func countries() throws -> [Country]
    func relationship(_ countryA: String, _ countryB: String) throws -> Relationship?
    /// Every relationship, ordered by pair (lower country code first).
    func relationships() throws -> [Relationship]
    func indicators() throws -> [Indicator]
    func observations(_ query: ObservationQuery) throws -> Page<Observation>
    /// The same page, each row handed to `visit` where it lies, in order; returns the next page token and, if
    /// `claims`, the statements whose claims are on the page (``statements(claiming:)``), read with the page.
    func observationRows(
        _ query: ObservationQuery, claims: Bool, _ visit: (ObservationRow) throws -> Void
    ) throws -> (nextPageToken: String, claims: [Statement])
    /// One observation per period (the latest vintage, as of `asOf` if given), ordered by period.
    func series(_ query: SeriesQuery) throws -> [Observation]
    func sources(ids: [Int64]) throws -> [Source]
    func sources(page: PageRequest) throws -> Page<Source>
    func events(_ query: EventQuery) throws -> Page<Event>
    func agreements(_ query: AgreementQuery) throws -> Page<Agreement>
    func statements(_ query: StatementQuery) throws -> Page<Statement>
    /// The statements whose claims are these observations (who stated them).
    func statements(claiming observationIDs: [Int64]) throws -> [Statement]
    /// Full-text search over event summaries and titles, agreement titles, statements and source titles;
    /// case and diacritics are ignored ("Dao Ngoc Dung" finds "Đào Ngọc Dung").
    func search(_ text: String, limit: Int) throws -> [SearchHit]
    /// Changes with sequence > `after`, oldest first, at most `limit`.
    func changes(after sequence: Int64, limit: Int) throws -> [Change]
    /// The highest sequence in the change log (0 if empty).
    func latestSequence() throws -> Int64
    /// A number that changes (grows) with every committed write, before that write is acknowledged: an answer
    /// read while it had one value stays right until it moves, so callers may cache answers under it. A value
    /// with the top bit set means "not known now" (the database cannot be read): never cache under it.
    var dataVersion: UInt64 { get }
    /// ``dataVersion`` where it is known here without waiting for a database server, else nil: a store whose
    /// version read waits (see ``readThreads``) answers cached reads inline only with it.
    var dataVersionWithoutWaiting: UInt64? { get }
    /// Yields the latest sequence after each committed write, for live change feeds.
    func sequenceUpdates() -> AsyncStream<Int64>

    // Writes
    func putSource(_ source: Source, _ context: WriteContext) async throws -> Source
    func putIndicator(_ indicator: Indicator, _ context: WriteContext) async throws -> Indicator
    /// All stored, or none.
    func addObservations(_ observations: [Observation], _ context: WriteContext) async throws -> [Observation]
    func reviseObservation(supersedes id: Int64, revision: Observation, _ context: WriteContext) async throws
        -> Observation
    func retractObservation(_ id: Int64, reason: String, _ context: WriteContext) async throws -> Observation
    func putEvent(_ event: Event, _ context: WriteContext) async throws -> Event
    func putAgreement(_ agreement: Agreement, _ context: WriteContext) async throws -> Agreement
    /// Stores the statement and, if given, its claim (as an observation of a claim indicator).
    func addStatement(_ statement: Statement, claim: Observation?, _ context: WriteContext) async throws -> Statement
    /// Records that two observations disagree (symmetric); returns the first, with its links.
    func linkConflict(_ id: Int64, with other: Int64, note: String, _ context: WriteContext) async throws
        -> Observation
    /// Creates or replaces the relationship of the pair (given in either order).
    func putRelationship(_ relationship: Relationship, _ context: WriteContext) async throws -> Relationship

    /// Succeeds only if the store can serve a read now (for the watchdog).
    func ping() async throws

    /// Where the synchronous reads above must run. nil: they never wait on another machine (an embedded
    /// database), so a caller may run them on an event loop. Otherwise a pool of threads that may block while a
    /// database server answers: never call a read from an event loop then.
    var readThreads: NIOThreadPool? { get }

    /// Runs `work` (reads above, and the encoding of their answer) on `eventLoop` without blocking it, where the
    /// store can: its statements are
    /// sent from the loop and `work` runs again as their answers arrive, so it may run more than once and must
    /// change nothing but what it returns. Called on `eventLoop`; `abandoned` says whether the caller stopped
    /// waiting (no more statements are sent then). nil where the store cannot: run it on ``readThreads`` then.
    func readOnEventLoop(
        _ eventLoop: any EventLoop, abandoned: @escaping @Sendable () -> Bool,
        _ work: @escaping @Sendable () throws -> ByteBuffer
    ) -> EventLoopFuture<ByteBuffer>?
}
