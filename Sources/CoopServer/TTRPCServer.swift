#if canImport(Glibc)
import Glibc
#endif
import CoopWire
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A ttrpc server on a Unix stream socket. It knows services and methods, not what they mean.
///
/// Each connection lives on one event loop; unary calls answer in completion order, and
/// server-streaming calls send ttrpc 1.2 Data frames. Start it with ``start(_:)``, stop it with
/// ``shutdown(gracePeriod:)``.
public final class TTRPCServer: Sendable {
    /// Counters for diagnostics and status lines.
    public let stats = ServerStats()

    private struct State {
        var listener: (any Channel)?
        var boundPath: (path: String, inode: UInt64)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var draining = false
    }

    private let router: Router
    private let group: any EventLoopGroup
    private let logger: Logger
    private let _limits: Mutex<ServerLimits>
    private let state = Mutex(State())
    private let draining = Atomic<Bool>(false)

    public init(router: Router, limits: ServerLimits = .defaults, group: any EventLoopGroup, logger: Logger) {
        self.router = router
        self.group = group
        self.logger = logger
        self._limits = Mutex(limits)
    }

    /// The limits new connections get. Changing them leaves open connections as they are.
    public var limits: ServerLimits {
        get { _limits.withLock { $0 } }
        set { _limits.withLock { $0 = newValue } }
    }

    /// Starts accepting on `address`; returns once a client can connect.
    public func start(_ address: ListenAddress) async throws {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 64 << 10, high: 256 << 10))
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [self] channel in
                self.initializeConnection(channel)
            }

        let listener: any Channel
        switch address {
        case .path(let path, let mode):
            try UnixSocketPath.prepare(path)
            // Bind under a temporary name and rename into place, so that the socket is never
            // visible at `path` with a mode looser than the one asked for.
            let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            let temporary = (directory.isEmpty && !path.hasPrefix("/") ? "." : directory) + "/.coopd-\(getpid()).sock"
            unlink(temporary)
            do {
                listener = try await bootstrap.bind(unixDomainSocketPath: temporary).get()
                try UnixSocketPath.chmod(temporary, mode)
                try UnixSocketPath.rename(temporary, path)
            } catch {
                unlink(temporary)
                throw error
            }
            var st = stat()
            let inode = lstat(path, &st) == 0 ? UInt64(st.st_ino) : 0
            state.withLock { $0.boundPath = (path, inode) }
        case .fileDescriptor(let fd, _):
            listener = try await bootstrap.withBoundSocket(fd).get()
        }
        state.withLock { $0.listener = listener }
        logger.info("listening", metadata: ["socket": "\(address)"])
    }

    private func initializeConnection(_ channel: any Channel) -> EventLoopFuture<Void> {
        let limits = self.limits
        guard stats.connectionOpened(limit: limits.maxConnections) else {
            logger.warning("connection refused: at the connection limit", metadata: ["limit": "\(limits.maxConnections)"])
            return channel.eventLoop.makeFailedFuture(ListenError("connection limit reached"))
        }
        let id = ObjectIdentifier(channel)
        state.withLock { $0.connections[id] = channel }
        channel.closeFuture.whenComplete { [self] _ in
            self.state.withLock { _ = $0.connections.removeValue(forKey: id) }
            self.stats.connectionClosed()
        }
        let credentials: EventLoopFuture<UCred>
        if let provider = channel as? any SocketOptionProvider {
            credentials = provider.unsafeGetSocketOption(
                level: .socket, name: NIOBSDSocket.Option(rawValue: SO_PEERCRED))
        } else {
            credentials = channel.eventLoop.makeSucceededFuture(UCred(pid: 0, uid: UInt32.max, gid: UInt32.max))
        }
        let router = self.router
        let stats = self.stats
        let logger = self.logger
        let draining = { @Sendable [self] in self.draining.load(ordering: .relaxed) }
        return credentials.flatMapThrowing { cred in
            let peer = PeerCredentials(pid: cred.pid, uid: cred.uid, gid: cred.gid)
            try channel.pipeline.syncOperations.addHandler(
                ServerConnectionHandler(
                    router: router, stats: stats, limits: limits, peer: peer, logger: logger, isDraining: draining))
        }
    }

    /// Stops accepting, lets running calls finish for up to `gracePeriod` (server streams end at once
    /// with UNAVAILABLE), then closes every connection. Removes the socket file it bound.
    public func shutdown(gracePeriod: TimeAmount) async {
        draining.store(true, ordering: .relaxed)
        let (listener, bound) = state.withLock { state in
            state.draining = true
            return (state.listener, state.boundPath)
        }
        try? await listener?.close()
        if let bound {
            // Only our own socket file: another daemon may have taken the path since.
            var st = stat()
            if lstat(bound.path, &st) == 0, UInt64(st.st_ino) == bound.inode { unlink(bound.path) }
        }
        let connections = state.withLock { Array($0.connections.values) }
        for connection in connections {
            connection.pipeline.fireUserInboundEventTriggered(DrainConnectionEvent())
        }
        let eventLoop = group.next()
        let forceClose = eventLoop.scheduleTask(in: gracePeriod) {
            for connection in connections { connection.close(promise: nil) }
        }
        try? await EventLoopFuture.andAllComplete(connections.map(\.closeFuture), on: eventLoop).get()
        forceClose.cancel()
    }
}
