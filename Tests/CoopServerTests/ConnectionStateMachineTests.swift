import CoopWire
import NIOCore
import Testing

@testable import CoopServer

/// `#expect` takes a top-level call apart, which it cannot do to a mutating one: take its value first.
private func taken<T>(_ value: T) -> T { value }

/// The connection's decisions as plain values: every transition, without a channel, a clock or a task.
@Suite struct ConnectionStateMachineTests {
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func machine(_ configure: (inout ServerLimits) -> Void = { _ in }) -> ConnectionStateMachine {
        var limits = ServerLimits()
        limits.maxConcurrentCallsPerConnection = 2
        limits.idleTimeout = .seconds(60)
        limits.partialFrameTimeout = .seconds(10)
        limits.outputStallTimeout = .seconds(30)
        configure(&limits)
        return ConnectionStateMachine(limits: limits, now: t0)
    }

    @Test func requestsAreAdmittedInStreamIDOrderUpToTheCallLimit() {
        var state = Self.machine()
        #expect(taken(state.requestArrived(streamID: 1, serverDraining: false)) == .admit)
        state.callStarted(streamID: 1, kind: .unary)
        #expect(taken(state.requestArrived(streamID: 1, serverDraining: false))
            == .refuse(RPCError(.invalidArgument, "StreamID cannot be re-used and must increment")))
        #expect(taken(state.requestArrived(streamID: 4, serverDraining: false))
            == .refuse(RPCError(.invalidArgument, "StreamID must be odd for client initiated streams")))
        #expect(taken(state.requestArrived(streamID: 3, serverDraining: false)) == .admit)
        state.callStarted(streamID: 3, kind: .streaming)
        guard case .refuse(let error) = state.requestArrived(streamID: 5, serverDraining: false) else {
            Issue.record("a third call past the limit of 2 was admitted")
            return
        }
        #expect(error.code == .resourceExhausted)
        // An inline call never registers, so it never counts against the limit.
        #expect(taken(state.callEnded(streamID: 1)) == .answer(closeAfterFlush: false))
        #expect(taken(state.requestArrived(streamID: 7, serverDraining: false)) == .admit)
        #expect(taken(state.requestArrived(streamID: 9, serverDraining: true))
            == .refuse(RPCError(.unavailable, "server is shutting down")))
    }

    @Test func dataFramesAreDroppedOnARunningCallAndRefusedOnAnyOtherStream() {
        var state = Self.machine()
        _ = state.requestArrived(streamID: 1, serverDraining: false)
        state.callStarted(streamID: 1, kind: .streaming)
        #expect(state.dataArrived(streamID: 1) == nil)
        #expect(state.dataArrived(streamID: 3) == StreamIDValidator.inactiveStream)
    }

    @Test func aDeadlineAfterTheResultAndAResultAfterTheDeadlineAreDropped() {
        var state = Self.machine()
        _ = state.requestArrived(streamID: 1, serverDraining: false)
        state.callStarted(streamID: 1, kind: .unary)
        #expect(taken(state.callEnded(streamID: 1)) == .answer(closeAfterFlush: false))  // the result
        #expect(taken(state.callEnded(streamID: 1)) == .drop)  // its deadline, later
        _ = state.requestArrived(streamID: 3, serverDraining: false)
        state.callStarted(streamID: 3, kind: .unary)
        #expect(taken(state.callEnded(streamID: 3)) == .answer(closeAfterFlush: false))  // the deadline
        #expect(taken(state.callEnded(streamID: 3)) == .drop)  // the result, later
        #expect(state.calls.isEmpty)
    }

    @Test func drainEndsStreamsAtOnceLetsUnaryCallsFinishThenClosesOnce() {
        var state = Self.machine { $0.maxConcurrentCallsPerConnection = 10 }
        for (id, kind) in [(1, ConnectionStateMachine.CallKind.unary), (3, .streaming), (5, .streaming)] {
            _ = state.requestArrived(streamID: UInt32(id), serverDraining: false)
            state.callStarted(streamID: UInt32(id), kind: kind)
        }
        let drain = state.drain()
        #expect(drain == .init(endStreams: [3, 5], closeAfterFlush: false))
        #expect(taken(state.requestArrived(streamID: 7, serverDraining: false))
            == .refuse(RPCError(.unavailable, "server is shutting down")))
        #expect(taken(state.callEnded(streamID: 3)) == .drop)  // a stream's task ending after the drain answered it
        #expect(taken(state.callEnded(streamID: 1)) == .answer(closeAfterFlush: true))
        #expect(taken(state.drain()) == .init(endStreams: [], closeAfterFlush: false))  // asked once
    }

    @Test func drainWithNothingRunningClosesAtOnce() {
        var state = Self.machine()
        #expect(taken(state.drain()) == .init(endStreams: [], closeAfterFlush: true))
    }

    @Test func aClosedConnectionCancelsItsCallsAndNoStreamSendsAfter() {
        var state = Self.machine()
        _ = state.requestArrived(streamID: 1, serverDraining: false)
        state.callStarted(streamID: 1, kind: .unary)
        _ = state.requestArrived(streamID: 3, serverDraining: false)
        state.callStarted(streamID: 3, kind: .streaming)
        #expect(state.streamIsOpen(3))
        #expect(taken(state.channelClosed()) == [1, 3])
        #expect(state.closed && !state.streamIsOpen(3))
        #expect(taken(state.callEnded(streamID: 1)) == .drop)
        #expect(taken(state.drain()) == .init(endStreams: [], closeAfterFlush: false))
    }

    @Test func aClientThatStopsReadingPausesInputAndIsClosedPastTheStallTimeout() {
        var state = Self.machine()
        // Answers pile up: the handler pauses input; bytes that arrive wait, reads wait.
        state.pauseInput()
        #expect(!taken(state.bytesArrived(now: Self.t0)))
        #expect(!taken(state.readRequested(writable: true)))
        #expect(taken(state.writabilityChanged(writable: false, now: Self.t0)) == .init())
        #expect(taken(state.timerFired(now: Self.t0 + .seconds(29))) == nil)
        #expect(taken(state.timerFired(now: Self.t0 + .seconds(31))) == .outputStalled)
        // It reads again in time: waiters wake, input resumes, the pending read goes ahead.
        #expect(taken(state.writabilityChanged(writable: true, now: Self.t0 + .seconds(20)))
            == .init(wakeWaiters: true, resumeInput: true))
        #expect(!state.inputPaused)
        #expect(taken(state.pendingReadMayProceed(writable: true)))
        #expect(!taken(state.pendingReadMayProceed(writable: true)))  // once
        #expect(taken(state.timerFired(now: Self.t0 + .seconds(40))) == nil)
    }

    @Test func aStreamStallingIsOneCallEndingWhileTheConnectionCarriesOn() {
        var state = Self.machine()
        _ = state.requestArrived(streamID: 1, serverDraining: false)
        state.callStarted(streamID: 1, kind: .streaming)
        _ = state.requestArrived(streamID: 3, serverDraining: false)
        state.callStarted(streamID: 3, kind: .unary)
        _ = state.writabilityChanged(writable: false, now: Self.t0)
        #expect(taken(state.callEnded(streamID: 1)) == .answer(closeAfterFlush: false))  // the stream's stall timer
        #expect(!state.streamIsOpen(1) && state.calls == [3: .unary])
        #expect(taken(state.timerFired(now: Self.t0 + .seconds(5))) == nil)
    }

    @Test func inputResumesOnlyIfNotDraining() {
        var state = Self.machine()
        state.pauseInput()
        _ = state.drain()
        #expect(taken(state.writabilityChanged(writable: true, now: Self.t0)) == .init(wakeWaiters: true, resumeInput: false))
        #expect(state.inputPaused)
    }

    @Test func aPartialFrameIsTheClientsOnlyWhileInputRuns() {
        var state = Self.machine()
        state.decoded(midFrame: true, now: Self.t0)
        #expect(taken(state.timerFired(now: Self.t0 + .seconds(9))) == nil)
        #expect(taken(state.timerFired(now: Self.t0 + .seconds(11))) == .partialFrame)
        state.decoded(midFrame: false, now: Self.t0 + .seconds(5))
        #expect(taken(state.timerFired(now: Self.t0 + .seconds(11))) == nil)
        // Held back by the server, a buffered frame does not count.
        state.pauseInput()
        state.decoded(midFrame: true, now: Self.t0)
        #expect(taken(state.timerFired(now: Self.t0 + .seconds(11))) == nil)
    }

    @Test func aConnectionIsIdleOnlyWithNoCallRunning() {
        var state = Self.machine()
        #expect(taken(state.timerFired(now: Self.t0 + .seconds(59))) == nil)
        #expect(taken(state.timerFired(now: Self.t0 + .seconds(61))) == .idle)
        _ = state.bytesArrived(now: Self.t0 + .seconds(30))
        #expect(taken(state.timerFired(now: Self.t0 + .seconds(61))) == nil)
        _ = state.requestArrived(streamID: 1, serverDraining: false)
        state.callStarted(streamID: 1, kind: .streaming)  // a quiet watcher is never idle
        #expect(taken(state.timerFired(now: Self.t0 + .seconds(600))) == nil)
        var noIdle = Self.machine { $0.idleTimeout = nil }
        #expect(taken(noIdle.timerFired(now: Self.t0 + .seconds(6000))) == nil)
        _ = noIdle.drain()
    }
}
