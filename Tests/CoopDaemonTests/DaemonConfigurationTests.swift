#if canImport(Glibc)
import Glibc
#endif
import CoopServer
import Logging
import NIOCore
import Testing

@testable import CoopDaemon

/// The limits a daemon gets when nobody sets them, and how the settings that bound a client are read.
@Suite struct DaemonConfigurationTests {
    @Test func defaultsBoundEveryClient() {
        let limits = DaemonConfiguration.defaults(environment: [:]).limits
        #expect(limits.idleTimeout == .seconds(300))
        #expect(limits.maxConnectionsPerUID == 256)
        #expect(limits.maxQueuedOutputBytes == 256 << 10)
        #expect(limits.outputStallTimeout == .seconds(30))
        #expect(limits.metadata.maxEntries == 128 && limits.metadata.maxBytes == 16 << 10)
    }

    @Test func clientLimitSettingsAreReadAndCheckedWithTheirName() throws {
        var configuration = DaemonConfiguration(socketPath: "/s", stateDirectory: "/d")
        try configuration.apply(
            fileContents: "max-connections-per-uid = 8\nmax-queued-output-kib = 1024\noutput-stall-timeout = 2.5\nidle-timeout = 0\n",
            path: "coopd.conf")
        #expect(configuration.limits.maxConnectionsPerUID == 8)
        #expect(configuration.limits.maxQueuedOutputBytes == 1 << 20)
        #expect(configuration.limits.outputStallTimeout == .milliseconds(2500))
        #expect(configuration.limits.idleTimeout == nil)
        #expect(throws: ConfigurationError.self) { try configuration.apply(key: "max-queued-output-kib", value: "1") }
        #expect(throws: ConfigurationError.self) { try configuration.apply(key: "output-stall-timeout", value: "0") }
        #expect(throws: ConfigurationError.self) { try configuration.apply(key: "max-connections-per-uid", value: "0") }
    }

    /// More connections than descriptors would make accept fail before the limit refuses cleanly.
    @Test func maxConnectionsIsLoweredToTheDescriptorLimit() {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        var limits = ServerLimits()
        limits.maxConnections = Int(Int32.max)
        let fitted = FileDescriptorLimit.fit(limits, raise: false, logger: Logger(label: "test"))
        #expect(fitted.maxConnections == Int(limit.rlim_cur) - FileDescriptorLimit.reserved)
        limits.maxConnections = 10
        #expect(FileDescriptorLimit.fit(limits, raise: false, logger: Logger(label: "test")).maxConnections == 10)
    }
}

/// What a journal record carries (the sending itself is tested under systemd, Tests/systemd/run.sh).
@Suite struct JournalFieldTests {
    @Test func aCallsMetadataBecomesCOOPDFieldsBesideTheStandardOnes() {
        let event = LogEvent(
            level: .warning, message: "write refused", metadata: nil, source: nil, file: "CooperationService.swift",
            function: "write(_:_:_:)", line: 373)
        let fields = JournalLogHandler.fields(event, [
            "method": "coop.v1.Cooperation/PutSource", "uid": "1000", "pid": "42", "status": "PERMISSION_DENIED",
            "request_id": "r-1", "refused": "3", "odd-key.x": "y",
        ])
        #expect(fields.first == "PRIORITY=4")
        #expect(fields.contains(
            "MESSAGE=write refused method=coop.v1.Cooperation/PutSource odd-key.x=y pid=42 refused=3 request_id=r-1 "
                + "status=PERMISSION_DENIED uid=1000"))
        for field in [
            "CODE_FILE=CooperationService.swift", "CODE_LINE=373", "CODE_FUNC=write(_:_:_:)", "SYSLOG_IDENTIFIER=coopd",
            "COOPD_METHOD=coop.v1.Cooperation/PutSource", "COOPD_PEER_UID=1000", "COOPD_PEER_PID=42",
            "COOPD_STATUS=PERMISSION_DENIED", "COOPD_REQUEST_ID=r-1", "COOPD_REFUSED=3", "COOPD_ODD_KEY_X=y",
        ] {
            #expect(fields.contains(field), "\(field) in \(fields)")
        }
    }
}


