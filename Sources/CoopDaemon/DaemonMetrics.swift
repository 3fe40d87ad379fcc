import CoopServer
import CoopWire
import CoreMetrics
import Foundation
import Prometheus

/// coopd's metrics, in the Prometheus text format: served by `coop.v1.Diagnostics/GetMetrics` and, when asked
/// (`--metrics-listen`), over HTTP at `/metrics`.
///
/// Each daemon has its own `PrometheusCollectorRegistry` (no global `MetricsSystem`). Two kinds of sources feed it:
/// - the store records its write groups through swift-metrics, with ``factory`` (histograms in the registry; they
///   take a lock per group, which the writer queue can afford);
/// - the request path counts in `ServerStats` with relaxed atomics only, and those counters are copied into the
///   registry's counters and gauges when metrics are taken. The call-duration histograms are written out from
///   the same atomic buckets beside the registry's text, as the registry's histograms lock on every observation.
///
/// Metrics are taken one at a time (a lock held while rendering); families come out ordered by name.
final class DaemonMetrics: Sendable {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// What the request path counts, known once the server is built.
    struct Sources: Sendable {
        var stats: ServerStats
        var cache: ResponseCache?
        /// Open WatchChanges feeds.
        var watchSubscribers: @Sendable () -> Int
    }

    let registry = PrometheusCollectorRegistry()
    private let sources = Locked<Sources?>(nil)
    private let exported = Locked(Exported())

    /// The counters copied into the registry so far, to add only what came since.
    private struct Exported {
        var counters: [SeriesKey: (counter: Prometheus.Counter, value: UInt64)] = [:]
    }

    private struct SeriesKey: Hashable {
        var name: String
        var labels: [String]
    }

    init() {
        let version = registry.makeGauge(
            descriptor: Self.descriptor("coopd_build_info", "Always 1, labelled with coopd's version."),
            labels: [("version", CoopdVersion.string)])
        version.set(to: 1)
    }

    /// swift-metrics handlers in this daemon's registry, with help text and buckets for the metrics coopd knows.
    var factory: any MetricsFactory { CoopdMetricsFactory(registry: registry) }

    func attach(_ sources: Sources) {
        self.sources.withLock { $0 = sources }
    }

    // MARK: rendering

    /// Every metric, in the Prometheus text exposition format (version 0.0.4).
    func render() -> String {
        exported.withLock { exported in
            var custom: [UInt8] = []
            if let sources = sources.withLock({ $0 }) {
                update(&exported, from: sources)
                custom = Self.callDurations(sources.stats.snapshot())
            }
            var text: [UInt8] = []
            text.reserveCapacity(16 << 10)
            registry.emit(into: &text)
            text += custom
            return Self.sortedByFamily(text)
        }
    }

    private func update(_ exported: inout Exported, from sources: Sources) {
        let stats = sources.stats.snapshot()
        for method in stats.methods {
            let labels = [("service", method.name.service), ("method", method.name.method)]
            for code in StatusCode.allDefined where method.calls(code) > 0 {
                set(&exported, Self.calls, labels + [("code", code.name)], to: method.calls(code))
            }
            gauge(Self.inFlight, labels).set(to: Double(method.inFlight))
        }
        for code in StatusCode.allDefined where stats.rejected[Int(code.rawValue)] > 0 {
            set(&exported, Self.rejected, [("code", code.name)], to: stats.rejected[Int(code.rawValue)])
        }
        set(&exported, Self.connectionsOpened, [], to: stats.connectionsAccepted)
        gauge(Self.connectionsOpen, []).set(to: Double(max(0, stats.connectionsOpen)))
        for reason in ServerStats.Refusal.allCases {
            set(&exported, Self.connectionsRefused, [("reason", Self.name(of: reason))],
                to: stats.connectionsRefused[reason.rawValue])
        }
        set(&exported, Self.bytesReceived, [], to: stats.bytesReceived)
        set(&exported, Self.bytesSent, [], to: stats.bytesSent)
        if let cache = sources.cache?.statistics {
            set(&exported, Self.cacheHits, [], to: cache.hits)
            set(&exported, Self.cacheMisses, [], to: cache.misses)
            set(&exported, Self.cacheEvictions, [], to: cache.evictions)
            gauge(Self.cacheBytes, []).set(to: Double(cache.bytes))
        }
        gauge(Self.watchSubscribers, []).set(to: Double(sources.watchSubscribers()))
    }

