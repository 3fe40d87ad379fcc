import Atomics
import CoopWire
import Logging
import NIOCore

/// Asks a connection to finish its running calls and close (sent through the pipeline at shutdown).
struct DrainConnectionEvent: Sendable {}

/// One client connection: frames in, calls dispatched, responses out.
///
/// The decisions (admission, call ends, backpressure, timeouts, draining) are `ConnectionStateMachine`'s; this
/// handler reports events to it and performs what it answers, holding the I/O side: the channel, the buffers,
/// and each running call's task and deadline timer.
///
/// Everything here runs on the connection's event loop. Frames are decoded in place from the
/// read buffers; responses accumulate in one buffer that is written and flushed once per read
/// batch (or once per event-loop tick for calls that finish asynchronously).
///
/// What one connection can make the server hold is bounded: once its queued answers pass
/// `ServerLimits.maxQueuedOutputBytes` (the channel turns unwritable), requests already read wait
/// undecoded and the socket is not read again until the client takes its answers; a client that
/// does not for `outputStallTimeout` is disconnected.
final class ServerConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What a running call holds that is not a value: present exactly while the state machine lists the call.
    private struct CallHandles {
        /// The method's router index and when the call started, for its counters.
        var method: Int
        var start: NIODeadline
        var task: Task<Void, Never>?
        /// Set when the caller stops waiting for work queued elsewhere: work that has not begun is skipped.
        var abandoned: ManagedAtomic<Bool>?
        var deadlineTimer: Scheduled<Void>?

        func cancel() {
            deadlineTimer?.cancel()
            cancelWork()
        }

        func cancelWork() {
            task?.cancel()
            abandoned?.store(true, ordering: .relaxed)
        }
    }

    private let router: Router
    /// The loop's clock (`context.eventLoop.now`) as last read while reading requests: when the read began, then
    /// when each inline call ended. A call starts when the one before it in the same read ended, which spares a
    /// clock read per call.
    private var clock = NIODeadline.now()
    /// The route this connection's last request found (``Router/lookup(_:lastFound:)``).
    private var lastRoute = Int.max
    private let stats: ServerStats
    private let limits: ServerLimits
    private let peer: PeerCredentials
    private let logger: Logger
    private let isDraining: @Sendable () -> Bool

    private var context: ChannelHandlerContext!
    private var state: ConnectionStateMachine
    private var decoder: FrameDecoder
    /// Bytes read and not yet decoded: a partial frame, or requests waiting while input is paused.
    private var inbound: ByteBuffer?
    private var handles: [UInt32: CallHandles] = [:]
    private var output: ByteBuffer
    /// The buffer last handed to the channel: once written, its storage takes the next answers, so a batch of
    /// answers costs no allocation and no growth. Two buffers per busy connection, each kept up to
    /// `keptOutputCapacity`; both given back after a second without calls.
    private var written: ByteBuffer?
    private var inReadBatch = false
    private var flushScheduled = false
    private var housekeeping: RepeatedTask?
    private var writabilityWaiters: [EventLoopPromise<Void>] = []

    init(
        router: Router, stats: ServerStats, limits: ServerLimits, peer: PeerCredentials, logger: Logger,
        isDraining: @escaping @Sendable () -> Bool
    ) {
        self.router = router
        self.stats = stats
        self.limits = limits
        self.peer = peer
        self.logger = logger
        self.isDraining = isDraining
        self.state = ConnectionStateMachine(limits: limits, now: .now())
        self.decoder = FrameDecoder(maxPayloadSize: limits.maxFrameSize)
        self.output = ByteBuffer()
    }

    /// This handler, usable from closures that run later on its event loop.
    private var onLoop: NIOLoopBound<ServerConnectionHandler> { NIOLoopBound(self, eventLoop: context.eventLoop) }

    // MARK: lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // The loop's clock, not the wall's: under test an embedded loop's time moves only when told.
        self.state = ConnectionStateMachine(limits: limits, now: context.eventLoop.now)
        self.output = context.channel.allocator.buffer(capacity: 1024)
        let interval = [limits.idleTimeout, limits.partialFrameTimeout, limits.outputStallTimeout].compactMap { $0 }.min()!
        let period = TimeAmount.nanoseconds(max(interval.nanoseconds / 4, TimeAmount.milliseconds(10).nanoseconds))
        let connection = onLoop
        housekeeping = context.eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { _ in
            connection.value.checkTimeouts()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        housekeeping?.cancel()
        housekeeping = nil
        for id in state.channelClosed() {
            guard let call = handles.removeValue(forKey: id) else { continue }
            call.cancel()
            count(call, .cancelled)
        }
        failWritabilityWaiters()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is DrainConnectionEvent {
            beginDrain()
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // I/O errors (reset, broken pipe) end the connection; its calls are cancelled in channelInactive.
        logger.debug("connection error", metadata: ["peer": "\(peer)", "error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Self.unwrapInboundIn(data)
        stats.received(bytes.readableBytes)
        inReadBatch = true
        clock = context.eventLoop.now
        if !state.bytesArrived(now: clock) {
            // The rest of this read batch waits with what is already buffered (at most one batch).
            if inbound == nil { inbound = bytes } else { inbound!.writeImmutableBuffer(bytes) }
            return
        }
        if var buffered = inbound {
            inbound = nil
            // Only the frame the last read left unfinished is completed from this read; the frames after it are
            // decoded where they lie (appending the whole read copied every byte of it once more).
            var rest = bytes
            while rest.readableBytes > 0 {
                let missing = decoder.bytesMissing(in: buffered)
                guard missing > 0 else { break }
                var part = rest.readSlice(length: min(missing, rest.readableBytes))!
                buffered.writeBuffer(&part)
            }
            process(&buffered)
            guard rest.readableBytes > 0 else { return }
            if inbound != nil {
                // Decoding stopped short (input paused, or the connection closed): the rest waits behind it.
                inbound!.writeBuffer(&rest)
                return
            }
            process(&rest)
        } else {
            var buffer = bytes
            process(&buffer)
        }
    }

    private func process(_ buffer: inout ByteBuffer) {
        while !state.closed {
            if !mayAnswerMore() {
                state.pauseInput()
                break
            }
            let next: InboundFrame?
            do {
                next = try decoder.decode(buffer: &buffer)
            } catch {
                // The decoder throws nothing today; treat anything as fatal for this connection only.
                context.close(promise: nil)
                return
            }
            guard let next else { break }
            switch next {
            case .frame(let frame):
                handle(frame)
            case .oversized(let streamID, let type, let length):
                logger.debug("oversized frame skipped", metadata: ["peer": "\(peer)", "length": "\(length)"])
                if type == .request || type == .data {
                    answer(streamID, RPCError(.resourceExhausted,
                        "message length \(length) exceeds maximum message size of \(limits.maxFrameSize)"))
                }
            }
        }
        if buffer.readableBytes > 0 {
            // Keep only the unconsumed tail; a slice would pin the whole read buffer.
            buffer.discardReadBytes()
            inbound = buffer
        }
        let midFrame = decoder.isMidFrame(buffered: inbound?.readableBytes ?? 0)
        state.decoded(midFrame: midFrame, now: context.eventLoop.now)
    }

    /// Whether another request may be answered now: false once the answers queued for this client
    /// reach the limit and the client is not taking them.
    private func mayAnswerMore() -> Bool {
        if output.readableBytes >= limits.maxQueuedOutputBytes {
            // Hand a large batch of answers to the channel now: its writability then tells whether the
            // client keeps up.
            flushOutput()
        }
        return context.channel.isWritable
    }

    /// Decodes the requests that waited while the client was not reading, as if they had just arrived.
    private func resumeInput() {
        guard var buffered = inbound else { return }
        inbound = nil
        inReadBatch = true
        clock = context.eventLoop.now
        process(&buffered)
        inReadBatch = false
        flushOutput()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inReadBatch = false
        flushOutput()
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        // Backpressure: a client that does not read its answers stops being read from,
        // so its queued responses stay bounded and nobody else waits.
        if state.readRequested(writable: context.channel.isWritable) {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let actions = state.writabilityChanged(writable: context.channel.isWritable, now: context.eventLoop.now)
        if actions.wakeWaiters {
            let waiters = writabilityWaiters
            writabilityWaiters.removeAll()
            for waiter in waiters { waiter.succeed() }
        }
        if actions.resumeInput { resumeInput() }
        if state.pendingReadMayProceed(writable: context.channel.isWritable) {
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: dispatch

    private func handle(_ frame: Frame) {
        switch frame.type {
        case .request:
            handleRequest(frame)
        case .data:
            if let error = state.dataArrived(streamID: frame.streamID) {
                answer(frame.streamID, error)
            }
        default:
            break  // unknown message types are ignored, as ttrpc requires
        }
    }

    private func handleRequest(_ frame: Frame) {
        let streamID = frame.streamID
        if case .refuse(let error) = state.requestArrived(streamID: streamID, serverDraining: isDraining()) {
            return answer(streamID, error)
        }
        let request: RequestHead
        do {
            request = try RequestHead(decoding: frame.payload, metadataLimits: limits.metadata)
        } catch {
            if error.isOverLimit { return answer(streamID, RPCError(.resourceExhausted, error.reason)) }
            return answer(streamID, RPCError(.invalidArgument, "request envelope does not decode: \(error)"))
        }
        let handler: MethodHandler
        let method: Int
        switch router.lookup(request, lastFound: &lastRoute) {
        case .found(let h, let index): (handler, method) = (h, index)
        case .unknownService(let name): return answer(streamID, RPCError(.unimplemented, "service \(name)"))
        case .unknownMethod(let name): return answer(streamID, RPCError(.unimplemented, "method \(name)"))
        case .malformed(let error):
            return answer(streamID, RPCError(.invalidArgument, "request envelope does not decode: \(error)"))
        }

        let deadline = request.timeoutNanos > 0 ? context.eventLoop.now + .nanoseconds(request.timeoutNanos) : nil
        let name = router.methods[method]
        let callContext = CallContext(
            service: name.service, method: name.method, metadata: request.metadata, peer: peer,
            deadline: deadline)
        stats.callStarted(method: method)
        let start = clock

        switch handler {
        case .inline(let body):
            let result: Result<ByteBuffer, any Error>
            do { result = .success(try body(request.payload, callContext)) } catch { result = .failure(error) }
            writeResult(streamID, result, method: method, start: start)
        case .inlineOrElsewhere(let body):
            let outcome: Result<InlineOutcome, any Error>
            do { outcome = .success(try body(request.payload, callContext)) } catch { outcome = .failure(error) }
            switch outcome {
            case .success(.answer(let payload)):
                writeResult(streamID, .success(payload), method: method, start: start)
            case .failure(let error):
                writeResult(streamID, .failure(error), method: method, start: start)
            case .success(.elsewhere(let queue, let work)):
                // Answered on this loop when the work elsewhere ends; the deadline may answer first.
                let connection = onLoop
                let abandoned = ManagedAtomic(false)
                state.callStarted(streamID: streamID, kind: .unary)
                startCall(
                    streamID, CallHandles(method: method, start: start, task: nil, abandoned: abandoned),
                    deadline: deadline)
                queue.submit(on: context.eventLoop, abandoned: abandoned, work).whenComplete { result in
                    connection.value.finishUnary(streamID, result)
                }
            }
        case .unary(let body):
            let connection = onLoop
            let eventLoop = context.eventLoop
            let payload = request.payload
            state.callStarted(streamID: streamID, kind: .unary)
            let task = Task {
                let result: Result<ByteBuffer, any Error>
                do { result = .success(try await body(payload, callContext)) } catch { result = .failure(error) }
                eventLoop.execute { connection.value.finishUnary(streamID, result) }
            }
            startCall(streamID, CallHandles(method: method, start: start, task: task), deadline: deadline)
        case .serverStreaming(let body):
            let connection = onLoop
            let eventLoop = context.eventLoop
            let payload = request.payload
            let stream = ServerStream(streamID: streamID, connection: connection)
            state.callStarted(streamID: streamID, kind: .streaming)
            let task = Task {
                var failure: (any Error)?
                do { try await body(payload, callContext, stream) } catch { failure = error }
                eventLoop.execute { [failure] in connection.value.finishStream(streamID, failure) }
            }
            startCall(streamID, CallHandles(method: method, start: start, task: task), deadline: deadline)
        }
    }

    private func startCall(_ streamID: UInt32, _ call: CallHandles, deadline: NIODeadline?) {
        var call = call
        if let deadline {
            let connection = onLoop
            call.deadlineTimer = context.eventLoop.scheduleTask(deadline: deadline) {
                connection.value.deadlinePassed(streamID)
            }
        }
        handles[streamID] = call
    }

    // MARK: completion (on the event loop)

    /// Asks the state machine whether this end of a call is the one that answers it (see
    /// `ConnectionStateMachine.callEnded`); if so, releases its handles (cancelling its task when asked) and
    /// returns them, with whether to close once the answer is written.
    private func end(_ streamID: UInt32, cancelTask: Bool) -> (call: CallHandles, closeAfterFlush: Bool)? {
        guard case .answer(let closeAfterFlush) = state.callEnded(streamID: streamID),
            let call = handles.removeValue(forKey: streamID)
        else { return nil }
        call.deadlineTimer?.cancel()
        if cancelTask { call.cancelWork() }
        return (call, closeAfterFlush)
    }

    func finishUnary(_ streamID: UInt32, _ result: Result<ByteBuffer, any Error>) {
        // Dropped when the deadline already answered or the connection closed.
        guard let (call, closeAfterFlush) = end(streamID, cancelTask: false) else { return }
        writeResult(streamID, result, method: call.method, start: call.start)
        if closeAfterFlush { self.closeAfterFlush() }
    }

    func finishStream(_ streamID: UInt32, _ failure: (any Error)?) {
        guard let (call, closeAfterFlush) = end(streamID, cancelTask: false) else { return }
        if let failure {
            let error = rpcError(failure)
            count(call, error.code)
            output.writeResponseFrame(streamID: streamID, error: error)
        } else {
            count(call, .ok)
            output.writeFrameHeader(length: 0, streamID: streamID, type: .data, flags: [.remoteClosed, .noData])
        }
        scheduleFlush()
        if closeAfterFlush { self.closeAfterFlush() }
    }

    private func deadlinePassed(_ streamID: UInt32) {
        guard let (call, closeAfterFlush) = end(streamID, cancelTask: true) else { return }
        count(call, .deadlineExceeded)
        output.writeResponseFrame(streamID: streamID, error: RPCError(.deadlineExceeded, "deadline exceeded"))
        scheduleFlush()
        if closeAfterFlush { self.closeAfterFlush() }
    }

    func sendStreamMessage(streamID: UInt32, payload: ByteBuffer) -> EventLoopFuture<Void> {
        let eventLoop = context.eventLoop
        guard state.streamIsOpen(streamID) else {
            return eventLoop.makeFailedFuture(RPCError(.cancelled, "stream is over"))
        }
        var payload = payload
        output.writeFrameHeader(length: payload.readableBytes, streamID: streamID, type: .data)
        output.writeBuffer(&payload)
        scheduleFlush()
        if context.channel.isWritable {
            return eventLoop.makeSucceededVoidFuture()
        }
        // The client is not reading: hold this producer back, and end its stream if that lasts too long.
        let promise = eventLoop.makePromise(of: Void.self)
        writabilityWaiters.append(promise)
        let connection = onLoop
        let timer = eventLoop.scheduleTask(in: limits.streamStallTimeout) {
            connection.value.streamStalled(streamID, promise)
        }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        return promise.futureResult
    }

    private func streamStalled(_ streamID: UInt32, _ promise: EventLoopPromise<Void>) {
        writabilityWaiters.removeAll { $0.futureResult === promise.futureResult }
        let error = RPCError(.resourceExhausted, "stream ended: the client is not reading")
        promise.fail(error)
        guard let (call, closeAfterFlush) = end(streamID, cancelTask: true) else { return }
        count(call, error.code)
        output.writeResponseFrame(streamID: streamID, error: error)
        scheduleFlush()
        if closeAfterFlush { self.closeAfterFlush() }
    }

    private func failWritabilityWaiters() {
        let waiters = writabilityWaiters
        writabilityWaiters.removeAll()
        for waiter in waiters { waiter.fail(RPCError(.cancelled, "connection closed")) }
    }

    /// Counts a call that ended (other than inline) with `code`, now on the loop's clock.
    private func count(_ call: CallHandles, _ code: StatusCode) {
        stats.callEnded(method: call.method, code: code, since: call.start, now: context.eventLoop.now)
    }

    // MARK: writing

    /// Answers a frame that never became a call (protocol error, limit, unknown method).
    private func answer(_ streamID: UInt32, _ error: RPCError) {
        stats.requestRejected(error.code)
        output.writeResponseFrame(streamID: streamID, error: error)
        scheduleFlush()
    }

    private func writeResult(
        _ streamID: UInt32, _ result: Result<ByteBuffer, any Error>, method: Int, start: NIODeadline
    ) {
        clock = context.eventLoop.now
        switch result {
        case .success(let payload):
            stats.callEnded(method: method, code: .ok, since: start, now: clock)
            output.writeResponseFrame(streamID: streamID, payload: payload)
        case .failure(let failure):
            let error = rpcError(failure)
            stats.callEnded(method: method, code: error.code, since: start, now: clock)
            output.writeResponseFrame(streamID: streamID, error: error)
        }
        scheduleFlush()
    }

    private func rpcError(_ error: any Error) -> RPCError {
        switch error {
        case let error as RPCError:
            return error
        case let error as any RPCErrorConvertible:
            return error.rpcError
        case is CancellationError:
            return RPCError(.cancelled, "call cancelled")
        default:
            // Not the caller's fault: details to the log, a generic message to the wire.
            logger.error("handler failed", metadata: ["error": "\(error)", "peer": "\(peer)"])
            return RPCError(.internalError, "internal error")
        }
    }

    private func scheduleFlush() {
        // Inside a read batch, channelReadComplete flushes; otherwise coalesce every answer
        // finished in this event-loop tick into one write.
        guard !inReadBatch, !flushScheduled else { return }
        flushScheduled = true
        let connection = onLoop
        context.eventLoop.execute { connection.value.flushOutput() }
    }

    fileprivate func flushOutput(promise: EventLoopPromise<Void>? = nil) {
        flushScheduled = false
        guard output.readableBytes > 0 || promise != nil, !state.closed else { return }
        let bytes = output
        stats.sent(bytes.readableBytes)
        // Room for a batch like this one, at most the kept capacity.
        let room = max(1024, min(bytes.readableBytes, keptOutputCapacity))
        // Taken out first so that this is its only reference when the channel is done with it: clear() then keeps
        // its storage. A write still queued (a client not reading) makes it take new storage sized for this
        // batch, not for the largest ever: each small answer queued behind a slow reader holds little.
        if var next = written.take() {
            next.clear(minimumCapacity: room)
            output = next
        } else {
            output = context.channel.allocator.buffer(capacity: room)
        }
        // A buffer grown past the kept capacity (a batch of large answers) is given back once written.
        written = bytes.capacity <= keptOutputCapacity ? bytes : nil
        // Re-entrant writes (a writability change resuming input) go to the new `output`.
        context.writeAndFlush(Self.wrapOutboundOut(bytes), promise: promise)
    }

    /// Enough for a batch of answers of a few KiB each (sixteen 4 KiB answers take 66 KiB); a buffer grown past
    /// it by a batch of large answers is not kept.
    private let keptOutputCapacity = 128 << 10

    /// Gives back the output buffers of a connection without calls for a second (idle clients keep no batch-sized
    /// memory).
    private func releaseIdleOutput() {
        guard written != nil, output.readableBytes == 0, context.eventLoop.now - clock > .seconds(1) else { return }
        written = nil
        output = context.channel.allocator.buffer(capacity: 1024)
    }

    /// Closes once every answer queued so far has reached the socket (writes complete in order), so that
    /// a slow reader still gets what was computed for it; the server's shutdown grace period bounds the wait.
    private func closeAfterFlush() {
        let flushed = context.eventLoop.makePromise(of: Void.self)
        flushOutput(promise: flushed)
        let connection = onLoop
        flushed.futureResult.whenComplete { _ in
            let handler = connection.value
            if !handler.state.closed { handler.context.close(promise: nil) }
        }
    }

    // MARK: limits and shutdown

    private func checkTimeouts() {
        switch state.timerFired(now: context.eventLoop.now) {
        case .outputStalled?:
            logger.info("closing connection: the client has not read its answers past the output stall timeout",
                        metadata: ["peer": "\(peer)", "queued_bytes": "\(output.readableBytes)"])
            context.close(promise: nil)
        case .partialFrame?:
            logger.info("closing connection: frame incomplete past the partial-frame timeout",
                        metadata: ["peer": "\(peer)"])
            context.close(promise: nil)
        case .idle?:
            logger.debug("closing idle connection", metadata: ["peer": "\(peer)"])
            context.close(promise: nil)
        case nil:
            releaseIdleOutput()
        }
    }

    private func beginDrain() {
        let actions = state.drain()
        for id in actions.endStreams {
            if let call = handles.removeValue(forKey: id) {
                call.cancel()
                count(call, .unavailable)
            }
            output.writeResponseFrame(streamID: id, error: RPCError(.unavailable, "server is shutting down"))
        }
        flushOutput()
        if actions.closeAfterFlush { closeAfterFlush() }
    }
}

@available(*, unavailable)
extension ServerConnectionHandler: Sendable {}

/// A domain error that knows which RPC status it should become.
public protocol RPCErrorConvertible: Error {
    var rpcError: RPCError { get }
}
