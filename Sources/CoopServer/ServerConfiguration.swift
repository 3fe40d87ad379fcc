import CoopWire
import NIOCore

/// Limits a server enforces. Each one, when hit, gets a status or a clean close, never a crash.
public struct ServerLimits: Sendable, Hashable {
    /// Open connections; one more is accepted and closed at once.
    public var maxConnections: Int = 1024
    /// Open connections of one peer uid, so that one local user cannot take every slot. Root and the
    /// server's own uid are not held to it.
    public var maxConnectionsPerUID: Int = 256
    /// Calls running at once on one connection; one more is answered RESOURCE_EXHAUSTED.
    public var maxConcurrentCallsPerConnection: Int = 256
    /// Largest frame payload accepted; longer frames are skipped and answered RESOURCE_EXHAUSTED.
    public var maxFrameSize: Int = FrameLimits.maxPayloadSize
    /// A connection with no calls running and no bytes arriving for this long is closed; nil keeps it open.
    /// A running server stream (WatchChanges) is a call, so a quiet watcher is never idle.
    public var idleTimeout: TimeAmount? = .seconds(300)
    /// A frame that has begun but not finished arriving within this time closes its connection.
    public var partialFrameTimeout: TimeAmount = .seconds(10)
    /// How long a server stream may wait for a client that stopped reading before it is ended
    /// with RESOURCE_EXHAUSTED (the connection and its other calls carry on).
    public var streamStallTimeout: TimeAmount = .seconds(5)
    /// Answers one connection may have queued before the server stops reading its requests (backpressure:
    /// the kernel's buffers fill and the client blocks). Past this the connection waits for its client to read.
    public var maxQueuedOutputBytes: Int = 256 << 10
    /// A connection whose client has not taken its queued answers for this long is closed.
    public var outputStallTimeout: TimeAmount = .seconds(30)
    /// Metadata one request may carry; more is answered RESOURCE_EXHAUSTED without decoding the rest.
    public var metadata: MetadataLimits = .defaults

    public init() {}

    public static let defaults = ServerLimits()
}

/// Where a server listens.
public enum ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// Bind this path. `mode` is applied to the socket file before clients can see it.
    case path(String, mode: UInt32 = 0o660)
    /// Serve an already listening socket (socket activation); the server takes ownership of it.
    case fileDescriptor(CInt, path: String?)

    public var description: String {
        switch self {
        case .path(let p, _): p
        case .fileDescriptor(let fd, let path): path.map { "\($0) (fd \(fd))" } ?? "fd \(fd)"
        }
    }
}
