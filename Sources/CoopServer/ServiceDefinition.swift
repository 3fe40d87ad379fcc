import Atomics
import CoopWire
import NIOCore
import NIOPosix
import SwiftProtobuf

/// How a method runs. The server decides unary vs streaming from this, never from frame flags.
public enum MethodHandler: Sendable {
    /// Runs synchronously on the connection's event loop: no task, no thread hop.
    /// Only for short work that waits on no other thread or peer: echo, counters, cached state.
    case inline(@Sendable (ByteBuffer, CallContext) throws -> ByteBuffer)
    /// Starts on the event loop and either answers there or hands its work to other threads, whose answer is
    /// written on the call's loop when it is ready (no task): for reads that are short unless they are not.
    case inlineOrElsewhere(@Sendable (ByteBuffer, CallContext) throws -> InlineOutcome)
    /// Runs as a task, under the call's deadline; cancelled when the caller goes away.
    case unary(@Sendable (ByteBuffer, CallContext) async throws -> ByteBuffer)
    /// Sends any number of messages (ttrpc 1.2 Data frames), then ends the stream by returning or throwing.
    case serverStreaming(@Sendable (ByteBuffer, CallContext, ServerStream) async throws -> Void)
}

/// What an ``MethodHandler/inlineOrElsewhere(_:)`` body did on the event loop.
public enum InlineOutcome: Sendable {
    /// The answer, computed on the loop.
    case answer(ByteBuffer)
    /// Work to run by the queue (on its threads, or wherever it runs work); its answer is written on the call's
    /// loop. Skipped if the caller stops waiting (deadline, hang-up, shutdown) before it begins.
    case elsewhere(any WorkQueue, @Sendable () throws -> ByteBuffer)
}

/// Where an ``InlineOutcome/elsewhere(_:_:)`` body runs: ``LongWorkQueue``'s threads, or a store's own way of
/// running reads that wait on a database server (see the daemon's PostgreSQL reads).
public protocol WorkQueue: Sendable {
    /// Runs `work`, unless `abandoned` is set by the time it would begin; completes on `eventLoop`.
    func submit(
        on eventLoop: any EventLoop, abandoned: ManagedAtomic<Bool>, _ work: @escaping @Sendable () throws -> ByteBuffer
    ) -> EventLoopFuture<ByteBuffer>
}

/// Threads for work that should not run on an event loop, and a bound on how much of it may be waiting or running
/// at once (until its answer is back on its loop): past it, calls are refused (RESOURCE_EXHAUSTED) rather than
/// queued, so callers that give up at once (a deadline of a nanosecond) cannot pile up work. The bound covers the
/// work submitted here, not other users of the same threads.
public final class LongWorkQueue: WorkQueue {
    public let threads: NIOThreadPool
    public let maximumWaiting: Int
    private let waiting = ManagedAtomic(0)

    /// Work submitted and not yet answered.
    public var waitingCount: Int {
        waiting.load(ordering: .relaxed)
    }

    public init(threads: NIOThreadPool, maximumWaiting: Int = 1024) {
        self.threads = threads
        self.maximumWaiting = maximumWaiting
    }

    /// Runs `work` on the threads, unless `abandoned` is set by the time it would begin; completes on `eventLoop`.
    public func submit(
        on eventLoop: any EventLoop, abandoned: ManagedAtomic<Bool>, _ work: @escaping @Sendable () throws -> ByteBuffer
    ) -> EventLoopFuture<ByteBuffer> {
        guard waiting.wrappingIncrementThenLoad(ordering: .relaxed) <= maximumWaiting else {
            waiting.wrappingDecrement(ordering: .relaxed)
            return eventLoop.makeFailedFuture(
                RPCError(.resourceExhausted, "too many long reads waiting (\(maximumWaiting)); retry later"))
        }
        let answer = threads.runIfActive(eventLoop: eventLoop) {
            guard !abandoned.load(ordering: .relaxed) else { throw CancellationError() }
            return try work()
        }
        answer.whenComplete { [waiting] _ in waiting.wrappingDecrement(ordering: .relaxed) }
        return answer
    }
}

