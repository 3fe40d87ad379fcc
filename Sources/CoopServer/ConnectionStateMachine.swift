import CoopWire
import NIOCore

/// Every decision one connection makes, as a value: the connection handler reports what happened (a request, a
/// call's end, a timer, the channel's writability, a drain) and performs what comes back. No I/O, no clock and no
/// tasks here, so each transition is tested as plain values (ConnectionStateMachineTests).
///
/// The handler keeps beside it only what cannot be a value: the channel, the buffers, each running call's task
/// and deadline timer. A call is in `calls` from `callStarted` until one of `callEnded`, `drain` or `channelClosed`
/// takes it out, and only the one that takes it out answers it: so a deadline after the result, or a result after
/// the deadline, is dropped.
struct ConnectionStateMachine {
    enum CallKind: Equatable {
        case unary
        case streaming
    }

    /// Why a connection is closed on a timer.
    enum CloseReason: Equatable {
        /// The client has not taken its answers past `outputStallTimeout`.
        case outputStalled
        /// A frame began and did not finish within `partialFrameTimeout`.
        case partialFrame
        /// No call running and no bytes arriving for `idleTimeout`.
        case idle
    }

    /// What to do with a request frame before its envelope is decoded.
    enum Admission: Equatable {
        case admit
        case refuse(RPCError)
    }

    /// What to do when a call ends (its result, its stream's end, its deadline or its stall).
    enum CallEnd: Equatable {
        /// The call was already answered (deadline, drain) or the connection closed: drop this outcome.
        case drop
        /// Answer it; then, when draining and it was the last, close once the answers are written.
        case answer(closeAfterFlush: Bool)
    }

    /// What to do when the channel's writability changes.
    struct WritabilityActions: Equatable {
        /// Succeed the stream producers waiting for the client to read.
        var wakeWaiters = false
        /// Decode the requests that waited while the client was not reading.
        var resumeInput = false
    }

    /// What to do when asked to drain.
    struct DrainActions: Equatable {
        /// Streams to end now with UNAVAILABLE (unary calls finish first).
        var endStreams: [UInt32] = []
        var closeAfterFlush = false
    }

    let maxConcurrentCalls: Int
    let idleTimeout: TimeAmount?
    let partialFrameTimeout: TimeAmount
    let outputStallTimeout: TimeAmount

    private(set) var calls: [UInt32: CallKind] = [:]
    private var streamIDs = StreamIDValidator()
    private(set) var draining = false
    /// Requests already read wait undecoded until the client takes its answers.
    private(set) var inputPaused = false
    /// The channel asked for a read while reading was held back.
    private var readPending = false
    private var stalledSince: NIODeadline?
    private var lastActivity: NIODeadline
    private var partialFrameSince: NIODeadline?
    private var closeRequested = false
    private(set) var closed = false

    init(limits: ServerLimits, now: NIODeadline) {
        maxConcurrentCalls = limits.maxConcurrentCallsPerConnection
        idleTimeout = limits.idleTimeout
        partialFrameTimeout = limits.partialFrameTimeout
        outputStallTimeout = limits.outputStallTimeout
        lastActivity = now
    }

    // MARK: reading

    /// Bytes arrived. Returns whether to decode them now (false: input is paused, they wait buffered).
    mutating func bytesArrived(now: NIODeadline) -> Bool {
        lastActivity = now
        return !inputPaused
    }

    /// The answers queued for the client reached the limit and the client is not taking them: decode no more.
    mutating func pauseInput() {
        inputPaused = true
    }

    /// After decoding: whether an unfinished frame is left that the client has yet to complete. A frame the
    /// server holds back (input paused) is not the client's partial frame.
    /// (`now` is read only when a partial frame starts: this runs after every read.)
    mutating func decoded(midFrame: Bool, now: @autoclosure () -> NIODeadline) {
        partialFrameSince = !inputPaused && midFrame ? (partialFrameSince ?? now()) : nil
    }

