import CoopWire
import Synchronization

/// Counters of a running server, safe to read from any thread.
public final class ServerStats: Sendable {
    private let _connectionsAccepted = Atomic<UInt64>(0)
    private let _connectionsOpen = Atomic<Int>(0)
    private let _callsTotal = Atomic<UInt64>(0)
    private let _callsInFlight = Atomic<Int>(0)
    private let _errors = Mutex<[StatusCode: UInt64]>([:])

    public init() {}

    public var connectionsAccepted: UInt64 { _connectionsAccepted.load(ordering: .relaxed) }
    public var connectionsOpen: Int { _connectionsOpen.load(ordering: .relaxed) }
    public var callsTotal: UInt64 { _callsTotal.load(ordering: .relaxed) }
    public var callsInFlight: Int { _callsInFlight.load(ordering: .relaxed) }
    /// Calls that ended with a non-OK status, by code.
    public var errors: [StatusCode: UInt64] { _errors.withLock { $0 } }

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

    func callStarted() {
        _callsTotal.add(1, ordering: .relaxed)
        _callsInFlight.add(1, ordering: .relaxed)
    }

    func callEnded(_ code: StatusCode) {
        _callsInFlight.subtract(1, ordering: .relaxed)
        if code != .ok { recordError(code) }
    }

    /// An error answered without a call running (bad frame, bad stream id, limit).
    func recordError(_ code: StatusCode) {
        _errors.withLock { $0[code, default: 0] += 1 }
    }
}
