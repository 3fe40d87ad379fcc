import CoopTestSupport
import Foundation
import Testing

/// coopd against containerd's Go ttrpc client (the reference peer in shared/bench), through `ttrpc-load`.
@Suite struct GoInteropTests {
    /// Runs `ttrpc-load -socket SOCKET ARGS…` and returns its termination and output.
    private func ttrpcLoad(_ daemon: DaemonProcess, _ arguments: [String], timeout: Duration = .seconds(30))
        async throws -> (termination: Termination, stdout: String, stderr: String)
    {
        try await runToCompletion(
            try TestBinaries.ttrpcLoad(), ["-socket", daemon.socketPath] + arguments, in: daemon.directory,
            timeout: timeout)
    }

    @Test func goClientEchoReturnsThePayloadUnchanged() async throws {
        try await withDaemon { daemon in
            let payload = "0a0b68656c6c6f20636f6f7064"  // EchoRequest { data: "hello coopd" }
            let run = try await ttrpcLoad(daemon, [
                "-check", "-service", "coop.v1.Diagnostics", "-method", "Echo",
                "-payload-hex", payload, "-expect-hex", payload,
            ])
            #expect(run.termination == .exited(0), "stdout: \(run.stdout) stderr: \(run.stderr)")
            #expect(run.stdout.contains("check: response_payload=13 bytes (\(payload))"), "\(run.stdout)")
            #expect(run.stdout.contains("check: OK"), "\(run.stdout)")
        }
    }

    @Test func goClientEchoWithAnEmptyPayloadGetsAnEmptyPayload() async throws {
        try await withDaemon { daemon in
            let run = try await ttrpcLoad(daemon, [
                "-check", "-service", "coop.v1.Diagnostics", "-method", "Echo", "-payload-hex", "", "-expect-hex", "",
            ])
            #expect(run.termination == .exited(0), "stdout: \(run.stdout) stderr: \(run.stderr)")
            #expect(run.stdout.contains("check: response_payload=0 bytes ()"), "\(run.stdout)")
            #expect(run.stdout.contains("check: OK"), "\(run.stdout)")
        }
    }

    @Test func goClientHealthCheckAnswersServing() async throws {
        try await withDaemon { daemon in
            let run = try await ttrpcLoad(daemon, [
                "-check", "-service", "grpc.health.v1.Health", "-method", "Check", "-payload-hex", "",
                "-expect-hex", "0801",
            ])
            #expect(run.termination == .exited(0), "stdout: \(run.stdout) stderr: \(run.stderr)")
            #expect(run.stdout.contains("check: response_payload=2 bytes (0801)"), "\(run.stdout)")
        }
    }

    @Test func goClientSeesUnknownMethodAsUnimplemented() async throws {
        try await withDaemon { daemon in
            let run = try await ttrpcLoad(daemon, [
                "-check", "-service", "coop.v1.Diagnostics", "-method", "Nope", "-payload-hex", "",
            ])
            #expect(run.termination == .exited(1), "stdout: \(run.stdout) stderr: \(run.stderr)")
            #expect(run.stdout.contains("check: FAIL rpc status code=12 (Unimplemented) message=\"method Nope\""),
                    "\(run.stdout)")
        }
    }

    @Test func goClientConcurrentLoadCompletesWithoutErrors() async throws {
        try await withDaemon { daemon in
            let run = try await ttrpcLoad(daemon, [
                "-service", "coop.v1.Diagnostics", "-method", "Echo", "-conns", "4", "-c", "32", "-d", "2s", "-json",
            ])
            #expect(run.termination == .exited(0), "stdout: \(run.stdout) stderr: \(run.stderr)")
            let line = try #require(run.stdout.split(separator: "\n").last, "no output; stderr: \(run.stderr)")
            let summary = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
            #expect(summary["errors"] as? Int == 0, "\(summary)")
            #expect((summary["calls"] as? Int ?? 0) > 0, "\(summary)")
            #expect(summary["conns"] as? Int == 4)
            #expect(summary["concurrency"] as? Int == 32)
        }
    }
}