/// `--metrics-listen`: loopback addresses and Unix socket paths, and nothing else.
@Suite struct MetricsListenAddressTests {
    @Test func loopbackAddressesAndSocketPathsAreAccepted() throws {
        #expect(try MetricsListenAddress(parsing: "127.0.0.1:9464") == .tcp(host: "127.0.0.1", port: 9464))
        #expect(try MetricsListenAddress(parsing: "127.1.2.3:0") == .tcp(host: "127.1.2.3", port: 0))
        #expect(try MetricsListenAddress(parsing: "[::1]:9464") == .tcp(host: "::1", port: 9464))
        #expect(try MetricsListenAddress(parsing: "localhost:9464") == .tcp(host: "127.0.0.1", port: 9464))
        #expect(try MetricsListenAddress(parsing: "/run/coopd/metrics.sock") == .unix(path: "/run/coopd/metrics.sock"))
        #expect(MetricsListenAddress.tcp(host: "::1", port: 1).description == "[::1]:1")
    }

    @Test func anythingElseIsRefusedWithTheReason() throws {
        for (text, reason) in [
            ("0.0.0.0:9464", "not a loopback address"), ("192.168.0.1:9464", "not a loopback address"),
            ("[::]:9464", "not a loopback address"), ("example.org:9464", "not a loopback address"),
            ("::1:9464", "in brackets"), ("127.0.0.1:65536", "port"), ("127.0.0.1:", "port"),
            ("metrics.sock", "absolute Unix socket path"),
        ] {
            let error = #expect(throws: ConfigurationError.self) { try MetricsListenAddress(parsing: text) }
            #expect(error?.description.hasPrefix("metrics-listen: ") == true, "\(text)")
            #expect(error?.description.contains(reason) == true, "\(text): \(String(describing: error))")
        }
    }

    @Test func theSettingComesFromTheFileAndAnEmptyValueTurnsItOff() throws {
        var configuration = DaemonConfiguration(socketPath: "/s", stateDirectory: "/d")
        #expect(configuration.metricsListen == nil)
        try configuration.apply(fileContents: "metrics-listen = 127.0.0.1:9464\n", path: "coopd.conf")
        #expect(configuration.metricsListen == .tcp(host: "127.0.0.1", port: 9464))
        #expect(DaemonConfiguration.environmentName("metrics-listen") == "COOPD_METRICS_LISTEN")
        #expect(DaemonConfiguration.keys.contains("metrics-listen"))
        try configuration.apply(key: "metrics-listen", value: "")
        #expect(configuration.metricsListen == nil)
        #expect(throws: ConfigurationError.self) { try configuration.apply(key: "metrics-listen", value: "10.0.0.1:80") }
    }
}

/// The text coopd writes beside the registry's: exact seconds, families in name order.
@Suite struct MetricsTextTests {
    @Test func secondsAreWrittenExactly() {
        #expect(DaemonMetrics.seconds(nanoseconds: 10_000) == "0.00001")
        #expect(DaemonMetrics.seconds(nanoseconds: 2_500_000_000) == "2.5")
        #expect(DaemonMetrics.seconds(nanoseconds: 1_000_000_000) == "1")
        #expect(DaemonMetrics.seconds(nanoseconds: 0) == "0")
        #expect(DaemonMetrics.seconds(nanoseconds: 1_234_567_891) == "1.234567891")
    }

    @Test func familiesAreOrderedByNameWithTheirSamples() {
        let text = "# HELP b_total B.\n# TYPE b_total counter\nb_total{x=\"2\"} 1\nb_total{x=\"1\"} 3\n# TYPE a gauge\na 2.0\n"
            + "# TYPE h histogram\nh_bucket{le=\"5\"} 1\nh_bucket{le=\"10\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 5\nh_count 1\n"
        #expect(DaemonMetrics.sortedByFamily(Array(text.utf8)) == "# TYPE a gauge\na 2.0\n"
            + "# HELP b_total B.\n# TYPE b_total counter\nb_total{x=\"1\"} 3\nb_total{x=\"2\"} 1\n"
            + "# TYPE h histogram\nh_bucket{le=\"5\"} 1\nh_bucket{le=\"10\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 5\nh_count 1\n")
    }
}