    /// Brings a registry counter up to `value` (the counters it copies only ever grow).
    private func set(_ exported: inout Exported, _ family: Family, _ labels: [(String, String)], to value: UInt64) {
        let key = SeriesKey(name: family.name, labels: labels.flatMap { [$0.0, $0.1] })
        let entry = exported.counters[key]
            ?? (registry.makeCounter(descriptor: family.descriptor, labels: labels), 0)
        if value > entry.value {
            entry.counter.increment(by: Int64(truncatingIfNeeded: value - entry.value))
        }
        exported.counters[key] = (entry.counter, max(value, entry.value))
    }

    private func gauge(_ family: Family, _ labels: [(String, String)]) -> Prometheus.Gauge {
        registry.makeGauge(descriptor: family.descriptor, labels: labels)
    }

    private static func name(of reason: ServerStats.Refusal) -> String {
        switch reason {
        case .maxConnections: "max_connections"
        case .maxConnectionsPerUID: "max_connections_per_uid"
        }
    }

    /// `coopd_call_duration_seconds`, one histogram per method that has finished a call, in the format
    /// swift-prometheus writes its own.
    static func callDurations(_ stats: ServerStats.Snapshot) -> [UInt8] {
        let name = callDurationName
        var out = "# HELP \(name) \(callDurationHelp)\n# TYPE \(name) histogram\n"
        let bounds = ServerStats.durationBucketBounds.map(seconds(nanoseconds:)) + ["+Inf"]
        for method in stats.methods {
            let count = method.durationBuckets.reduce(0, &+)
            guard count > 0 else { continue }
            let labels = "service=\"\(method.name.service)\",method=\"\(method.name.method)\""
            var cumulative: UInt64 = 0
            for (bound, inBucket) in zip(bounds, method.durationBuckets) {
                cumulative &+= inBucket
                out += "\(name)_bucket{\(labels),le=\"\(bound)\"} \(cumulative)\n"
            }
            out += "\(name)_sum{\(labels)} \(seconds(nanoseconds: Int64(clamping: method.durationSumNanoseconds)))\n"
            out += "\(name)_count{\(labels)} \(count)\n"
        }
        return Array(out.utf8)
    }

    /// Nanoseconds as decimal seconds, exactly: 10000 → "0.00001", 2500000000 → "2.5", 10^9 → "1".
    static func seconds(nanoseconds: Int64) -> String {
        let whole = nanoseconds / 1_000_000_000
        var fraction = String(nanoseconds % 1_000_000_000)
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return fraction.isEmpty ? "\(whole)" : "\(whole).\(fraction)"
    }

