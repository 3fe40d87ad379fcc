import Foundation
import Testing

/// The load generator runs briefly against a live coopd: no errors, and output a script can read.
@Suite struct BenchSmokeTests {
    @Test(arguments: ["echo", "query", "query-mix", "query-large", "write", "health"])
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

    /// `populate` adds exactly what it says, spread over many pairs and indicators; the query mix then asks
    /// questions that almost never repeat (the response cache barely helps) and all of them are answered.
    @Test func populateAddsItsObservationsAndTheQueryMixRarelyRepeatsAQuestion() async throws {
        try await withDaemon(environment: ["COOPD_SEED": "yes"]) { daemon in
            let populate = try await runToCompletion(
                try TestBinaries.coopBench(), ["populate", "2000", "--socket", daemon.socketPath, "--json"],
                in: daemon.directory, timeout: .seconds(120))
            #expect(populate.termination == .exited(0), "\(populate.stdout) \(populate.stderr)")
            let added = try JSONSerialization.jsonObject(with: Data(populate.stdout.utf8)) as? [String: Any]
            #expect(added?["observations"] as? Int == 2000)
            try await withClient(daemon.socketPath) { client in
                let synthetic = try await client.allObservations(.with {
                    $0.indicators = (0..<40).map { String(format: "SYN_%02d", $0) }
                    $0.pageSize = 1000
                })
                #expect(synthetic.count == 2000)
                #expect(Set(synthetic.map(\.indicator)).count == 40)
                #expect(Set(synthetic.map { $0.origin + $0.destination }).count == 50)
            }
            let mix = try await runToCompletion(
                try TestBinaries.coopBench(),
                ["--socket", daemon.socketPath, "--workload", "query-mix", "-c", "8", "--duration", "1",
                 "--warmup", "0.1", "--json"],
                in: daemon.directory, timeout: .seconds(60))
            #expect(mix.termination == .exited(0), "\(mix.stdout) \(mix.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(mix.stdout.utf8)) as? [String: Any]
            #expect(object?["errors"] as? Int == 0)
            #expect((object?["calls"] as? Int ?? 0) > 0)
            let rate = object?["cache_hit_rate"] as? Double ?? 1
            #expect(rate <= 0.05, "cache hit rate \(rate)")
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
