#if canImport(Glibc)
import Glibc
#endif
import CoopClient
import CoopProto
import Foundation
import NIOCore
import Testing

/// coopd's metrics: GetMetrics, `--metrics-listen` over HTTP, and counters that move by exactly the calls made.
@Suite struct MetricsTests {
    @Test func countersMoveByExactlyTheCallsMade() async throws {
        try await withDaemon { daemon in
            try await withClient(daemon.socketPath) { client in
                let before = try await Metrics.take(client)
                for i in 0..<3 { _ = try await client.echo(Data("echo \(i)".utf8)) }
                await #expect(throws: RPCError.self) {
                    _ = try await client.call(
                        service: "coop.v1.Diagnostics", method: "Echo", payload: ByteBuffer(bytes: [0x0a, 0x05, 0x01]))
                }
                let unknown = await #expect(throws: RPCError.self) { _ = try await client.health(service: "no.such.Service") }
                #expect(unknown?.code == .notFound)
                let unimplemented = await #expect(throws: RPCError.self) {
                    _ = try await client.call(service: "coop.v1.Diagnostics", method: "NoSuchMethod", payload: ByteBuffer())
                }
                #expect(unimplemented?.code == .unimplemented)
                // A read answered once computed, then from the response cache.
                _ = try await client.listCountries()
                _ = try await client.listCountries()
                // Two writes one after the other: a group each.
                for title in ["first", "second"] {
                    _ = try await client.putSource(.with {
                        $0.title = title
                        $0.publisher = "metrics test"
                        $0.url = "https://example.org/\(title)"
                        $0.published = "2026-01-15"
                        $0.kind = .news
                    })
                }
                let after = try await Metrics.take(client)

                func delta(_ series: String) -> Double { after.value(series) - before.value(series) }
                let echo = #"service="coop.v1.Diagnostics",method="Echo""#
                #expect(delta(#"coopd_calls_total{\#(echo),code="OK"}"#) == 3, "\(after.text)")
                #expect(delta(#"coopd_calls_total{\#(echo),code="INVALID_ARGUMENT"}"#) == 1)
                #expect(delta(#"coopd_call_duration_seconds_count{\#(echo)}"#) == 4)
                #expect(delta(#"coopd_call_duration_seconds_bucket{\#(echo),le="+Inf"}"#) == 4)
                #expect(after.value(#"coopd_call_duration_seconds_sum{\#(echo)}"#) > before.value(#"coopd_call_duration_seconds_sum{\#(echo)}"#))
                #expect(delta(#"coopd_calls_total{service="grpc.health.v1.Health",method="Check",code="NOT_FOUND"}"#) == 1)
                #expect(delta(#"coopd_requests_rejected_total{code="UNIMPLEMENTED"}"#) == 1)
                // The first GetMetrics call ended before the second took the metrics; the second is still running.
                #expect(delta(#"coopd_calls_total{service="coop.v1.Diagnostics",method="GetMetrics",code="OK"}"#) == 1)
                #expect(after.value(#"coopd_calls_in_flight{service="coop.v1.Diagnostics",method="GetMetrics"}"#) == 1)
                #expect(after.value(#"coopd_calls_in_flight{service="coop.v1.Diagnostics",method="Echo"}"#) == 0)
                let countries = #"service="coop.v1.Cooperation",method="ListCountries""#
                #expect(delta(#"coopd_calls_total{\#(countries),code="OK"}"#) == 2)
                #expect(delta("coopd_response_cache_misses_total") == 1)
                #expect(delta("coopd_response_cache_hits_total") == 1)
                #expect(delta(#"coopd_calls_total{service="coop.v1.Cooperation",method="PutSource",code="OK"}"#) == 2)
                #expect(delta("coopd_write_group_requests_count") == 2)
                #expect(delta("coopd_write_group_requests_sum") == 2)
                #expect(delta("coopd_commit_duration_seconds_count") == 2)
                // One client, one connection; the harness's readiness probe came and went before.
                #expect(after.value("coopd_connections_opened_total") == 2)
                #expect(after.value("coopd_connections_open") == 1)
                #expect(delta("coopd_bytes_received_total") > 0)
                #expect(delta("coopd_bytes_sent_total") > 0)
                #expect(after.value(#"coopd_build_info{version="0.1.0"}"#) == 1)
            }
        }
    }

    @Test func refusedConnectionsAreCountedByTheLimitTheyMet() async throws {
        try await withDaemon(arguments: ["--max-connections", "2"]) { daemon in
            try await withClient(daemon.socketPath) { client in
                // The harness's readiness probe may still count as open for a moment.
                try await poll("the probe's connection to close") {
                    try await Metrics.take(client).value("coopd_connections_open") == 1 ? true : nil
                }
                let second = try RawConnection.connect(daemon.socketPath)
                #expect(try await second.echo(streamID: 1, data: [2]) == [2])
                let refused = try RawConnection.connect(daemon.socketPath)
                try? await refused.send(Wire.echo(streamID: 1, data: [1]))
                #expect(try await refused.readUntilClosed(timeout: .seconds(10)).isEmpty)
                let metrics = try await Metrics.take(client)
                #expect(metrics.value(#"coopd_connections_refused_total{reason="max_connections"}"#) == 1, "\(metrics.text)")
                #expect(metrics.value(#"coopd_connections_refused_total{reason="max_connections_per_uid"}"#) == 0)
                // The probe, this client and the second connection.
                #expect(metrics.value("coopd_connections_opened_total") == 3, "\(metrics.text)")
                #expect(metrics.value("coopd_connections_open") == 2)
            }
        }
    }

    @Test func watchSubscribersCountTheOpenChangeFeeds() async throws {
        try await withDaemon { daemon in
            try await withClient(daemon.socketPath) { client in
                #expect(try await Metrics.take(client).value("coopd_watch_subscribers") == 0)
                // On a connection of its own, which closing ends the stream (ttrpc has no way to cancel one call).
                let watcher = CoopClient(socketPath: daemon.socketPath)
                let watching = Task {
                    for try await _ in try watcher.watchChanges(fromSequence: 0, options: CallOptions(timeout: .seconds(60))) {}
                }
                try await poll("a WatchChanges subscriber") {
                    let metrics = try await Metrics.take(client)
                    return metrics.value("coopd_watch_subscribers") == 1
                        && metrics.value(#"coopd_calls_in_flight{service="coop.v1.Cooperation",method="WatchChanges"}"#) == 1
                        ? true : nil
                }
                await watcher.close()
                watching.cancel()
                try await poll("the subscriber to go") {
                    try await Metrics.take(client).value("coopd_watch_subscribers") == 0 ? true : nil
                }
                let metrics = try await Metrics.take(client)
                #expect(metrics.value(#"coopd_calls_total{service="coop.v1.Cooperation",method="WatchChanges",code="CANCELLED"}"#) == 1, "\(metrics.text)")
            }
        }
    }

    /// Debian's `promtool check metrics` (package `prometheus`) finds nothing to say about the text: names, types,
    /// help, units and histograms as Prometheus wants them.
    @Test func promtoolAcceptsTheExposition() async throws {
        let promtool = try TestBinaries.promtool()
        try await withDaemon(environment: ["COOPD_SEED": "yes"]) { daemon in
            try await withClient(daemon.socketPath) { client in
                _ = try await client.echo(Data("x".utf8))
                _ = try await client.listCountries()
                _ = try await client.listCountries()
                _ = try await client.putSource(.with {
                    $0.title = "promtool"
                    $0.publisher = "metrics test"
                    $0.url = "https://example.org/promtool"
                    $0.published = "2026-01-15"
                    $0.kind = .news
                })
                await #expect(throws: RPCError.self) { _ = try await client.health(service: "no.such.Service") }
                let metrics = try await client.metrics()
                #expect(metrics.contentType == "text/plain; version=0.0.4; charset=utf-8")
                for family in [
                    "coopd_calls_total counter", "coopd_call_duration_seconds histogram", "coopd_calls_in_flight gauge",
                    "coopd_connections_opened_total counter", "coopd_connections_open gauge",
                    "coopd_connections_refused_total counter", "coopd_bytes_received_total counter",
                    "coopd_bytes_sent_total counter", "coopd_write_group_requests histogram",
                    "coopd_commit_duration_seconds histogram", "coopd_response_cache_hits_total counter",
                    "coopd_response_cache_misses_total counter", "coopd_response_cache_evictions_total counter",
                    "coopd_watch_subscribers gauge",
                ] {
                    #expect(metrics.text.contains("\n# TYPE \(family)\n"), "\(family)")
                }
                let file = daemon.directory.file("metrics.txt")
                try metrics.text.write(toFile: file, atomically: true, encoding: .utf8)
                let check = try await runToCompletion("/bin/sh", ["-c", "\"$0\" check metrics < \"$1\"", promtool, file],
                                                      in: daemon.directory)
                #expect(check.termination == .exited(0), "promtool: \(check.stdout)\(check.stderr)\n\(metrics.text)")
                #expect(check.stdout.isEmpty && check.stderr.isEmpty, "promtool: \(check.stdout)\(check.stderr)")
            }
        }
    }

    @Test func metricsAreServedOverHTTPOnAUnixSocket() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("metrics.sock")
            try await withDaemon(in: directory, arguments: ["--metrics-listen", path]) { daemon in
                try await daemon.waitForStderr(containing: "serving metrics at unix:\(path)")
                var st = stat()
                #expect(lstat(path, &st) == 0 && st.st_mode & 0o777 == 0o660)
                _ = try await withClient(daemon.socketPath) { client in try await client.echo(Data("x".utf8)) }

                let ok = try await HTTP.request(.unix(path), "GET", "/metrics")
                #expect(ok.status == 200, "\(ok)")
                #expect(ok.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
                #expect(ok.headers["content-length"] == String(ok.body.utf8.count))
                #expect(ok.body.contains(#"coopd_calls_total{service="coop.v1.Diagnostics",method="Echo",code="OK"} 1"#), "\(ok.body)")
                // A scrape is no call: the ttrpc counters do not see it.
                #expect(!ok.body.contains(#"method="GetMetrics",code="#), "\(ok.body)")

                let head = try await HTTP.request(.unix(path), "HEAD", "/metrics")
                #expect(head.status == 200 && head.body.isEmpty)
                #expect(try await HTTP.request(.unix(path), "GET", "/metrics?name=x").status == 200)
                #expect(try await HTTP.request(.unix(path), "GET", "/").status == 404)
                #expect(try await HTTP.request(.unix(path), "GET", "/metrics/more").status == 404)
                let post = try await HTTP.request(.unix(path), "POST", "/metrics")
                #expect(post.status == 405 && post.headers["allow"] == "GET, HEAD")

                #expect(try await daemon.terminate() == .exited(0))
                #expect(lstat(path, &st) != 0, "the metrics socket is removed on exit")
            }
        }
    }

    @Test func metricsAreServedOverHTTPOnALoopbackPort() async throws {
        try await withDaemon(arguments: ["--metrics-listen", "127.0.0.1:0"]) { daemon in
            let stderr = try await daemon.waitForStderr(containing: "serving metrics at http://127.0.0.1:")
            let port = try #require(
                stderr.components(separatedBy: "serving metrics at http://127.0.0.1:").last
                    .flatMap { Int($0.prefix { $0.isNumber }) })
            let ok = try await HTTP.request(.tcp(port), "GET", "/metrics")
            #expect(ok.status == 200, "\(ok)")
            #expect(ok.body.contains("# TYPE coopd_connections_open gauge\n"))
            #expect(try await HTTP.request(.tcp(port), "GET", "/nothing").status == 404)
        }
    }

    @Test func aMetricsAddressOffThisMachineIsRefused() async throws {
        for address in ["0.0.0.0:9464", "192.168.1.10:9464", "example.org:9464", "[::]:9464", "metrics.sock"] {
            try await withTemporaryDirectory { directory in
                let daemon = try await DaemonProcess.start(
                    in: directory, arguments: ["--metrics-listen", address], waitUntilServing: false)
                defer { daemon.kill() }
                #expect(try await daemon.waitForExit() == .exited(1), "\(address)")
                #expect(daemon.stderr.contains("metrics-listen"), "\(address): \(daemon.stderr)")
            }
        }
    }
}

