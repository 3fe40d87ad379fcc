import CoopWire
import Logging
import NIOCore

/// Asks a connection to finish its running calls and close (sent through the pipeline at shutdown).
struct DrainConnectionEvent: Sendable {}

/// One client connection: frames in, calls dispatched, responses out.
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

    private struct Call {
        var task: Task<Void, Never>?
        var deadlineTimer: Scheduled<Void>?
        var streaming: Bool
    }

    private let router: Router
    private let stats: ServerStats
    private let limits: ServerLimits
    private let peer: PeerCredentials
    private let logger: Logger
    private let isDraining: @Sendable () -> Bool

    private var context: ChannelHandlerContext!
    private var decoder: FrameDecoder
    private var inbound: ByteBuffer?
    private var streamIDs = StreamIDValidator()
    private var calls: [UInt32: Call] = [:]
    private var output: ByteBuffer
    private var inReadBatch = false
    private var flushScheduled = false
    private var readPending = false
    /// Requests already read wait in `inbound` until the client drains its answers.
    private var inputPaused = false
    /// Since when the client has not been taking its answers (the channel is unwritable).
    private var stalledSince: NIODeadline?
    private var draining = false
    private var closeRequested = false
    private var closed = false
    private var lastActivity = NIODeadline.now()
    private var partialFrameSince: NIODeadline?
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
        self.decoder = FrameDecoder(maxPayloadSize: limits.maxFrameSize)
        self.output = ByteBuffer()
    }

    /// This handler, usable from closures that run later on its event loop.
    private var onLoop: NIOLoopBound<ServerConnectionHandler> { NIOLoopBound(self, eventLoop: context.eventLoop) }

    // MARK: lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.output = context.channel.allocator.buffer(capacity: 1024)
        let interval = [limits.idleTimeout, limits.partialFrameTimeout, limits.outputStallTimeout].compactMap { $0 }.min()!
        let period = TimeAmount.nanoseconds(max(interval.nanoseconds / 4, TimeAmount.milliseconds(10).nanoseconds))
        let connection = onLoop
        housekeeping = context.eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { _ in
            connection.value.checkTimeouts()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        housekeeping?.cancel()
        housekeeping = nil
        for (_, call) in calls {
            call.deadlineTimer?.cancel()
            call.task?.cancel()
            stats.callEnded(.cancelled)
        }
        calls.removeAll()
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
        lastActivity = .now()
        inReadBatch = true
        if inputPaused {
            // The rest of this read batch waits with what is already buffered (at most one batch).
            if inbound == nil { inbound = bytes } else { inbound!.writeImmutableBuffer(bytes) }
            return
        }
        if var buffered = inbound {
            inbound = nil
            buffered.writeImmutableBuffer(bytes)
            process(&buffered)
        } else {
            var buffer = bytes
            process(&buffer)
        }
    }

    private func process(_ buffer: inout ByteBuffer) {
        while !closed {
            if !mayAnswerMore() {
                inputPaused = true
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
        // Held back by the server, a buffered frame is not the client's partial frame.
        partialFrameSince = !inputPaused && decoder.isMidFrame(buffered: inbound?.readableBytes ?? 0)
            ? (partialFrameSince ?? .now()) : nil
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
        inputPaused = false
        guard var buffered = inbound else { return }
        inbound = nil
        inReadBatch = true
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
        if context.channel.isWritable && !inputPaused {
            context.read()
        } else {
            readPending = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            stalledSince = nil
            let waiters = writabilityWaiters
            writabilityWaiters.removeAll()
            for waiter in waiters { waiter.succeed() }
            if inputPaused && !draining { resumeInput() }
            if readPending && !inputPaused && context.channel.isWritable {
                readPending = false
                context.read()
            }
        } else if stalledSince == nil {
            stalledSince = .now()
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: dispatch

    private func handle(_ frame: Frame) {
        switch frame.type {
        case .request:
            handleRequest(frame)
        case .data:
            // coopd has no client-streaming methods: data on a running stream is dropped,
            // data on any other stream is a protocol error answered on that id.
            if calls[frame.streamID] == nil {
                answer(frame.streamID, StreamIDValidator.inactiveStream)
            }
        default:
            break  // unknown message types are ignored, as ttrpc requires
        }
    }

    private func handleRequest(_ frame: Frame) {
        let streamID = frame.streamID
        if let error = streamIDs.open(streamID) {
            return answer(streamID, error)
        }
        if draining || isDraining() {
            return answer(streamID, RPCError(.unavailable, "server is shutting down"))
        }
        guard calls.count < limits.maxConcurrentCallsPerConnection else {
            return answer(streamID, RPCError(.resourceExhausted,
                "too many calls in flight on this connection (limit \(limits.maxConcurrentCallsPerConnection))"))
        }
        let request: RequestEnvelope
        do {
            request = try RequestEnvelope(decoding: frame.payload, metadataLimits: limits.metadata)
        } catch {
            if error.isOverLimit { return answer(streamID, RPCError(.resourceExhausted, error.reason)) }
            return answer(streamID, RPCError(.invalidArgument, "request envelope does not decode: \(error)"))
        }
        let handler: MethodHandler
        switch router.lookup(service: request.service, method: request.method) {
        case .found(let h): handler = h
        case .unknownService: return answer(streamID, RPCError(.unimplemented, "service \(request.service)"))
        case .unknownMethod: return answer(streamID, RPCError(.unimplemented, "method \(request.method)"))
        }

        let deadline = request.timeoutNanos > 0 ? NIODeadline.now() + .nanoseconds(request.timeoutNanos) : nil
        let callContext = CallContext(
            service: request.service, method: request.method, metadata: request.metadata, peer: peer,
            deadline: deadline)
        stats.callStarted()

        switch handler {
        case .inline(let body):
            let result: Result<ByteBuffer, any Error>
            do { result = .success(try body(request.payload, callContext)) } catch { result = .failure(error) }
            writeResult(streamID, result)
        case .unary(let body):
            let connection = onLoop
            let eventLoop = context.eventLoop
            let payload = request.payload
            calls[streamID] = Call(task: nil, deadlineTimer: nil, streaming: false)
            let task = Task {
                let result: Result<ByteBuffer, any Error>
                do { result = .success(try await body(payload, callContext)) } catch { result = .failure(error) }
                eventLoop.execute { connection.value.finishUnary(streamID, result) }
            }
            startCall(streamID, task: task, deadline: deadline)
        case .serverStreaming(let body):
            let connection = onLoop
            let eventLoop = context.eventLoop
            let payload = request.payload
            let stream = ServerStream(streamID: streamID, connection: connection)
            calls[streamID] = Call(task: nil, deadlineTimer: nil, streaming: true)
            let task = Task {
                var failure: (any Error)?
                do { try await body(payload, callContext, stream) } catch { failure = error }
                eventLoop.execute { [failure] in connection.value.finishStream(streamID, failure) }
            }
            startCall(streamID, task: task, deadline: deadline)
        }
    }

    private func startCall(_ streamID: UInt32, task: Task<Void, Never>, deadline: NIODeadline?) {
        calls[streamID]?.task = task
        if let deadline {
            let connection = onLoop
            calls[streamID]?.deadlineTimer = context.eventLoop.scheduleTask(deadline: deadline) {
                connection.value.deadlinePassed(streamID)
            }
        }
    }

    // MARK: completion (on the event loop)

    func finishUnary(_ streamID: UInt32, _ result: Result<ByteBuffer, any Error>) {
        // Absent when the deadline already answered or the connection closed: the result is dropped.
        guard let call = calls.removeValue(forKey: streamID) else { return }
        call.deadlineTimer?.cancel()
        writeResult(streamID, result)
        afterCallEnded()
    }

    func finishStream(_ streamID: UInt32, _ failure: (any Error)?) {
        guard let call = calls.removeValue(forKey: streamID) else { return }
        call.deadlineTimer?.cancel()
        if let failure {
            let error = rpcError(failure)
            stats.callEnded(error.code)
            output.writeResponseFrame(streamID: streamID, error: error)
        } else {
            stats.callEnded(.ok)
            output.writeFrameHeader(length: 0, streamID: streamID, type: .data, flags: [.remoteClosed, .noData])
        }
        scheduleFlush()
        afterCallEnded()
    }

    private func deadlinePassed(_ streamID: UInt32) {
        guard let call = calls.removeValue(forKey: streamID) else { return }
        call.task?.cancel()
        stats.callEnded(.deadlineExceeded)
        output.writeResponseFrame(streamID: streamID, error: RPCError(.deadlineExceeded, "deadline exceeded"))
        scheduleFlush()
        afterCallEnded()
    }

    func sendStreamMessage(streamID: UInt32, payload: ByteBuffer) -> EventLoopFuture<Void> {
        let eventLoop = context.eventLoop
        guard calls[streamID] != nil, !closed else {
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
        guard let call = calls.removeValue(forKey: streamID) else { return }
        call.deadlineTimer?.cancel()
        call.task?.cancel()
        stats.callEnded(error.code)
        output.writeResponseFrame(streamID: streamID, error: error)
        scheduleFlush()
        afterCallEnded()
    }

    private func failWritabilityWaiters() {
        let waiters = writabilityWaiters
        writabilityWaiters.removeAll()
        for waiter in waiters { waiter.fail(RPCError(.cancelled, "connection closed")) }
    }

    // MARK: writing

    /// Answers a frame that never became a call (protocol error, limit, unknown method).
    private func answer(_ streamID: UInt32, _ error: RPCError) {
        stats.recordError(error.code)
        output.writeResponseFrame(streamID: streamID, error: error)
        scheduleFlush()
    }

    private func writeResult(_ streamID: UInt32, _ result: Result<ByteBuffer, any Error>) {
        switch result {
        case .success(let payload):
            stats.callEnded(.ok)
            output.writeResponseFrame(streamID: streamID, payload: payload)
        case .failure(let failure):
            let error = rpcError(failure)
            stats.callEnded(error.code)
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
        guard output.readableBytes > 0 || promise != nil, !closed else { return }
        let bytes = output
        output = context.channel.allocator.buffer(capacity: max(1024, min(bytes.readableBytes, 64 << 10)))
        context.writeAndFlush(Self.wrapOutboundOut(bytes), promise: promise)
    }

    /// Closes once every answer queued so far has reached the socket (writes complete in order), so that
    /// a slow reader still gets what was computed for it; the server's shutdown grace period bounds the wait.
    private func closeAfterFlush() {
        guard !closed, !closeRequested else { return }
        closeRequested = true
        let flushed = context.eventLoop.makePromise(of: Void.self)
        flushOutput(promise: flushed)
        let connection = onLoop
        flushed.futureResult.whenComplete { _ in
            let handler = connection.value
            if !handler.closed { handler.context.close(promise: nil) }
        }
    }

    // MARK: limits and shutdown

    private func checkTimeouts() {
        let now = NIODeadline.now()
        if let since = stalledSince, now - since > limits.outputStallTimeout {
            logger.info("closing connection: the client has not read its answers past the output stall timeout",
                        metadata: ["peer": "\(peer)", "queued_bytes": "\(output.readableBytes)"])
            context.close(promise: nil)
        } else if let since = partialFrameSince, now - since > limits.partialFrameTimeout {
            logger.info("closing connection: frame incomplete past the partial-frame timeout",
                        metadata: ["peer": "\(peer)"])
            context.close(promise: nil)
        } else if let idle = limits.idleTimeout, calls.isEmpty, now - lastActivity > idle {
            logger.debug("closing idle connection", metadata: ["peer": "\(peer)"])
            context.close(promise: nil)
        }
    }

    private func beginDrain() {
        draining = true
        // Requests still waiting undecoded (input paused) were never started: they stay so, and end with the
        // connection.
        // Streams run until the caller leaves; at shutdown they end now, with UNAVAILABLE.
        for (id, call) in calls where call.streaming {
            calls[id] = nil
            call.deadlineTimer?.cancel()
            call.task?.cancel()
            stats.callEnded(.unavailable)
            output.writeResponseFrame(streamID: id, error: RPCError(.unavailable, "server is shutting down"))
        }
        flushOutput()
        afterCallEnded()
    }

    private func afterCallEnded() {
        if draining && calls.isEmpty { closeAfterFlush() }
    }
}

@available(*, unavailable)
extension ServerConnectionHandler: Sendable {}

/// A domain error that knows which RPC status it should become.
public protocol RPCErrorConvertible: Error {
    var rpcError: RPCError { get }
}
