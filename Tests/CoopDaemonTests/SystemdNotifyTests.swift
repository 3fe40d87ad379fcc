#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// sd_notify through `NOTIFY_SOCKET`, as systemd.md describes: READY, STATUS, WATCHDOG, RELOADING, STOPPING.
@Suite struct SystemdNotifyTests {
    /// Starts coopd pointed at a fresh notification listener, without waiting for the socket.
    private func withNotifyingDaemon<R>(
        arguments: [String] = [], environment: [String: String] = [:],
        _ body: (DaemonProcess, NotifyListener) async throws -> R
    ) async throws -> R {
        try await withTemporaryDirectory { directory in
            let listener = try NotifyListener(path: directory.file("notify.sock"))
            let daemon = try await DaemonProcess.start(
                in: directory, arguments: arguments, environment: environment.merging(listener.environment) { $1 },
                waitUntilServing: false)
            defer { daemon.kill() }
            return try await body(daemon, listener)
        }
    }

    @Test func readyIsSentWhenTheSocketAlreadyAcceptsAndCarriesAStatusLine() async throws {
        try await withNotifyingDaemon { daemon, listener in
            let ready = try await listener.waitFor("READY=1")
            // The moment READY=1 is out, a client must be able to connect and be answered.
            let connection = try RawConnection.connect(daemon.socketPath)
            #expect(try await connection.echo(streamID: 1, data: [42]) == [42])
            #expect(notificationFields(ready)["STATUS"] == "serving on \(daemon.socketPath)", "READY datagram: \(ready)")
            // Nothing else before READY, but progress of a store slow to open (a loaded machine, a long migration).
            let others = listener.received.dropLast().filter { notificationFields($0)["STATUS"] != "opening the database" }
            #expect(others.isEmpty && listener.received.count >= 1, "datagrams before READY: \(listener.received)")
        }
    }