/// Prometheus text, by series: `name{labels}` exactly as written, and its value.
struct Metrics {
    let text: String
    let series: [String: Double]

    init(text: String) {
        self.text = text
        var series: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            series[String(line[..<space])] = value
        }
        self.series = series
    }

    static func take(_ client: CoopClient) async throws -> Metrics {
        Metrics(text: try await client.metrics().text)
    }

    /// A series' value; 0 for one not written (counters appear on their first count).
    func value(_ name: String) -> Double { series[name] ?? 0 }
}

extension TestBinaries {
    /// Prometheus' `promtool` (Debian package `prometheus`, in the Makefile's TEST_PACKAGES). Missing means failure.
    static func promtool() throws -> String {
        for candidate in ["/usr/bin/promtool", "/usr/local/bin/promtool"] where access(candidate, X_OK) == 0 {
            return candidate
        }
        throw HarnessError("promtool not found: install Debian's `prometheus` package (make test-deps does)")
    }
}

/// A one-request HTTP/1.1 client over a Unix socket or 127.0.0.1 (blocking, on its own thread).
enum HTTP {
    enum Address {
        case unix(String)
        case tcp(Int)
    }

    struct Response: CustomStringConvertible {
        var status: Int
        var headers: [String: String]
        var body: String
        var description: String { "HTTP \(status) \(headers)\n\(body)" }
    }

