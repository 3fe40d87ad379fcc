import CoopWire
import NIOCore
import NIOPosix
import SwiftProtobuf

/// How a method runs. The server decides unary vs streaming from this, never from frame flags.
public enum MethodHandler: Sendable {
    /// Runs synchronously on the connection's event loop: no task, no thread hop.
    /// Only for short work that waits on no other thread or peer: echo, counters, cached state, bounded reads
    /// of an embedded database (tens of microseconds; less than two thread hops cost).
    case inline(@Sendable (ByteBuffer, CallContext) throws -> ByteBuffer)
    /// Runs as a task, under the call's deadline; cancelled when the caller goes away.
    case unary(@Sendable (ByteBuffer, CallContext) async throws -> ByteBuffer)
    /// Sends any number of messages (ttrpc 1.2 Data frames), then ends the stream by returning or throwing.
    case serverStreaming(@Sendable (ByteBuffer, CallContext, ServerStream) async throws -> Void)
}

/// A named service: its fully qualified proto name and its methods.
public struct ServiceDefinition: Sendable {
    public let name: String
    public private(set) var methods: [String: MethodHandler] = [:]
    /// Threads for bodies that may block (a database server's answer): when set, the methods added with
    /// `addInline` and `addCachedInline…` run there, as tasks, instead of on the event loop.
    public var blockingThreads: NIOThreadPool?

    public init(name: String, blockingThreads: NIOThreadPool? = nil) {
        self.name = name
        self.blockingThreads = blockingThreads
    }

    /// `.inline`, or a task that runs `body` on ``blockingThreads`` when they are set.
    private func inlineOrBlocking(
        _ body: @escaping @Sendable (ByteBuffer, CallContext) throws -> ByteBuffer
    ) -> MethodHandler {
        guard let threads = blockingThreads else { return .inline(body) }
        return .unary { payload, context in
            try await threads.runIfActive { try body(payload, context) }
        }
    }

    /// Adds a method, throwing if one of that name exists.
    public mutating func add(_ method: String, _ handler: MethodHandler) throws {
        guard methods[method] == nil else {
            throw RPCError(.alreadyExists, "method \(name)/\(method) is registered twice")
        }
        methods[method] = handler
    }

    /// Adds an inline unary method on typed messages. See ``MethodHandler/inline(_:)``.
    public mutating func addInline<Request: Message, Response: Message>(
        _ method: String, _ body: @escaping @Sendable (Request, CallContext) throws -> Response
    ) throws {
        try add(method, inlineOrBlocking { payload, context in
            try body(try decodePayload(payload), context).serializedBuffer()
        })
    }

    /// Adds an inline unary method whose answer depends only on the request and the data version, answered
    /// from `cache` while the version is unchanged (see ``ResponseCache``); without a cache, a plain inline method.
    /// The body gets no call context: what it answers must not depend on who asks.
    public mutating func addCachedInline<Request: Message, Response: Message>(
        _ method: String, cache: ResponseCache?, version: @escaping @Sendable () -> UInt64,
        _ body: @escaping @Sendable (Request) throws -> Response
    ) throws {
        try addCachedInlineEncoded(method, cache: cache, version: version) { (request: Request) in
            try body(request).serializedBuffer()
        }
    }

    /// ``addCachedInline(_:cache:version:_:)`` for a body that encodes its answer itself.
    public mutating func addCachedInlineEncoded<Request: Message>(
        _ method: String, cache: ResponseCache?, version: @escaping @Sendable () -> UInt64,
        _ body: @escaping @Sendable (Request) throws -> ByteBuffer
    ) throws {
        guard let cache else {
            return try add(method, inlineOrBlocking { payload, _ in try body(try decodePayload(payload)) })
        }
        let key = "\(name)/\(method)"
        try add(method, inlineOrBlocking { payload, _ in
            try cache.response(method: key, request: payload, version: version()) {
                try body(try decodePayload(payload))
            }
        })
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

/// Decodes a request payload; a payload that does not decode is the caller's fault.
@inlinable
func decodePayload<M: Message>(_ payload: ByteBuffer) throws -> M {
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
