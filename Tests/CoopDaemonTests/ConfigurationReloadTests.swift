#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// SIGHUP re-reads the `--config` file and applies the log level; a broken file changes nothing.
@Suite struct ConfigurationReloadTests {
    private func write(_ text: String, to path: String) throws {
        // Write and rename, as an editor or config management would, so coopd never reads half a file.
        try text.write(toFile: path + ".new", atomically: false, encoding: .utf8)
        guard rename(path + ".new", path) == 0 else { throw HarnessError("rename: \(String(cString: strerror(errno)))") }
    }

    @Test func reloadAppliesTheNewLogLevel() async throws {
        try await withTemporaryDirectory { directory in
            let config = directory.file("coopd.conf")
            try write("# test\nlog-level = warning\n", to: config)
            let listener = try NotifyListener(path: directory.file("notify.sock"))
            try await withDaemon(in: directory, arguments: ["--config", config], environment: listener.environment) {
                daemon in
                _ = try await listener.waitFor("READY=1")
                try write("log-level = info\n", to: config)
                daemon.signal(SIGHUP)
                let ready = try await listener.waitFor("READY=1")
                #expect(notificationFields(ready)["STATUS"] == "configuration reloaded")
                let stderr = try await daemon.waitForStderr(containing: "configuration reloaded log_level=info")
                // At warning, the notice-level start-up line was left out: the file's level applied from the start.
                #expect(!stderr.contains(" ready pid="), "logged at start despite log-level = warning:\n\(stderr)")
                #expect(stderr.contains(" NOTICE configuration reloaded log_level=info"), "\(stderr)")
            }
        }
    }

    @Test func brokenConfigurationOnReloadKeepsServingAndLogsTheFailure() async throws {
        try await withTemporaryDirectory { directory in
            let config = directory.file("coopd.conf")
            try write("log-level = info\n", to: config)
            let listener = try NotifyListener(path: directory.file("notify.sock"))
            try await withDaemon(in: directory, arguments: ["--config", config], environment: listener.environment) {
                daemon in
                _ = try await listener.waitFor("READY=1")
                try write("log-level = loud\n", to: config)
                daemon.signal(SIGHUP)
                let ready = try await listener.waitFor("READY=1")
                #expect(notificationFields(ready)["STATUS"]?.hasPrefix("reload failed: \(config):1: log-level:") == true,
                        "\(ready)")
                let stderr = try await daemon.waitForStderr(containing: "reload failed")
                #expect(stderr.contains(" ERROR reload failed; keeping the running configuration"), "\(stderr)")
                #expect(stderr.contains("got \\\"loud\\\"") || stderr.contains("got \"loud\""), "\(stderr)")

                let connection = try RawConnection.connect(daemon.socketPath)
                #expect(try await connection.echo(streamID: 1, data: [1]) == [1])
                #expect(daemon.process.isRunning)
            }
        }
    }

    @Test(arguments: [
        ("max-connections = none", "max-connections: expected a positive integer, got \"none\""),
        ("response-cache-mib = -1", "response-cache-mib: expected 0 to 4096 MiB, got \"-1\""),
    ])
    func invalidConfigurationAtStartExitsNonZeroNamingTheProblem(line: String, problem: String) async throws {
        try await withTemporaryDirectory { directory in
            let config = directory.file("coopd.conf")
            try write(line + "\n", to: config)
            let daemon = try await DaemonProcess.start(in: directory, arguments: ["--config", config], waitUntilServing: false)
            defer { daemon.kill() }
            #expect(try await daemon.waitForExit() == .exited(1))
            #expect(daemon.stderr.contains("configuration: \(config):1: \(problem)"), "\(daemon.stderr)")
            #expect(!FileManager.default.fileExists(atPath: daemon.socketPath))
        }
    }
}
