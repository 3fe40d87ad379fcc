import CoopProto
import CoopWire
import NIOCore
import NIOPosix
import SwiftProtobuf
import Synchronization

@_exported import struct CoopWire.MetadataEntry
@_exported import struct CoopWire.RPCError
@_exported import struct CoopWire.StatusCode

/// Per-call options.
public struct CallOptions: Sendable {
    /// How long the caller waits; sent to the server as `timeout_nano`. nil waits forever.
    public var timeout: Duration?
    /// Metadata pairs sent with the call.
    public var metadata: [MetadataEntry]

    public init(timeout: Duration? = nil, metadata: [MetadataEntry] = []) {
        self.timeout = timeout
        self.metadata = metadata
    }

    public static let defaults = CallOptions()
}

/// A ttrpc client for coopd on a Unix socket.
///
/// One connection carries every call, multiplexed by stream id; answers arrive in any order.
/// The connection is made on the first call and made again on the next call after it drops
/// (for instance when the daemon restarts). Safe to share between tasks.
public final class CoopClient: Sendable {
    public let socketPath: String
    private let group: any EventLoopGroup
    private let connection = Locked<ConnectionState>(.idle)

    private enum ConnectionState {
        case idle
        case connecting(EventLoopFuture<Connected>)
        case connected(Connected)
        case shutdown
    }

    struct Connected: Sendable {
        let channel: any Channel
        let handler: NIOLoopBound<ClientConnectionHandler>
    }

    public init(socketPath: String, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.socketPath = socketPath
        self.group = group
    }

    /// Closes the connection; later calls fail with UNAVAILABLE.
    public func close() async {
        let old = connection.withLock { state -> ConnectionState in
            defer { state = .shutdown }
            return state
        }
        switch old {
        case .connected(let c): try? await c.channel.close()
        case .connecting(let f): try? await f.get().channel.close()
        case .idle, .shutdown: break
        }
    }

    // MARK: calls

    /// Makes a unary call with an already serialized request; returns the serialized response.
    /// Throws ``RPCError`` with the server's status, or UNAVAILABLE / DEADLINE_EXCEEDED / CANCELLED from here.
    public func call(
        service: String, method: String, payload: ByteBuffer, options: CallOptions = .defaults
    ) async throws -> ByteBuffer {
        let connected = try await connect()
        let (request, deadline) = envelope(service, method, payload, options)
        let promise = connected.channel.eventLoop.makePromise(of: ByteBuffer.self)
        let handler = connected.handler
        let streamID = Locked<UInt32?>(nil)
        return try await withTaskCancellationHandler {
            connected.channel.eventLoop.execute {
                let id = handler.value.startUnary(request, deadline: deadline, promise: promise)
                streamID.withLock { $0 = id }
            }
            return try await promise.futureResult.get()
        } onCancel: {
            connected.channel.eventLoop.execute {
                if let id = streamID.withLock({ $0 }) {
                    handler.value.abandon(id, RPCError(.cancelled, "call cancelled"))
                } else {
                    promise.fail(RPCError(.cancelled, "call cancelled"))
                }
            }
        }
    }

    /// Makes a unary call on typed messages.
    public func unary<Request: Message, Response: Message>(
        service: String, method: String, request: Request, as: Response.Type = Response.self,
        options: CallOptions = .defaults
    ) async throws -> Response {
        let bytes = try await call(service: service, method: method, payload: try request.serializedBuffer(), options: options)
        do {
            return try Response(buffer: bytes)
        } catch {
            throw RPCError(.internalError, "response does not decode as \(Response.protoMessageName)")
        }
    }

    /// Opens a server stream with an already serialized request. The sequence yields each message,
    /// ends when the server ends the stream, and throws ``RPCError`` if it ends with an error.
    /// Stopping iteration (or cancelling the task) abandons the stream.
    public func serverStream(
        service: String, method: String, payload: ByteBuffer, options: CallOptions = .defaults
    ) -> AsyncThrowingStream<ByteBuffer, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: ByteBuffer.self)
        let (request, deadline) = envelope(service, method, payload, options)
        // Connecting is async; the stream is handed back at once and fed when the request is out.
        Task {
            do {
                let connected = try await connect()
                let handler = connected.handler
                let eventLoop = connected.channel.eventLoop
                eventLoop.execute {
                    guard let id = handler.value.startStream(request, deadline: deadline, continuation: continuation)
                    else { return }
                    continuation.onTermination = { reason in
                        if case .cancelled = reason {
                            eventLoop.execute { handler.value.abandon(id, RPCError(.cancelled, "stream cancelled")) }
                        }
                    }
                }
            } catch {
                continuation.finish(throwing: error)
            }
        }
        return stream
    }

    /// Opens a server stream on typed messages.
    public func serverStream<Request: Message, Response: Message>(
        service: String, method: String, request: Request, as: Response.Type = Response.self,
        options: CallOptions = .defaults
    ) throws -> AsyncThrowingMapSequence<AsyncThrowingStream<ByteBuffer, any Error>, Response> {
        let payload = try request.serializedBuffer()
        return serverStream(service: service, method: method, payload: payload, options: options).map { bytes in
            do {
                return try Response(buffer: bytes)
            } catch {
                throw RPCError(.internalError, "stream message does not decode as \(Response.protoMessageName)")
            }
        }
    }

    private func envelope(
        _ service: String, _ method: String, _ payload: ByteBuffer, _ options: CallOptions
    ) -> (RequestEnvelope, NIODeadline?) {
        var timeoutNanos: Int64 = 0
        var deadline: NIODeadline?
        if let timeout = options.timeout {
            let (seconds, attoseconds) = timeout.components
            timeoutNanos = max(1, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
            deadline = .now() + .nanoseconds(timeoutNanos)
        }
        let request = RequestEnvelope(
            service: service, method: method, payload: payload, timeoutNanos: timeoutNanos,
            metadata: options.metadata)
        return (request, deadline)
    }

    // MARK: connection

    private func connect() async throws -> Connected {
        let future: EventLoopFuture<Connected> = try connection.withLock { state in
            switch state {
            case .connected(let c) where c.channel.isActive:
                return c.channel.eventLoop.makeSucceededFuture(c)
            case .connecting(let f):
                return f
            case .shutdown:
                throw RPCError(.unavailable, "client is closed")
            case .idle, .connected:
                let f = makeConnection()
                state = .connecting(f)
                return f
            }
        }
        do {
            let connected = try await future.get()
            connection.withLock { state in
                if case .connecting = state { state = .connected(connected) }
            }
            return connected
        } catch {
            connection.withLock { state in
                if case .connecting = state { state = .idle }
            }
            throw RPCError(.unavailable, "cannot connect to coopd at \(socketPath): \(Self.describe(error))")
        }
    }

    private func makeConnection() -> EventLoopFuture<Connected> {
        ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(ClientConnectionHandler())
                }
            }
            .connect(unixDomainSocketPath: socketPath)
            .flatMapThrowing { channel in
                let handler = try channel.pipeline.syncOperations.handler(type: ClientConnectionHandler.self)
                return Connected(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
            }
    }

    private static func describe(_ error: any Error) -> String {
        if let io = error as? IOError {
            return io.description
        }
        return "\(error)"
    }
}
