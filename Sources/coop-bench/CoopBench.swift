import ArgumentParser
import CoopClient
import CoopProto
import CoopWire
import Foundation
import NIOCore
import NIOPosix

/// `coop-bench`: a pipelined load generator for coopd (or any ttrpc server for `echo`), and `populate`.
@main
struct CoopBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coop-bench",
        abstract: "Load generator and dataset maker for coopd.",
        subcommands: [Load.self, Populate.self], defaultSubcommand: Load.self)
}

/// `coop-bench [load]`: keeps calls in flight for a while and reports calls/s and latency percentiles.
struct Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Drive coopd with pipelined calls and report calls/s and latency percentiles.",
        discussion: """
            Workloads: echo (coop.v1.Diagnostics/Echo with --size bytes), query (ListObservations VN→JP, one \
            page of 20), query-mix (ListObservations where every call differs: a random pair with data, \
            indicators, period range, breakdown, as-of date and page size, drawn from what coopd holds, \
            reproducible with --seed; one call in seven asks for the next page of an earlier answer), \
            query-large (pages of 1,000 rows with every vintage, following next pages, and one call in four a \
            Search for a word of an indicator name or event title; seeded too), search (Search for --query), write (AddObservations of one observation, \
            each call a new request id), health. \
            Prints one summary line (or a JSON object with --json), with coopd's response-cache hit rate over the \
            run (from its metrics); exits 1 if any call failed.
            """)

    enum Workload: String, ExpressibleByArgument, CaseIterable {
        case echo, query, queryMix = "query-mix", queryLarge = "query-large", search, write, health
    }

    @Option(help: "Socket path of the server.") var socket: String
    @Option(help: "Workload: echo, query, query-mix, query-large, search, write, health.") var workload: Workload = .echo
    @Option(help: "Connections.") var conns: Int = 1
    @Option(name: [.customShort("c"), .long], help: "Calls in flight per connection.") var concurrency: Int = 64
    @Option(help: ArgumentHelp(
        "Send new calls after this many answers, even within one read (0: once per read).",
        discussion: "Smaller batches let the server start on them while the generator reads the rest."))
    var flushEvery: Int = 8
    @Option(help: "Seconds to measure, after the warm-up.") var duration: Double = 5
    @Option(help: "Seconds of warm-up (not measured).") var warmup: Double = 0.5
    @Option(help: "Echo payload bytes.") var size: Int = 64
    @Option(help: "Search text for the search workload.") var query = "Dao Ngoc Dung"
    @Option(help: "Service for echo (to benchmark another ttrpc server).") var echoService = "coop.v1.Diagnostics"
    @Option(help: "Seed of query-mix's questions.") var seed: UInt64 = 1
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        guard conns > 0, concurrency > 0, duration > 0 else { throw ValidationError("conns, -c and duration must be positive") }
        let (service, method, payloads) = try await workloadCalls()
        let cacheBefore = await cacheCounters()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let start = NIODeadline.now()
        let measureFrom = start + .nanoseconds(Int64(warmup * 1e9))
        let stopAt = measureFrom + .nanoseconds(Int64(duration * 1e9))
        var results: [EventLoopFuture<LoadConnection.Result>] = []
        for index in 0..<conns {
            let promise = group.next().makePromise(of: LoadConnection.Result.self)
            results.append(promise.futureResult)
            _ = try await ClientBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                        try channel.pipeline.syncOperations.addHandler(
                            LoadConnection(
                                index: index, concurrency: concurrency, flushEvery: flushEvery, service: service, method: method,
                                payloads: payloads, measureFrom: measureFrom, stopAt: stopAt, done: promise))
                    }
                }
                .connect(unixDomainSocketPath: socket).get()
        }
        var latencies: [UInt64] = []
        var errors = 0
        var firstError: String?
        for future in results {
            let r = try await future.get()
            latencies += r.latenciesNanos
            errors += r.errors
            firstError = firstError ?? r.firstError
        }
        try await group.shutdownGracefully()
        let cacheAfter = await cacheCounters()
        latencies.sort()
        let seconds = duration
        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            return Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) / 1000
        }
        let summary: [(String, String)] = [
            ("workload", workload.rawValue), ("conns", "\(conns)"), ("concurrency", "\(concurrency)"),
            ("calls", "\(latencies.count)"), ("errors", "\(errors)"),
            ("calls_per_s", String(format: "%.1f", Double(latencies.count) / seconds)),
            ("p50_us", String(format: "%.1f", percentile(0.5))), ("p90_us", String(format: "%.1f", percentile(0.9))),
            ("p99_us", String(format: "%.1f", percentile(0.99))),
            ("max_us", String(format: "%.1f", Double(latencies.last ?? 0) / 1000)),
        ] + cacheSummary(before: cacheBefore, after: cacheAfter)
        if json {
            let fields = summary.map { key, value in
                Double(value) != nil ? "\"\(key)\":\(value)" : "\"\(key)\":\"\(value)\""
            }
            print("{" + fields.joined(separator: ",") + (firstError.map { ",\"first_error\":\"\($0.replacingOccurrences(of: "\"", with: "'"))\"" } ?? "") + "}")
        } else {
            print(summary.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
            if let firstError { print("first error: \(firstError)") }
        }
        if errors > 0 { throw ExitCode(1) }
    }

    private func workloadCalls() async throws -> (String, String, Payloads) {
        switch workload {
        case .echo:
            let payload = try Coop_V1_EchoRequest.with { $0.data = Data(repeating: 0x61, count: size) }.serializedBuffer()
            return (echoService, "Echo", .constant(payload))
        case .health:
            return ("grpc.health.v1.Health", "Check", .constant(ByteBuffer()))
        case .query:
            let payload = try Coop_V1_ListObservationsRequest.with {
                $0.origin = "VN"
                $0.destination = "JP"
                $0.pageSize = 20
            }.serializedBuffer()
            return ("coop.v1.Cooperation", "ListObservations", .constant(payload))
        case .queryMix:
            let mix = try await QueryMix(socket: socket, seed: seed, connections: conns)
            return ("coop.v1.Cooperation", "ListObservations", .perCall { connection, _ in mix.next(connection) })
        case .queryLarge:
            let mix = try await QueryMix(socket: socket, seed: seed, connections: conns)
            return ("coop.v1.Cooperation", "ListObservations", .perCall { connection, _ in mix.nextLarge(connection) })
        case .search:
            let payload = try Coop_V1_SearchRequest.with { $0.query = query }.serializedBuffer()
            return ("coop.v1.Cooperation", "Search", .constant(payload))
        case .write:
            let sourceID = try await makeSource()
            let run = UUID().uuidString.prefix(8)
            let runValue = Int64.random(in: 0..<(1 << 20)) << 40
            return ("coop.v1.Cooperation", "AddObservations", .perCall { connection, n in
                let request = Coop_V1_AddObservationsRequest.with {
                    $0.requestID = "bench-\(run)-\(connection)-\(n)"
                    $0.observations = [.with {
                        $0.indicator = "JP_MHLW_FOREIGN_WORKERS"
                        $0.origin = "VN"
                        $0.destination = "JP"
                        $0.periodStart = "2099-10-31"
                        $0.periodEnd = "2099-10-31"
                        // A figure of its own per call, and per run against the same database: coopd refuses
                        // one identical to a stored figure.
                        $0.value = runValue | Int64(n) << 8 | Int64(connection & 0xFF)
                        $0.unit = "persons"
                        $0.sourceID = sourceID
                        $0.vintage = "2099-12-31"
                        $0.note = "coop-bench"
                    }]
                }
                return Call(method: "AddObservations", payload: (try? request.serializedBuffer()) ?? ByteBuffer())
            })
        }
    }

    /// coopd's response-cache hits and misses so far (nil for a server without coopd's metrics).
    private func cacheCounters() async -> (hits: Double, misses: Double)? {
        guard workload != .echo || echoService == "coop.v1.Diagnostics" else { return nil }
        let client = CoopClient(socketPath: socket)
        defer { Task { await client.close() } }
        guard let text = try? await client.metrics().text else { return nil }
        func value(_ name: String) -> Double? {
            for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
                return Double(line.dropFirst(name.count + 1))
            }
            return nil
        }
        guard let hits = value("coopd_response_cache_hits_total"), let misses = value("coopd_response_cache_misses_total")
        else { return nil }
        return (hits, misses)
    }

    private func cacheSummary(
        before: (hits: Double, misses: Double)?, after: (hits: Double, misses: Double)?
    ) -> [(String, String)] {
        guard let before, let after else { return [] }
        let hits = after.hits - before.hits
        let misses = after.misses - before.misses
        let rate = hits + misses > 0 ? hits / (hits + misses) : 0
        return [("cache_hits", String(format: "%.0f", hits)), ("cache_misses", String(format: "%.0f", misses)),
                ("cache_hit_rate", String(format: "%.4f", rate))]
    }

    /// A source for the benchmark's writes (one unary call before the load).
    private func makeSource() async throws -> Int64 {
        let group = MultiThreadedEventLoopGroup.singleton
        let request = try Coop_V1_PutSourceRequest.with {
            $0.requestID = "coop-bench-source"
            $0.source = .with {
                $0.title = "coop-bench synthetic writes"
                $0.publisher = "coop-bench"
                $0.url = "urn:coop-bench"
            }
        }.serializedBuffer()
        let promise = group.next().makePromise(of: ByteBuffer.self)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(OneCall(promise: promise))
                }
            }
            .connect(unixDomainSocketPath: socket).get()
        var frame = ByteBuffer()
        frame.writeRequestFrame(
            streamID: 1,
            envelope: RequestEnvelope(service: "coop.v1.Cooperation", method: "PutSource", payload: request))
        try await channel.writeAndFlush(frame)
        let reply = try await promise.futureResult.get()
        try? await channel.close()
        return try Coop_V1_Source(buffer: reply).id
    }
}

/// Answers one call: the response payload, or its status as an error.
final class OneCall: ChannelInboundHandler {
    typealias InboundIn = InboundFrame
    let promise: EventLoopPromise<ByteBuffer>
    init(promise: EventLoopPromise<ByteBuffer>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .frame(let frame) = Self.unwrapInboundIn(data) else { return }
        do {
            let response = try ResponseEnvelope(decoding: frame.payload)
            if let error = response.error { promise.fail(error) } else { promise.succeed(response.payload) }
        } catch {
            promise.fail(error)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(RPCError(.unavailable, "connection closed"))
    }
}

@available(*, unavailable)
extension OneCall: Sendable {}
