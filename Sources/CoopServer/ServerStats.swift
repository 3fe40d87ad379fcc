import Atomics
import CoopWire
import NIOCore
import Synchronization

/// Counters of a running server, safe to read from any thread.
///
/// Counted on the request path with relaxed atomics only: no lock, no allocation, no name built per call. Each
/// registered method has a fixed row (``Router/methods`` gives the index): its finished calls by status code,
/// the calls running now, and a histogram of call durations with fixed buckets. Readers add them up.
public final class ServerStats: @unchecked Sendable {
    // @unchecked: `table` is touched only through atomic operations (UnsafeAtomic), and freed in deinit.

    /// Why a connection was closed at once instead of being served.
    public enum Refusal: Int, Sendable, CaseIterable {
        /// `ServerLimits.maxConnections` connections were open.
        case maxConnections = 0
        /// The peer's uid held its `ServerLimits.maxConnectionsPerUID` share.
        case maxConnectionsPerUID = 1
    }

    /// Upper bounds of the call-duration buckets, in nanoseconds (10 µs to 10 s); one more bucket holds the rest.
    public static let durationBucketBounds: [Int64] = [
        10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
        1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000, 100_000_000, 250_000_000, 500_000_000,
        1_000_000_000, 2_500_000_000, 5_000_000_000, 10_000_000_000,
    ]

    /// The methods counted, in router index order.
    public let methods: [MethodName]

    private let _connectionsAccepted = Atomic<UInt64>(0)
    private let _connectionsOpen = Atomic<Int>(0)
    private let _refusedForLimit = Atomic<UInt64>(0)
    private let _refusedForUID = Atomic<UInt64>(0)
    private let _bytesReceived = Atomic<UInt64>(0)
    private let _bytesSent = Atomic<UInt64>(0)

    // One row of UInt64 per method, and a last row for requests answered without becoming a call:
    //   [0, 17)                 finished calls by status code (codes past 16 count as UNKNOWN)
    //   17                      calls running now (two's complement, so that a stray decrement cannot trap)
    //   [18, 18 + buckets + 1)  finished calls by duration bucket, the last one past every bound
    //   18 + buckets + 1        sum of the durations, in nanoseconds
    // Rows are a whole number of 64-byte lines apart, so that two methods never share a cache line.
    private static let codeCount = 17
    private static let inFlightColumn = codeCount
    private static let firstBucketColumn = codeCount + 1
    private static let bucketCount = durationBucketBounds.count + 1
    private static let sumColumn = firstBucketColumn + bucketCount
    private static let rowStride = (sumColumn + 1 + 7) / 8 * 8
    private typealias Cell = UnsafeAtomic<UInt64>.Storage
    private let table: UnsafeMutablePointer<Cell>
    private let cells: Int