/// Where the read methods of a service run.
///
/// An event loop serves every connection assigned to it, so a read that takes milliseconds (a page of 1,000
/// rows, a broad search) delays every other call on that loop by as much. Short reads are cheaper inline than
/// two thread hops, so the choice is made per call, from what calls like it cost lately (see ``CallCosts``).
public enum Offload: Sendable {
    /// Every read runs by the queue: a store whose reads wait on a database server. A cached answer is given
    /// inline when `versionWithoutWaiting` knows the version (nil: only the queue's work can read it).
    case always(any WorkQueue, versionWithoutWaiting: @Sendable () -> UInt64? = { nil })
    /// A read runs on the queue's threads when calls of its method and size class recently cost more than
    /// `budget` on average; otherwise on the event loop. Answers from the response cache are always given inline.
    case whenLonger(than: Duration, LongWorkQueue)
}

/// Recent cost of one method's calls, per size class (a page size or a limit, in powers of two): an
/// exponentially weighted average of the time the body took, wherever it ran. Updated without a lock; two
/// racing updates lose one sample, which an estimate can afford.
public final class CallCosts: Sendable {
    private let averages: [ManagedAtomic<Int64>]
    /// A new sample weighs 1/8: a class turns long after one call of more than eight budgets, and short again
    /// after a few fast ones.
    private static let weightShift: Int64 = 3

    public init(classes: Int = 12) {
        averages = (0..<max(1, classes)).map { _ in ManagedAtomic(0) }
    }

    /// The class of a size hint: 0 for sizes up to 15, then one class per power of two.
    public func sizeClass(_ size: Int) -> Int {
        let bits = Int.bitWidth - max(0, size >> 4).leadingZeroBitCount
        return min(averages.count - 1, bits)
    }

    /// The average cost of `sizeClass` in nanoseconds.
    public func average(_ sizeClass: Int) -> Int64 {
        averages[sizeClass].load(ordering: .relaxed)
    }

    public func record(_ sizeClass: Int, nanoseconds: Int64) {
        let old = averages[sizeClass].load(ordering: .relaxed)
        averages[sizeClass].store(old + (nanoseconds - old) >> Self.weightShift, ordering: .relaxed)
    }

    /// Runs `body` and records how long it took. A failure counts only if it was slower than the average: a call
    /// refused early says nothing of what its kind costs (cheap failures must not pull a long kind back onto the
    /// loop), a slow one does.
    func measured<T>(_ sizeClass: Int, _ body: () throws -> T) rethrows -> T {
        let start = NIODeadline.now()
        do {
            let result = try body()
            record(sizeClass, nanoseconds: (NIODeadline.now() - start).nanoseconds)
            return result
        } catch {
            let elapsed = (NIODeadline.now() - start).nanoseconds
            if elapsed > average(sizeClass) { record(sizeClass, nanoseconds: elapsed) }
            throw error
        }
    }
}

/// A named service: its fully qualified proto name and its methods.
public struct ServiceDefinition: Sendable {
    public let name: String
    public private(set) var methods: [String: MethodHandler] = [:]
    /// Where the methods added with `addInline` and `addCachedInline…` run when not on the event loop; nil:
    /// always there.
    public var offload: Offload?

    public init(name: String, offload: Offload? = nil) {
        self.name = name
        self.offload = offload
    }

    /// Adds a method, throwing if one of that name exists.
    public mutating func add(_ method: String, _ handler: MethodHandler) throws {
        guard methods[method] == nil else {
            throw RPCError(.alreadyExists, "method \(name)/\(method) is registered twice")
        }
        methods[method] = handler
    }

    /// Adds an inline unary method on typed messages (on ``offload``'s threads when every read goes there).
    /// See ``MethodHandler/inline(_:)``.
    public mutating func addInline<Request: Message, Response: Message>(
        _ method: String, _ body: @escaping @Sendable (Request, CallContext) throws -> Response
    ) throws {
        let run: @Sendable (ByteBuffer, CallContext) throws -> ByteBuffer = { payload, context in
            try body(try decodePayload(payload), context).serializedBuffer()
        }
        guard case .always(let queue, _) = offload else { return try add(method, .inline(run)) }
        try add(method, .inlineOrElsewhere { payload, context in .elsewhere(queue) { try run(payload, context) } })
    }

