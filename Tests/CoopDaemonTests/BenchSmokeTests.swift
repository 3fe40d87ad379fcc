import Foundation
import Testing

/// The load generator runs briefly against a live coopd: no errors, and output a script can read.
@Suite struct BenchSmokeTests {
    @Test(arguments: ["echo", "query", "write", "health"])
    func loadGeneratorCompletesWithoutErrorsAndPrintsJSON(workload: String) async throws {
        try await withDaemon(environment: ["COOPD_SEED": "yes"]) { daemon in
            let run = try await runToCompletion(
                try TestBinaries.coopBench(),
                ["--socket", daemon.socketPath, "--workload", workload, "--conns", "2", "-c", "4",
                 "--duration", "1", "--warmup", "0.1", "--json"],
                in: daemon.directory, timeout: .seconds(60))
            #expect(run.termination == .exited(0), "\(run.stdout) \(run.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
            #expect(object?["workload"] as? String == workload)
            #expect(object?["errors"] as? Int == 0)
            let calls = object?["calls"] as? Int ?? 0
            #expect(calls > 0)
            let p50 = object?["p50_us"] as? Double ?? -1
            let p99 = object?["p99_us"] as? Double ?? -1
            #expect(p50 > 0 && p50 <= p99, "p50 \(p50) p99 \(p99)")
            if workload == "write" {
                // Every acknowledged write is stored.
                try await withClient(daemon.socketPath) { client in
                    let stored = try await client.allObservations(.with {
                        $0.indicators = ["JP_MHLW_FOREIGN_WORKERS"]
                        $0.periodFrom = "2099"
                        $0.includeSuperseded = true
                    })
                    #expect(stored.count >= calls)
                }
            }
        }
    }

    @Test func loadGeneratorExitsNonZeroWhenCallsFail() async throws {
        try await withDaemon { daemon in
            // Nothing serves this service: every call fails with UNIMPLEMENTED.
            let run = try await runToCompletion(
                try TestBinaries.coopBench(),
                ["--socket", daemon.socketPath, "--echo-service", "nope.v1.Nope", "--duration", "0.3", "--warmup", "0",
                 "--json"],
                in: daemon.directory, timeout: .seconds(60))
            #expect(run.termination == .exited(1), "\(run.stdout) \(run.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
            #expect((object?["errors"] as? Int ?? 0) > 0)
            #expect((object?["first_error"] as? String)?.contains("UNIMPLEMENTED") == true)
        }
    }
}
