import ArgumentParser
import CoopClient
import CoopProto
import Foundation

struct Ping: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure round trips to coopd (Diagnostics/Echo).",
        discussion: "Prints each echo's round-trip time as it comes back, then min/avg/max. The first echo includes "
            + "connecting.")

    @Option(name: [.customShort("c"), .long], help: "Number of echoes.")
    var count = 4

    @Option(name: [.short, .long], help: ArgumentHelp("Seconds between echoes.", valueName: "seconds"))
    var interval = 0.2

    @Option(help: "Bytes sent in each echo.")
    var size = 64

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard count >= 1 else { throw ValidationError("-c must be at least 1") }
        guard interval >= 0 else { throw ValidationError("--interval must not be negative") }
        guard (0...1_000_000).contains(size) else { throw ValidationError("--size must be 0…1000000 bytes") }
    }

    func run() async throws {
        let format = output.format
        try await connection.run { client in
            var rtts: [Double] = []
            if format == .csv { Console.out("seq,bytes,rtt_ms") }
            for seq in 1...count {
                let payload = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &+ seq) })
                let clock = ContinuousClock()
                let start = clock.now
                let echoed = try await client.echo(payload, options: connection.callOptions)
                let rtt = (clock.now - start).milliseconds
                guard echoed == payload else {
                    throw CtlError(.failure, "echo \(seq) came back altered (\(echoed.count) bytes)")
                }
                rtts.append(rtt)
                switch format {
                case .table:
                    Console.out("\(size) bytes from \(client.socketPath): seq=\(seq) time=\(Self.ms(rtt)) ms")
                case .csv:
                    Console.out("\(seq),\(size),\(Self.ms(rtt))")
                case .json:
                    break
                }
                Console.flush()
                if seq < count && interval > 0 {
                    try await Task.sleep(for: .nanoseconds(Int64(interval * 1e9)))
                }
            }
            let minimum = rtts.min() ?? 0
            let maximum = rtts.max() ?? 0
            let average = rtts.reduce(0, +) / Double(rtts.count)
            switch format {
            case .table:
                Console.out("--- \(client.socketPath) ---")
                Console.out(
                    "\(rtts.count) echoes, rtt min/avg/max = \(Self.ms(minimum))/\(Self.ms(average))/\(Self.ms(maximum)) ms")
            case .csv:
                break
            case .json:
                Console.out(
                    JSONOutput.value([
                        "socket": client.socketPath, "count": rtts.count, "bytes": size,
                        "rtt_ms": rtts.map { Self.round($0) }, "min_ms": Self.round(minimum),
                        "avg_ms": Self.round(average), "max_ms": Self.round(maximum),
                    ] as [String: Any]))
            }
        }
    }

    static func ms(_ value: Double) -> String { String(format: "%.3f", value) }
    static func round(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
}

extension Duration {
    var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask coopd whether it is serving (grpc.health.v1.Health/Check).",
        discussion: "Exits 0 when SERVING, 7 otherwise (e.g. NOT_SERVING while shutting down).")

    @Option(help: "Ask about one service (e.g. coop.v1.Cooperation); default: the whole server.")
    var service = ""

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let status = try await connection.run { client in
            try await client.health(service: service, options: connection.callOptions)
        }
        let name: String
        switch status {
        case .serving: name = "SERVING"
        case .notServing: name = "NOT_SERVING"
        case .serviceUnknown: name = "SERVICE_UNKNOWN"
        case .unknown: name = "UNKNOWN"
        default: name = "\(status.rawValue)"
        }
        switch output.format {
        case .json: Console.out(JSONOutput.object([("status", JSONOutput.quote(name))]))
        case .csv: Printer(format: .csv).csv(header: ["service", "status"], rows: [[service, name]])
        case .table: Console.out(name)
        }
        if status != .serving {
            throw CtlError(.unavailable, "coopd is \(name)" + (service.isEmpty ? "" : " for \(service)"))
        }
    }
}

struct Info: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show coopd's version, uptime, socket, connections, calls and errors (Diagnostics/GetServerInfo).")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let info = try await connection.run { client in try await client.serverInfo(options: connection.callOptions) }
        if output.format == .json { return Console.out(try JSONOutput.message(info)) }
        var rows: [[String]] = [
            ["version", info.version],
            ["pid", String(info.pid)],
            ["socket", info.socketPath],
            ["started", info.startTime],
            ["uptime", Self.uptime(info.uptimeNano)],
            ["connections_open", String(info.connectionsOpen)],
            ["connections_accepted", String(info.connectionsAccepted)],
            ["calls_total", String(info.callsTotal)],
            ["calls_in_flight", String(info.callsInFlight)],
        ]
        for error in info.errors {
            rows.append(["errors." + error.name, String(error.count)])
        }
        if output.format == .csv { return Printer(format: .csv).csv(header: ["field", "value"], rows: rows) }
        var table = Table([Table.Column("FIELD"), Table.Column("VALUE", shrinkable: true)])
        for row in rows { table.add(row) }
        Printer(format: .table).table(table)
    }

    static func uptime(_ nanos: Int64) -> String {
        var seconds = nanos / 1_000_000_000
        let days = seconds / 86_400
        seconds %= 86_400
        let text = String(format: "%02d:%02d:%02d", seconds / 3600, (seconds % 3600) / 60, seconds % 60)
        return days > 0 ? "\(days)d \(text)" : text
    }
}

struct MetricsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Print coopd's metrics in the Prometheus text format (Diagnostics/GetMetrics).",
        discussion: "The same text a Prometheus server scrapes from coopd --metrics-listen: calls by service, method "
            + "and status code, call durations, calls in flight, connections, bytes, write groups and commit "
            + "durations, response cache, WatchChanges subscribers. --json prints the GetMetrics answer instead; "
            + "--csv is not offered.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if output.format == .csv { throw ValidationError("metrics has no CSV form: use the text, or --json") }
    }

    func run() async throws {
        let metrics = try await connection.run { client in try await client.metrics(options: connection.callOptions) }
        if output.format == .json { return Console.out(try JSONOutput.message(metrics)) }
        Console.out(metrics.text, terminator: "")
    }
}