    /// The channel asks to read. Returns whether to read now; otherwise the read waits for the client to take
    /// its answers.
    mutating func readRequested(writable: Bool) -> Bool {
        if writable && !inputPaused { return true }
        readPending = true
        return false
    }

    mutating func writabilityChanged(writable: Bool, now: NIODeadline) -> WritabilityActions {
        guard writable else {
            if stalledSince == nil { stalledSince = now }
            return WritabilityActions()
        }
        stalledSince = nil
        var actions = WritabilityActions(wakeWaiters: true)
        if inputPaused && !draining {
            inputPaused = false
            actions.resumeInput = true
        }
        return actions
    }

    /// After the waiting requests were decoded (which may have paused input again): whether to read now.
    mutating func pendingReadMayProceed(writable: Bool) -> Bool {
        guard readPending, !inputPaused, writable else { return false }
        readPending = false
        return true
    }

    // MARK: calls

    /// A request frame arrived on `streamID`.
    mutating func requestArrived(streamID: UInt32, serverDraining: Bool) -> Admission {
        if let error = streamIDs.open(streamID) { return .refuse(error) }
        if draining || serverDraining { return .refuse(RPCError(.unavailable, "server is shutting down")) }
        guard calls.count < maxConcurrentCalls else {
            return .refuse(RPCError(.resourceExhausted,
                "too many calls in flight on this connection (limit \(maxConcurrentCalls))"))
        }
        return .admit
    }

    /// A data frame arrived: coopd has no client-streaming methods, so data on a running call is dropped and
    /// data on any other stream is answered with the protocol error returned.
    func dataArrived(streamID: UInt32) -> RPCError? {
        calls[streamID] == nil ? StreamIDValidator.inactiveStream : nil
    }

    /// An admitted request became a call that runs beyond this event (a task, or work on other threads). Calls
    /// answered inline never register.
    mutating func callStarted(streamID: UInt32, kind: CallKind) {
        calls[streamID] = kind
    }

    /// A call ended: its result or its stream's end arrived, its deadline passed, or its stream stalled.
    mutating func callEnded(streamID: UInt32) -> CallEnd {
        guard calls.removeValue(forKey: streamID) != nil else { return .drop }
        return .answer(closeAfterFlush: closeIfDrained())
    }

    /// Whether a stream may still send (it is running and the connection open).
    func streamIsOpen(_ streamID: UInt32) -> Bool {
        !closed && calls[streamID] != nil
    }

    // MARK: timers, drain and close

    /// The housekeeping timer fired: the reason to close the connection, if any.
    func timerFired(now: NIODeadline) -> CloseReason? {
        if let since = stalledSince, now - since > outputStallTimeout { return .outputStalled }
        if let since = partialFrameSince, now - since > partialFrameTimeout { return .partialFrame }
        if let idle = idleTimeout, calls.isEmpty, now - lastActivity > idle { return .idle }
        return nil
    }

    /// The server is shutting down: no new calls, streams end now, unary calls finish; requests still waiting
    /// undecoded (input paused) were never started, so they stay so and end with the connection.
    mutating func drain() -> DrainActions {
        draining = true
        var actions = DrainActions()
        for (id, kind) in calls where kind == .streaming {
            calls[id] = nil
            actions.endStreams.append(id)
        }
        actions.endStreams.sort()
        actions.closeAfterFlush = closeIfDrained()
        return actions
    }

    /// The channel closed: the calls still running, to cancel.
    mutating func channelClosed() -> [UInt32] {
        closed = true
        let running = calls.keys.sorted()
        calls.removeAll()
        return running
    }

    /// True once, when draining has left no call running and the connection is open.
    private mutating func closeIfDrained() -> Bool {
        guard draining, calls.isEmpty, !closed, !closeRequested else { return false }
        closeRequested = true
        return true
    }
}
