import CoopWire
import NIOCore

/// One call to send: the method (of the workload's service) and its request payload.
struct Call: Sendable {
    var method: String
    var payload: ByteBuffer
    /// Sees the answer's payload (for workloads whose next calls depend on answers: page tokens).
    var onReply: (@Sendable (ByteBuffer) -> Void)?

    init(method: String, payload: ByteBuffer, onReply: (@Sendable (ByteBuffer) -> Void)? = nil) {
        self.method = method
        self.payload = payload
        self.onReply = onReply
    }
}

/// Builds the n-th call on a connection.
typealias PayloadMaker = @Sendable (_ connection: Int, _ n: Int) -> Call

/// What each call sends: the same bytes every time (encoded once, only the stream id patched per call),
/// or a payload built per call.
enum Payloads: Sendable {
    case constant(ByteBuffer)
    case perCall(PayloadMaker)
}

/// One pipelined load connection: keeps `concurrency` calls in flight, sends the next call from the
/// response handler itself (no task, no hop), and flushes once per read batch.
final class LoadConnection: ChannelInboundHandler {
    typealias InboundIn = InboundFrame
    typealias OutboundOut = ByteBuffer

    struct Result: Sendable {
        var latenciesNanos: [UInt64] = []
        var errors = 0
        var firstError: String?
    }

    private let index: Int
    private let concurrency: Int
    /// Flush after this many new calls within one read batch (0: once per read batch).
    private let flushEvery: Int
    private var unflushed = 0
    private let service: String
    private let method: String
    private let payloads: Payloads
    /// The whole request frame for constant payloads, with stream id 0.
    private var template: ByteBuffer?
    private let stopAt: NIODeadline
    private let measureFrom: NIODeadline
    private let done: EventLoopPromise<Result>

    private var nextStreamID: UInt32 = 1
    private var sent = 0
    private var startTimes: [UInt32: NIODeadline] = [:]
    /// Answer observers of calls in flight, by stream id.
    private var observers: [UInt32: @Sendable (ByteBuffer) -> Void] = [:]
    private var result = Result()
    private var output = ByteBuffer()
    private var finished = false

    init(
        index: Int, concurrency: Int, flushEvery: Int, service: String, method: String, payloads: Payloads,
        measureFrom: NIODeadline, stopAt: NIODeadline, done: EventLoopPromise<Result>
    ) {
        self.index = index
        self.concurrency = concurrency
        self.flushEvery = flushEvery
        self.service = service
        self.method = method
        self.payloads = payloads
        if case .constant(let payload) = payloads {
            var frame = ByteBuffer()
            frame.writeRequestFrame(streamID: 0, envelope: RequestEnvelope(service: service, method: method, payload: payload))
            template = frame
        }
        self.measureFrom = measureFrom
        self.stopAt = stopAt
        self.done = done
        result.latenciesNanos.reserveCapacity(1 << 16)
    }

    func channelActive(context: ChannelHandlerContext) {
        output = context.channel.allocator.buffer(capacity: 64 << 10)
        for _ in 0..<concurrency { enqueueCall() }
        flush(context)
    }

    private func enqueueCall() {
        startTimes[nextStreamID] = .now()
        switch payloads {
        case .constant:
            // Copy the encoded frame and patch its stream id (bytes 4–7): no per-call encoding.
            let start = output.writerIndex
            output.writeImmutableBuffer(template!)
            output.setInteger(nextStreamID, at: start + 4)
        case .perCall(let make):
            let call = make(index, sent)
            if let onReply = call.onReply { observers[nextStreamID] = onReply }
            let envelope = RequestEnvelope(service: service, method: call.method, payload: call.payload)
            output.writeRequestFrame(streamID: nextStreamID, envelope: envelope)
        }
        sent += 1
        nextStreamID &+= 2
    }

    private func flush(_ context: ChannelHandlerContext) {
        unflushed = 0
        guard output.readableBytes > 0 else { return }
        let bytes = output
        output = context.channel.allocator.buffer(capacity: max(4096, bytes.readableBytes))
        context.writeAndFlush(Self.wrapOutboundOut(bytes), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .frame(let frame) = Self.unwrapInboundIn(data), frame.type == .response else {
            record(error: "unexpected frame")
            return
        }
        let now = NIODeadline.now()
        guard let started = startTimes.removeValue(forKey: frame.streamID) else { return }
        let observer = observers.removeValue(forKey: frame.streamID)
        do {
            let response = try ResponseEnvelope(decoding: frame.payload)
            if let error = response.error {
                record(error: "\(error)")
            } else {
                if started >= measureFrom {
                    result.latenciesNanos.append(UInt64((now - started).nanoseconds))
                }
                observer?(response.payload)
            }
        } catch {
            record(error: "bad response envelope: \(error)")
        }
        if now < stopAt && !finished {
            enqueueCall()
            unflushed += 1
            if flushEvery > 0 && unflushed >= flushEvery {
                flush(context)
            }
        } else if startTimes.isEmpty {
            finish(context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush(context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !startTimes.isEmpty { record(error: "connection closed with \(startTimes.count) calls in flight") }
        finish(context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        record(error: "\(error)")
        context.close(promise: nil)
    }

    private func record(error: String) {
        result.errors += 1
        if result.firstError == nil { result.firstError = error }
    }

    private func finish(_ context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        done.succeed(result)
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension LoadConnection: Sendable {}
