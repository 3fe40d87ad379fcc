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
    /// Counters for diagnostics, metrics and status lines.
    public let stats: ServerStats

    private struct State {
        var listener: (any Channel)?
        var boundPath: BoundUnixSocket?
        var connections: [ObjectIdentifier: any Channel] = [:]
        /// Open connections by peer uid, for `ServerLimits.maxConnectionsPerUID`.
        var connectionsByUID: [UInt32: Int] = [:]
        var draining = false
    }

    private let router: Router
    private let group: any EventLoopGroup
    private let logger: Logger
    private let _limits: Locked<ServerLimits>
    private let state = Locked(State())
    private let draining = Atomic<Bool>(false)
    /// Refusals and accept failures come in floods; the log says how many once per interval.
    private let refusalLog = RateLimitedLog(interval: .seconds(10))
    private let acceptLog = RateLimitedLog(interval: .seconds(10))
    private let ownUID = getuid()

    public init(router: Router, limits: ServerLimits = .defaults, group: any EventLoopGroup, logger: Logger) {
        self.router = router
        self.stats = ServerStats(methods: router.methods)
        self.group = group
        self.logger = logger
        self._limits = Locked(limits)
    }

    /// The limits new connections get. Changing them leaves open connections as they are.
    public var limits: ServerLimits {
        get { _limits.withLock { $0 } }
        set { _limits.withLock { $0 = newValue } }
    }

    /// Starts accepting on `address`; returns once a client can connect.
    public func start(_ address: ListenAddress) async throws {
        let acceptLog = self.acceptLog
        let logger = self.logger
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptPauseHandler(log: acceptLog, logger: logger))
                }
            }
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [self] channel in
                self.initializeConnection(channel)
            }

        let listener: any Channel
        switch address {
        case .path(let path, let mode):
            let bound = try await UnixSocketListener.bind(bootstrap, path: path, mode: mode)
            listener = bound.channel
            state.withLock { $0.boundPath = bound }
        case .fileDescriptor(let fd, _):
            listener = try await bootstrap.withBoundSocket(fd).get()
        }
        state.withLock { $0.listener = listener }
        logger.info("listening", metadata: ["socket": "\(address)"])
    }

    private func initializeConnection(_ channel: any Channel) -> EventLoopFuture<Void> {
        let limits = self.limits
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
        return credentials.flatMapThrowing { [self] cred in
            let peer = PeerCredentials(pid: cred.pid, uid: cred.uid, gid: cred.gid)
            try self.admit(channel, peer: peer, limits: limits)
            try channel.syncOptions?.setOption(
                .writeBufferWaterMark,
                value: .init(low: max(1, limits.maxQueuedOutputBytes / 4), high: limits.maxQueuedOutputBytes))
            try channel.pipeline.syncOperations.addHandler(
                ServerConnectionHandler(
                    router: router, stats: stats, limits: limits, peer: peer, logger: logger, isDraining: draining))
        }
    }

    /// Counts a new connection against the limits, or throws (the connection is then closed at once).
    private func admit(_ channel: any Channel, peer: PeerCredentials, limits: ServerLimits) throws {
        let exempt = peer.uid == 0 || peer.uid == ownUID
        guard stats.connectionOpened(limit: limits.maxConnections) else {
            stats.connectionRefused(.maxConnections)
            refusalLog.record { count in
                self.logger.warning(
                    "connection refused: at the connection limit",
                    metadata: ["limit": "\(limits.maxConnections)", "refused": "\(count)"])
            }
            throw ListenError("connection limit reached")
        }
        let admitted = state.withLock { state in
            let open = state.connectionsByUID[peer.uid, default: 0]
            guard exempt || open < limits.maxConnectionsPerUID else { return false }
            state.connectionsByUID[peer.uid] = open + 1
            state.connections[ObjectIdentifier(channel)] = channel
            return true
        }
        guard admitted else {
            stats.connectionClosed()
            stats.connectionRefused(.maxConnectionsPerUID)
            refusalLog.record { count in
                self.logger.warning(
                    "connection refused: the peer's uid holds its share of connections",
                    metadata: ["limit_per_uid": "\(limits.maxConnectionsPerUID)", "refused": "\(count)", "uid": "\(peer.uid)"])
            }
            throw ListenError("connection limit for uid \(peer.uid) reached")
        }
        let id = ObjectIdentifier(channel)
        channel.closeFuture.whenComplete { [self] _ in
            self.state.withLock { state in
                state.connections.removeValue(forKey: id)
                let left = state.connectionsByUID[peer.uid, default: 1] - 1
                state.connectionsByUID[peer.uid] = left > 0 ? left : nil
            }
            self.stats.connectionClosed()
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
        bound?.removeFile()
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

/// Logs an event that can repeat thousands of times a second at most once per interval, with how many
/// times it happened since the previous line (the first occurrence is logged at once).
public final class RateLimitedLog: Sendable {
    private struct State {
        var last: NIODeadline?
        var count = 0
    }
    private let interval: TimeAmount
    private let state = Locked(State())

    public init(interval: TimeAmount) { self.interval = interval }

    /// Counts one occurrence; calls `log` with the count when the interval has passed since the last line.
    public func record(_ log: (Int) -> Void) {
        let now = NIODeadline.now()
        let due: Int? = state.withLock { state in
            state.count += 1
            if let last = state.last, now - last < interval { return nil }
            state.last = now
            defer { state.count = 0 }
            return state.count
        }
        if let due { log(due) }
    }
}

/// Pauses accepting for a moment when accept fails for want of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM).
///
/// The failing connection stays in the listen queue, so the listening socket stays readable: without a pause
/// the event loop would retry at once, forever. NIO's `AcceptBackoffHandler` cannot pause here, as the channel
/// still counts its read as pending when the first accept of a wake-up fails; turning `autoRead` off takes the
/// socket out of the poll set until the pause is over.
final class AcceptPauseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = any Channel

    static let pause = TimeAmount.milliseconds(100)

    private let log: RateLimitedLog
    private let logger: Logger
    private var resume: Scheduled<Void>?

    init(log: RateLimitedLog, logger: Logger) {
        self.log = log
        self.logger = logger
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let io = error as? IOError, [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(io.errnoCode) else {
            context.fireErrorCaught(error)
            return
        }
        let logger = self.logger
        log.record { count in
            logger.warning(
                "cannot accept connections: \(io); accepting again shortly",
                metadata: ["failures": "\(count)", "hint": "raise LimitNOFILE= or lower --max-connections"])
        }
        guard resume == nil else { return }
        try? context.channel.syncOptions?.setOption(.autoRead, value: false)
        let channel = context.channel
        resume = context.eventLoop.assumeIsolated().scheduleTask(in: Self.pause) { [self] in
            self.resume = nil
            try? channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        resume?.cancel()
        resume = nil
        context.fireChannelInactive()
    }
}
