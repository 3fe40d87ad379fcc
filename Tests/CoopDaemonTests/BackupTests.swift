#if canImport(Glibc)
import Glibc
#endif
import CoopClient
import Foundation
import Testing

/// `coopd backup`: a consistent copy while the daemon serves and writes go on, and a restore from it.
@Suite struct BackupTests {
    @Test func backupUnderConcurrentWritesIsSoundAndRestores() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let copy = directory.file("backup.sqlite")
        var copied = 0
        try await withDaemon(in: directory, environment: ["COOPD_SEED": "yes"]) { daemon in
            // Writes keep arriving while the copy is taken.
            let load = Task {
                try await runToCompletion(
                    try TestBinaries.coopBench(),
                    ["--socket", daemon.socketPath, "--workload", "write", "--conns", "4", "-c", "4",
                     "--duration", "2", "--warmup", "0", "--json"],
                    in: daemon.directory, timeout: .seconds(60))
            }
            // Take the copy once some of those writes have committed (however slow the machine).
            try await withClient(daemon.socketPath) { client in
                let deadline = ContinuousClock.now + .seconds(30)
                while try await client.listObservations(.with {
                    $0.indicators = ["JP_MHLW_FOREIGN_WORKERS"]
                    $0.periodFrom = "2099"
                    $0.pageSize = 1
                }).observations.isEmpty {
                    guard ContinuousClock.now < deadline else {
                        Issue.record("no write committed within 30 s")
                        return
                    }
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            let backup = try await runToCompletion(
                try TestBinaries.coopd(), ["backup", "--state-directory", daemon.stateDirectory, copy], in: directory)
            #expect(backup.termination == .exited(0), "\(backup.stdout) \(backup.stderr)")
            #expect(backup.stdout.contains("integrity ok"), "\(backup.stdout)")
            let writes = try await load.value
            #expect(writes.termination == .exited(0), "\(writes.stdout)")

            let check = try await runToCompletion("/usr/bin/sqlite3", [copy, "PRAGMA integrity_check;"], in: directory)
            #expect(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok", "\(check.stdout)")
            let count = try await runToCompletion(
                "/usr/bin/sqlite3", [copy, "SELECT count(*) FROM observations;"], in: directory)
            copied = Int(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
            #expect(copied > 100, "the copy holds the shipped figures and some of the writes")

            // A second backup to the same file is refused, not overwritten.
            let again = try await runToCompletion(
                try TestBinaries.coopd(), ["backup", "--state-directory", daemon.stateDirectory, copy], in: directory)
            #expect(again.termination == .exited(1))
            #expect(again.stdout.contains("exists"), "\(again.stdout)")
            _ = try await daemon.terminate()
        }

        // Restore: the copy replaces the database while coopd is stopped.
        let state = directory.file("state")
        for suffix in ["", "-wal", "-shm"] { unlink(state + "/coop.sqlite" + suffix) }
        try FileManager.default.copyItem(atPath: copy, toPath: state + "/coop.sqlite")
        try await withDaemon(in: directory, environment: ["COOPD_SEED": "yes"]) { daemon in
            try await withClient(daemon.socketPath) { client in
                let all = try await client.allObservations(.with {
                    $0.anyBreakdown = true
                    $0.includeSuperseded = true
                    $0.includeRetracted = true
                    $0.includeClaims = true
                    $0.pageSize = 1000
                })
                #expect(all.count == copied)
            }
        }
    }
}