    static func request(_ address: Address, _ method: String, _ target: String) async throws -> Response {
        try await offload {
            let fd: Int32
            switch address {
            case .unix(let path):
                fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
                var sa = sockaddr_un()
                sa.sun_family = sa_family_t(AF_UNIX)
                withUnsafeMutableBytes(of: &sa.sun_path) { $0.copyBytes(from: Array(path.utf8).prefix($0.count - 1)) }
                let rc = withUnsafePointer(to: &sa) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
                }
                guard rc == 0 else { throw HarnessError("connect \(path): \(String(cString: strerror(errno)))") }
            case .tcp(let port):
                fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var sa = sockaddr_in()
                sa.sin_family = sa_family_t(AF_INET)
                sa.sin_port = UInt16(port).bigEndian
                sa.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
                let rc = withUnsafePointer(to: &sa) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                guard rc == 0 else { throw HarnessError("connect 127.0.0.1:\(port): \(String(cString: strerror(errno)))") }
            }
            defer { close(fd) }
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let request = Array("\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8)
            guard write(fd, request, request.count) == request.count else { throw HarnessError("write failed") }
            var received: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(fd, &chunk, chunk.count)
                if n < 0 { throw HarnessError("read: \(String(cString: strerror(errno)))") }
                if n == 0 { break }
                received += chunk[..<n]
            }
            let text = String(decoding: received, as: UTF8.self)
            guard let end = text.range(of: "\r\n\r\n") else { throw HarnessError("no HTTP head in \(text)") }
            let lines = text[..<end.lowerBound].components(separatedBy: "\r\n")
            let status = Int(lines[0].split(separator: " ")[1]) ?? 0
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            return Response(status: status, headers: headers, body: String(text[end.upperBound...]))
        }
    }
}