    public init(methods: [MethodName]) {
        self.methods = methods
        cells = (methods.count + 1) * Self.rowStride
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: cells * MemoryLayout<Cell>.stride, alignment: 64)
        table = raw.bindMemory(to: Cell.self, capacity: cells)
        table.initialize(repeating: Cell(0), count: cells)
    }

    deinit {
        table.deinitialize(count: cells)
        UnsafeMutableRawPointer(table).deallocate()
    }

    @inline(__always)
    private func cell(_ row: Int, _ column: Int) -> UnsafeAtomic<UInt64> {
        UnsafeAtomic(at: table + (row * Self.rowStride + column))
    }

    @inline(__always)
    private func load(_ row: Int, _ column: Int) -> UInt64 {
        cell(row, column).load(ordering: .relaxed)
    }

    @inline(__always)
    private static func column(of code: StatusCode) -> Int {
        (0..<Int32(codeCount)).contains(code.rawValue) ? Int(code.rawValue) : Int(StatusCode.unknown.rawValue)
    }

    // MARK: counting (the request path)

    /// Counts a new connection; false when it would exceed `limit` (the connection is not counted).
    func connectionOpened(limit: Int) -> Bool {
        let open = _connectionsOpen.add(1, ordering: .relaxed).newValue
        if open > limit {
            _connectionsOpen.subtract(1, ordering: .relaxed)
            return false
        }
        _connectionsAccepted.add(1, ordering: .relaxed)
        return true
    }

    func connectionClosed() { _connectionsOpen.subtract(1, ordering: .relaxed) }

    func connectionRefused(_ reason: Refusal) {
        switch reason {
        case .maxConnections: _refusedForLimit.add(1, ordering: .relaxed)
        case .maxConnectionsPerUID: _refusedForUID.add(1, ordering: .relaxed)
        }
    }

    func received(_ bytes: Int) { _bytesReceived.add(UInt64(bytes), ordering: .relaxed) }

    func sent(_ bytes: Int) { _bytesSent.add(UInt64(bytes), ordering: .relaxed) }

    /// A call of the method at `method` (its router index) started.
    func callStarted(method: Int) {
        cell(method, Self.inFlightColumn).wrappingIncrement(ordering: .relaxed)
    }

    /// A call that started at `start` ended with `code` at `now` (on the clock `start` was read from).
    func callEnded(method: Int, code: StatusCode, since start: NIODeadline, now: NIODeadline) {
        let nanoseconds = max(0, (now - start).nanoseconds)
        var bucket = 0
        for bound in Self.durationBucketBounds {
            if nanoseconds <= bound { break }
            bucket += 1
        }
        cell(method, Self.column(of: code)).wrappingIncrement(ordering: .relaxed)
        cell(method, Self.firstBucketColumn + bucket).wrappingIncrement(ordering: .relaxed)
        cell(method, Self.sumColumn).wrappingIncrement(by: UInt64(nanoseconds), ordering: .relaxed)
        cell(method, Self.inFlightColumn).wrappingDecrement(ordering: .relaxed)
    }

    /// A request answered with an error without becoming a call (bad frame or envelope, stream id, limit,
    /// unknown service or method, shutting down).
    func requestRejected(_ code: StatusCode) {
        cell(methods.count, Self.column(of: code)).wrappingIncrement(ordering: .relaxed)
    }

    // MARK: reading

    public var connectionsAccepted: UInt64 { _connectionsAccepted.load(ordering: .relaxed) }
    public var connectionsOpen: Int { _connectionsOpen.load(ordering: .relaxed) }

    /// Calls started since start: those finished, and those running.
    public var callsTotal: UInt64 {
        var total: UInt64 = 0
        for row in methods.indices {
            for code in 0..<Self.codeCount { total &+= load(row, code) }
        }
        return total &+ UInt64(max(0, callsInFlight))
    }

    public var callsInFlight: Int {
        methods.indices.reduce(0) { $0 + inFlight(row: $1) }
    }

    private func inFlight(row: Int) -> Int {
        Int(Int64(bitPattern: load(row, Self.inFlightColumn)))
    }

    /// Calls that ended with a non-OK status and requests answered with an error without becoming a call, by code.
    public var errors: [StatusCode: UInt64] {
        var errors: [StatusCode: UInt64] = [:]
        for row in 0...methods.count {
            for column in 1..<Self.codeCount {
                let count = load(row, column)
                if count > 0 { errors[StatusCode(rawValue: Int32(column)), default: 0] += count }
            }
        }
        return errors
    }

    /// One method's counters at one moment.
    public struct MethodSnapshot: Sendable, Equatable {
        public var name: MethodName
        /// Finished calls by status code (index = code).
        public var calls: [UInt64]
        public var inFlight: Int
        /// Finished calls by duration: `durationBuckets[i]` took at most `durationBucketBounds[i]` and more than
        /// the bound before (not cumulative); the last entry counts those past every bound.
        public var durationBuckets: [UInt64]
        public var durationSumNanoseconds: UInt64

        /// Calls that ended with `code`.
        public func calls(_ code: StatusCode) -> UInt64 {
            (0..<Int32(calls.count)).contains(code.rawValue) ? calls[Int(code.rawValue)] : 0
        }
    }

    /// Every counter at one moment (each read on its own: counts of calls finishing meanwhile may be off by one).
    public struct Snapshot: Sendable, Equatable {
        public var methods: [MethodSnapshot]
        /// Requests answered with an error without becoming a call, by status code (index = code).
        public var rejected: [UInt64]
        public var connectionsAccepted: UInt64
        public var connectionsOpen: Int
        /// Connections closed at once, by reason (index = ``Refusal`` raw value).
        public var connectionsRefused: [UInt64]
        public var bytesReceived: UInt64
        public var bytesSent: UInt64
    }

    public func snapshot() -> Snapshot {
        let rows = methods.indices.map { row in
            MethodSnapshot(
                name: methods[row],
                calls: (0..<Self.codeCount).map { load(row, $0) },
                inFlight: inFlight(row: row),
                durationBuckets: (0..<Self.bucketCount).map { load(row, Self.firstBucketColumn + $0) },
                durationSumNanoseconds: load(row, Self.sumColumn))
        }
        return Snapshot(
            methods: rows,
            rejected: (0..<Self.codeCount).map { load(methods.count, $0) },
            connectionsAccepted: connectionsAccepted,
            connectionsOpen: connectionsOpen,
            connectionsRefused: [_refusedForLimit.load(ordering: .relaxed), _refusedForUID.load(ordering: .relaxed)],
            bytesReceived: _bytesReceived.load(ordering: .relaxed),
            bytesSent: _bytesSent.load(ordering: .relaxed))
    }
}
