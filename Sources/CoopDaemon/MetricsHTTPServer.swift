#if canImport(Glibc)
import Glibc
#endif
import CoopServer
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// Where `--metrics-listen` serves metrics over HTTP: a loopback TCP port or a Unix socket path.
///
/// Only loopback: the metrics describe one machine's daemon and its local clients, so they stay on that machine
/// (a Prometheus server elsewhere scrapes through something local, such as a node agent or an SSH tunnel).
public enum MetricsListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// An IP literal in 127.0.0.0/8 or ::1, and a port (0: any free one).
    case tcp(host: String, port: Int)
    /// An absolute path, bound like coopd's own socket (same mode, same checks of its directory).
    case unix(path: String)

    /// Parses `127.0.0.1:9464`, `[::1]:9464`, `localhost:9464` (127.0.0.1) or `/run/coopd/metrics.sock`.
    public init(parsing text: String) throws {
        func refuse(_ why: String) -> ConfigurationError {
            ConfigurationError("metrics-listen: \(why)")
        }
        if text.hasPrefix("/") {
            self = .unix(path: text)
            return
        }
        guard let colon = text.lastIndex(of: ":") else {
            throw refuse(
                "expected a loopback HOST:PORT (127.0.0.1:9464, [::1]:9464, localhost:9464) or an absolute Unix "
                    + "socket path, got \"\(text)\"")
        }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw refuse("expected a port number from 0 to 65535 after the colon, got \"\(text)\"")
        }
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            throw refuse("write an IPv6 address in brackets, as [::1]:\(port)")
        }
        if host == "localhost" { host = "127.0.0.1" }
        guard Self.isLoopback(host) else {
            throw refuse(
                "\(host) is not a loopback address: coopd serves metrics only on 127.0.0.0/8, [::1], localhost "
                    + "or a Unix socket path, as they describe this machine alone")
        }
        self = .tcp(host: host, port: port)
    }

    /// An IPv4 literal in 127.0.0.0/8, or the IPv6 loopback address.
    static func isLoopback(_ host: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { bytes in bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1 }
        }
        return false
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): path
        }
    }
}

/// A minimal HTTP/1.1 server for a Prometheus server: `GET /metrics` (and HEAD) answers the metrics as text,
/// anything else 404 (405 for another method on /metrics). Connections idle for a minute are closed.
final class MetricsHTTPServer: Sendable {
    private let channel: any Channel
    private let unixSocket: BoundUnixSocket?
    /// Where it listens, with the port it got: `http://127.0.0.1:9464/metrics`, `unix:/run/coopd/metrics.sock`.
    let url: String

    private init(channel: any Channel, unixSocket: BoundUnixSocket?, url: String) {
        self.channel = channel
        self.unixSocket = unixSocket
        self.url = url
    }

    static func start(
        _ address: MetricsListenAddress, socketMode: UInt32, group: any EventLoopGroup,
        render: @escaping @Sendable () -> String
    ) async throws -> MetricsHTTPServer {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .seconds(60)))
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(render: render))
                }
            }
        switch address {
        case .tcp(let host, let port):
            let channel = try await bootstrap.bind(host: host, port: port).get()
            let bound = channel.localAddress?.port ?? port
            let shown = host.contains(":") ? "[\(host)]" : host
            return MetricsHTTPServer(channel: channel, unixSocket: nil, url: "http://\(shown):\(bound)/metrics")
        case .unix(let path):
            let socket = try await UnixSocketListener.bind(bootstrap, path: path, mode: socketMode)
            return MetricsHTTPServer(channel: socket.channel, unixSocket: socket, url: "unix:\(path)")
        }
    }

    /// Stops listening (open connections end with their client) and removes a socket file it bound.
    func stop() async {
        try? await channel.close()
        unixSocket?.removeFile()
    }
}

/// Answers each request of one HTTP connection.
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let render: @Sendable () -> String
    private var head: HTTPRequestHead?

    init(render: @escaping @Sendable () -> String) {
        self.render = render
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            respond(context: context, to: head)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func respond(context: ChannelHandlerContext, to request: HTTPRequestHead) {
        let path = request.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let status: HTTPResponseStatus
        let body: String
        var headers = HTTPHeaders()
        if path != "/metrics" {
            status = .notFound
            body = "not found: metrics are at /metrics\n"
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        } else if request.method != .GET && request.method != .HEAD {
            status = .methodNotAllowed
            body = "method not allowed: use GET\n"
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            headers.add(name: "Allow", value: "GET, HEAD")
        } else {
            status = .ok
            body = render()
            headers.add(name: "Content-Type", value: DaemonMetrics.contentType)
        }
        let bytes = context.channel.allocator.buffer(string: body)
        headers.add(name: "Content-Length", value: String(bytes.readableBytes))
        let keepAlive = request.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let head = HTTPResponseHead(version: request.version, status: status, headers: headers)
        context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
        if request.method != .HEAD {
            context.write(Self.wrapOutboundOut(.body(.byteBuffer(bytes))), promise: nil)
        }
        let written = context.writeAndFlush(Self.wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

@available(*, unavailable)
extension MetricsHTTPHandler: Sendable {}