    @Test func firstStartLoadingTheShippedDataReportsProgressThenReady() async throws {
        try await withNotifyingDaemon(environment: ["COOPD_SEED": "yes"]) { daemon, listener in
            let ready = try await listener.waitFor("READY=1", timeout: .seconds(30))
            let before = listener.received.dropLast()
            #expect(!before.isEmpty, "no progress before READY")
            for datagram in before {
                let fields = notificationFields(datagram)
                let status = fields["STATUS"] ?? ""
                #expect(
                    status.hasPrefix("importing") || status == "seed data imported"
                        || status == "seed data corrections applied" || status == "opening the database",
                    "\(datagram)")
                #expect(fields["EXTEND_TIMEOUT_USEC"] == "30000000", "\(datagram)")
            }
            #expect(notificationFields(ready)["STATUS"] == "serving on \(daemon.socketPath)")
        }
    }

    @Test func watchdogIsPettedEveryHalfInterval() async throws {
        let clock = ContinuousClock()
        try await withNotifyingDaemon(environment: ["WATCHDOG_USEC": "1000000"]) { daemon, listener in
            _ = try await listener.waitFor("READY=1")
            let ready = clock.now
            for _ in 0..<4 {
                let ping = try await listener.waitFor("WATCHDOG=1", timeout: .seconds(10))
                #expect(notificationLines(ping) == ["WATCHDOG=1"])
            }
            // Pings come every half second; the bound only tells a watchdog that keeps pinging from one that
            // stops, and is generous for loaded machines. (No lower bound: datagrams queued while the test
            // was descheduled arrive together, and pinging early is harmless.)
            let elapsed = clock.now - ready
            #expect(elapsed < .seconds(15), "4 pings took \(elapsed)")
        }
    }

    @Test func noWatchdogPingsWithoutWatchdogUsec() async throws {
        try await withNotifyingDaemon { daemon, listener in
            _ = try await listener.waitFor("READY=1")
            // A reload round trip bounds the time: had the watchdog been on, pings would interleave.
            daemon.signal(SIGHUP)
            _ = try await listener.waitFor("RELOADING=1")
            _ = try await listener.waitFor("READY=1")
            #expect(!listener.received.contains { notificationLines($0).contains("WATCHDOG=1") }, "\(listener.received)")
        }
    }

    @Test func sighupSendsReloadingWithMonotonicTimeThenReady() async throws {
        try await withNotifyingDaemon { daemon, listener in
            _ = try await listener.waitFor("READY=1")
            let before = monotonicMicroseconds()
            daemon.signal(SIGHUP)
            let reloading = try await listener.waitFor("RELOADING=1")
            let after = monotonicMicroseconds()
            let fields = notificationFields(reloading)
            let usec = try #require(fields["MONOTONIC_USEC"], "no MONOTONIC_USEC in \(reloading)")
            #expect(usec.allSatisfy { $0.isASCII && $0.isNumber }, "MONOTONIC_USEC=\(usec)")
            let value = try #require(UInt64(usec))
            #expect(value >= before && value <= after, "MONOTONIC_USEC=\(value) outside [\(before), \(after)]")

            let ready = try await listener.waitFor("READY=1")
            #expect(notificationFields(ready)["STATUS"] == "configuration reloaded", "\(ready)")
            // Nothing but status lines between RELOADING and READY.
            let between = listener.received.drop { $0 != reloading }.dropFirst().dropLast()
            #expect(between.allSatisfy { $0.hasPrefix("STATUS=") }, "\(listener.received)")
            let connection = try RawConnection.connect(daemon.socketPath)
            #expect(try await connection.echo(streamID: 1, data: [7]) == [7])
        }
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func stopSignalTheMomentTheSocketAcceptsSendsStoppingAndExitsZero(_ signal: Int32) async throws {
        // Even before READY=1: once clients can connect, a stop signal must stop coopd cleanly.
        for _ in 0..<3 {
            try await withNotifyingDaemon { daemon, listener in
                let socketPath = daemon.socketPath
                let pid = daemon.pid
                try await offload {
                    let deadline = ContinuousClock.now + .seconds(20)
                    while !RawConnection.canConnect(socketPath) {
                        guard ContinuousClock.now < deadline else { throw HarnessError("coopd never accepted") }
                        usleep(100)
                    }
                    kill(pid, signal)
                }
                let termination = try await daemon.waitForExit()
                #expect(termination == .exited(0), "coopd \(termination); stderr:\n\(daemon.stderr)")
                let stopping = try await listener.waitFor("STOPPING=1", timeout: .seconds(5))
                #expect(notificationFields(stopping)["STATUS"]?.hasPrefix("stopping") == true, "\(stopping)")
                #expect(!FileManager.default.fileExists(atPath: socketPath), "socket file left behind")
            }
        }
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func stopSignalTheMomentReadyArrivesSendsStoppingAndExitsZero(_ signal: Int32) async throws {
        // systemd may stop a unit the moment it reports ready: coopd must already handle the signal then.
        for _ in 0..<3 {
            try await withNotifyingDaemon { daemon, listener in
                let pid = daemon.pid
                let ready = try await offload { () throws -> String? in
                    // On the receiving thread, so the signal follows READY=1 within microseconds.
                    while let message = try listener.receiveBlocking(timeout: .seconds(20)) {
                        if notificationLines(message).contains("READY=1") {
                            kill(pid, signal)
                            return message
                        }
                    }
                    return nil
                }
                #expect(ready != nil, "no READY=1; received \(listener.received)")
                let termination = try await daemon.waitForExit()
                #expect(termination == .exited(0), "coopd \(termination); stderr:\n\(daemon.stderr)")
                let stopping = try await listener.waitFor("STOPPING=1", timeout: .seconds(5))
                #expect(notificationFields(stopping)["STATUS"]?.hasPrefix("stopping") == true, "\(stopping)")
                #expect(!FileManager.default.fileExists(atPath: daemon.socketPath), "socket file left behind")
            }
        }
    }

    @Test func stopSignalWhileServingSendsStoppingAndExitsZero() async throws {
        try await withNotifyingDaemon { daemon, listener in
            _ = try await listener.waitFor("READY=1")
            let connection = try RawConnection.connect(daemon.socketPath)
            #expect(try await connection.echo(streamID: 1, data: [1]) == [1])
            daemon.signal(SIGTERM)
            _ = try await listener.waitFor("STOPPING=1")
            let termination = try await daemon.waitForExit()
            #expect(termination == .exited(0), "coopd \(termination); stderr:\n\(daemon.stderr)")
            try await daemon.waitForStderr(containing: "coopd stopped")
        }
    }
}