    /// Adds a read method whose answer depends only on the request and the data version, answered from
    /// `cache` while the version is unchanged (see ``ResponseCache``; nil: no cache), on the event loop or
    /// on ``offload``'s threads (see ``Offload``). `size` gives a request's size hint (a page size or a limit)
    /// for the cost estimate. The body gets no call context: what it answers must not depend on who asks.
    public mutating func addCachedInline<Request: Message, Response: Message>(
        _ method: String, cache: ResponseCache?, version: @escaping @Sendable () -> UInt64,
        size: @escaping @Sendable (Request) -> Int = { _ in 0 },
        _ body: @escaping @Sendable (Request) throws -> Response
    ) throws {
        try addCachedInlineEncoded(method, cache: cache, version: version, size: size) { (request: Request) in
            try body(request).serializedBuffer()
        }
    }

    /// ``addCachedInline(_:cache:version:size:_:)`` for a body that encodes its answer itself.
    public mutating func addCachedInlineEncoded<Request: Message>(
        _ method: String, cache: ResponseCache?, version: @escaping @Sendable () -> UInt64,
        size: @escaping @Sendable (Request) -> Int = { _ in 0 },
        _ body: @escaping @Sendable (Request) throws -> ByteBuffer
    ) throws {
        let key = "\(name)/\(method)"
        /// The answer at `version`: the cached one, else the body's (then cached).
        @Sendable func answer(_ payload: ByteBuffer, _ request: Request, _ version: UInt64) throws -> ByteBuffer {
            guard let cache else { return try body(request) }
            return try cache.response(method: key, request: payload, version: version) { try body(request) }
        }
        switch offload {
        case nil:
            try add(method, .inline { payload, _ in try answer(payload, try decodePayload(payload), version()) })
        case .always(let queue, let versionWithoutWaiting):
            // Reading the version may wait on the database too: then all of it runs by the queue.
            try add(method, .inlineOrElsewhere { payload, _ in
                if let cache, let known = versionWithoutWaiting(),
                   let hit = cache.cached(method: key, request: payload, version: known) {
                    return .answer(hit)
                }
                return .elsewhere(queue) {
                    try answer(payload, try decodePayload(payload), cache == nil ? 0 : version())
                }
            })
        case .whenLonger(let budget, let queue):
            let costs = CallCosts()
            let budgetNanos = TimeAmount(budget).nanoseconds
            try add(method, .inlineOrElsewhere { payload, _ in
                let current = version()
                if let hit = cache?.cached(method: key, request: payload, version: current) {
                    return .answer(hit)
                }
                let request: Request = try decodePayload(payload)
                let sizeClass = costs.sizeClass(size(request))
                @Sendable func compute() throws -> ByteBuffer {
                    let response = try costs.measured(sizeClass) { try body(request) }
                    return cache?.store(method: key, request: payload, version: current, response: response) ?? response
                }
                guard costs.average(sizeClass) > budgetNanos else { return .answer(try compute()) }
                return .elsewhere(queue, compute)
            })
        }
    }

    /// Adds a unary method on typed messages.
    public mutating func addUnary<Request: Message, Response: Message>(
        _ method: String, _ body: @escaping @Sendable (Request, CallContext) async throws -> Response
    ) throws {
        try add(method, .unary { payload, context in
            try await body(try decodePayload(payload), context).serializedBuffer()
        })
    }

    /// Adds a server-streaming method on typed messages.
    public mutating func addServerStreaming<Request: Message, Response: Message>(
        _ method: String,
        _ body: @escaping @Sendable (Request, CallContext, TypedServerStream<Response>) async throws -> Void
    ) throws {
        try add(method, .serverStreaming { payload, context, stream in
            try await body(try decodePayload(payload), context, TypedServerStream(stream))
        })
    }
}

/// Decodes a request payload; a payload that does not decode is the caller's fault (INVALID_ARGUMENT, the same
/// message for every method).
@inlinable
public func decodePayload<M: Message>(_ payload: ByteBuffer) throws -> M {
    do {
        return try M(buffer: payload)
    } catch {
        throw RPCError(.invalidArgument, "payload does not decode as \(M.protoMessageName)")
    }
}

/// A server stream of typed messages.
public struct TypedServerStream<Message: SwiftProtobuf.Message>: Sendable {
    public let raw: ServerStream
    public init(_ raw: ServerStream) { self.raw = raw }

    /// Sends one message. Throws once the stream is over (caller gone, deadline, or too far behind).
    public func send(_ message: Message) async throws {
        try await raw.send(try message.serializedBuffer())
    }
}
