import CoopWire
import NIOCore

/// The client side of one connection: assigns odd stream ids, writes requests, and routes each
/// Response or Data frame back to the call waiting for it. Runs on the connection's event loop.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = InboundFrame
    typealias OutboundOut = ByteBuffer

    private enum Pending {
        case unary(EventLoopPromise<ByteBuffer>, Scheduled<Void>?)
        case stream(AsyncThrowingStream<ByteBuffer, any Error>.Continuation, Scheduled<Void>?)

        var timer: Scheduled<Void>? {
            switch self {
            case .unary(_, let t), .stream(_, let t): t
            }
        }

        func fail(_ error: RPCError) {
            switch self {
            case .unary(let promise, _): promise.fail(error)
            case .stream(let continuation, _): continuation.finish(throwing: error)
            }
        }
    }

    private var context: ChannelHandlerContext?
    private var nextStreamID: UInt32 = 1
    private var pending: [UInt32: Pending] = [:]
    private var output = ByteBuffer()
    private var flushScheduled = false
    private var closedError: RPCError?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RPCError(.unavailable, "connection to coopd closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(RPCError(.unavailable, "connection to coopd failed: \(error)"))
        context.close(promise: nil)
    }

    private func failAll(_ error: RPCError) {
        closedError = closedError ?? error
        let calls = pending
        pending.removeAll()
        for (_, call) in calls {
            call.timer?.cancel()
            call.fail(error)
        }
    }

    // MARK: starting calls

    /// Sends a request and returns its stream id; the answer completes `promise`.
    func startUnary(_ request: RequestEnvelope, deadline: NIODeadline?, promise: EventLoopPromise<ByteBuffer>) -> UInt32? {
        guard let id = send(request, flags: []) else {
            promise.fail(closedError ?? RPCError(.unavailable, "connection to coopd closed"))
            return nil
        }
        pending[id] = .unary(promise, deadlineTimer(id, deadline))
        return id
    }

    /// Sends a request for a server stream; messages and the end go to `continuation`.
    func startStream(
        _ request: RequestEnvelope, deadline: NIODeadline?,
        continuation: AsyncThrowingStream<ByteBuffer, any Error>.Continuation
    ) -> UInt32? {
        // remoteClosed: the client sends no data of its own on this stream.
        guard let id = send(request, flags: .remoteClosed) else {
            continuation.finish(throwing: closedError ?? RPCError(.unavailable, "connection to coopd closed"))
            return nil
        }
        pending[id] = .stream(continuation, deadlineTimer(id, deadline))
        return id
    }

    /// Gives up on a call (the caller was cancelled): its answer, if one comes, is dropped.
    func abandon(_ streamID: UInt32, _ error: RPCError) {
        guard let call = pending.removeValue(forKey: streamID) else { return }
        call.timer?.cancel()
        call.fail(error)
    }

    private func send(_ request: RequestEnvelope, flags: FrameFlags) -> UInt32? {
        guard let context, closedError == nil else { return nil }
        let id = nextStreamID
        guard id < UInt32.max - 2 else {
            // Stream ids are never reused; a fresh connection starts over at 1.
            closedError = RPCError(.unavailable, "stream ids exhausted; reconnecting")
            context.close(promise: nil)
            return nil
        }
        nextStreamID += 2
        output.writeRequestFrame(streamID: id, flags: flags, envelope: request)
        if !flushScheduled {
            // Every call started in this event-loop tick goes out in one write.
            flushScheduled = true
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            context.eventLoop.execute { handler.value.flush() }
        }
        return id
    }

    private func flush() {
        flushScheduled = false
        guard let context, output.readableBytes > 0 else { return }
        let bytes = output
        output = context.channel.allocator.buffer(capacity: 256)
        context.writeAndFlush(Self.wrapOutboundOut(bytes), promise: nil)
    }

    private func deadlineTimer(_ id: UInt32, _ deadline: NIODeadline?) -> Scheduled<Void>? {
        guard let deadline, let context else { return nil }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        return context.eventLoop.scheduleTask(deadline: deadline) {
            handler.value.abandon(id, RPCError(.deadlineExceeded, "deadline exceeded"))
        }
    }

    // MARK: answers

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .frame(let frame):
            handle(frame)
        case .oversized(let streamID, _, let length):
            if let call = pending.removeValue(forKey: streamID) {
                call.timer?.cancel()
                call.fail(RPCError(.resourceExhausted, "response of \(length) bytes exceeds the frame size limit"))
            }
        }
    }

    private func handle(_ frame: Frame) {
        switch frame.type {
        case .response:
            guard let call = pending.removeValue(forKey: frame.streamID) else { return }
            call.timer?.cancel()
            let response: ResponseEnvelope
            do {
                response = try ResponseEnvelope(decoding: frame.payload)
            } catch {
                return call.fail(RPCError(.internalError, "response envelope does not decode: \(error)"))
            }
            switch call {
            case .unary(let promise, _):
                if let error = response.error { promise.fail(error) } else { promise.succeed(response.payload) }
            case .stream(let continuation, _):
                // A stream ends with a Response only on error; an OK one just ends it.
                if let error = response.error {
                    continuation.finish(throwing: error)
                } else {
                    continuation.finish()
                }
            }
        case .data:
            guard case .stream(let continuation, let timer) = pending[frame.streamID] else { return }
            if !frame.flags.contains(.noData) {
                continuation.yield(frame.payload)
            }
            if frame.flags.contains(.remoteClosed) {
                pending[frame.streamID] = nil
                timer?.cancel()
                continuation.finish()
            }
        default:
            break
        }
    }
}

@available(*, unavailable)
extension ClientConnectionHandler: Sendable {}