    /// The text with its metric families (a family's HELP, TYPE and samples stay together) ordered by name, and
    /// the samples of counters and gauges by their labels (a histogram's lines keep their order).
    static func sortedByFamily(_ text: [UInt8]) -> String {
        var families: [(name: Substring, lines: [Substring])] = []
        let all = String(decoding: text, as: UTF8.self)
        for line in all.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let name = line.dropFirst(7).prefix { $0 != " " }
                if families.last?.name != name { families.append((name, [])) }
            } else if families.isEmpty {
                families.append(("", []))
            }
            families[families.count - 1].lines.append(line)
        }
        var out = ""
        out.reserveCapacity(all.utf8.count + 1)
        for family in families.sorted(by: { $0.name < $1.name }) {
            var lines = family.lines
            let header = lines.prefix { $0.hasPrefix("#") }.count
            if !lines[..<header].contains(where: { $0.hasSuffix(" histogram") }) {
                lines[header...].sort()
            }
            for line in lines {
                out += line
                out += "\n"
            }
        }
        return out
    }

    // MARK: the metrics

    static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// A metric's name (units and `_total` included) and help text.
    struct Family: Sendable {
        var name: String
        var help: String
        var descriptor: MetricNameDescriptor { DaemonMetrics.descriptor(name, help) }
    }

    private static func family(_ name: String, _ help: String) -> Family { Family(name: name, help: help) }

    static let calls = family(
        "coopd_calls_total", "Calls finished, by service, method and gRPC status code.")
    static let rejected = family(
        "coopd_requests_rejected_total",
        "Requests answered with an error before reaching a method (bad frame or envelope, stream id, per-connection "
            + "call limit, unknown service or method, shutting down), by gRPC status code.")
    static let inFlight = family("coopd_calls_in_flight", "Calls running now (server streams included), by method.")
    static let callDurationName = "coopd_call_duration_seconds"
    static let callDurationHelp =
        "Time from a request's dispatch to its answer being queued (a stream's whole life), by method."
    static let connectionsOpened = family("coopd_connections_opened_total", "Connections accepted and served.")
    static let connectionsOpen = family("coopd_connections_open", "Connections open now.")
    static let connectionsRefused = family(
        "coopd_connections_refused_total", "Connections closed at once, by the limit they met.")
    static let bytesReceived = family("coopd_bytes_received_total", "Bytes read from client connections.")
    static let bytesSent = family("coopd_bytes_sent_total", "Bytes written to client connections.")
    static let cacheHits = family(
        "coopd_response_cache_hits_total", "Read calls answered from the response cache.")
    static let cacheMisses = family(
        "coopd_response_cache_misses_total", "Read calls the response cache could not answer.")
    static let cacheEvictions = family(
        "coopd_response_cache_evictions_total",
        "Answers dropped from the response cache to make room (those dropped by a write are not counted).")
    static let cacheBytes = family("coopd_response_cache_bytes", "Bytes held by the response cache.")
    static let watchSubscribers = family("coopd_watch_subscribers", "WatchChanges streams following the change log.")

    /// Metrics the store records through swift-metrics, by label: help text and buckets.
    static let valueHistograms: [String: (help: String, buckets: [Double])] = [
        "coopd_write_group_requests": (
            "Write requests per group-commit transaction.", [1, 2, 4, 8, 16, 32, 64]
        )
    ]
    static let durationHistograms: [String: (help: String, buckets: [Duration])] = [
        "coopd_commit_duration_seconds": (
            "Time of one group-commit transaction, from BEGIN to the end of its durable COMMIT.",
            [
                .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10),
                .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                .seconds(1), .milliseconds(2500),
            ]
        )
    ]
}

/// swift-metrics' factory for one daemon's registry: the metrics coopd knows get their help text and buckets
/// (``DaemonMetrics/valueHistograms``, ``DaemonMetrics/durationHistograms``); anything else is made as
/// swift-prometheus' own factory makes it.
struct CoopdMetricsFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry
    private var plain: PrometheusMetricsFactory { PrometheusMetricsFactory(registry: registry) }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        plain.makeCounter(label: label, dimensions: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        plain.makeFloatingPointCounter(label: label, dimensions: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate, let known = DaemonMetrics.valueHistograms[label] else {
            return plain.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate)
        }
        return registry.makeValueHistogram(
            descriptor: DaemonMetrics.descriptor(label, known.help), labels: dimensions, buckets: known.buckets)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        plain.makeMeter(label: label, dimensions: dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        guard let known = DaemonMetrics.durationHistograms[label] else {
            return plain.makeTimer(label: label, dimensions: dimensions)
        }
        return registry.makeDurationHistogram(
            descriptor: DaemonMetrics.descriptor(label, known.help), labels: dimensions, buckets: known.buckets)
    }

    func destroyCounter(_ handler: any CounterHandler) { plain.destroyCounter(handler) }
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        plain.destroyFloatingPointCounter(handler)
    }
    func destroyRecorder(_ handler: any RecorderHandler) { plain.destroyRecorder(handler) }
    func destroyMeter(_ handler: any MeterHandler) { plain.destroyMeter(handler) }
    func destroyTimer(_ handler: any TimerHandler) { plain.destroyTimer(handler) }
}
