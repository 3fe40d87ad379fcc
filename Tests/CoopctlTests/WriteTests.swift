#if canImport(Glibc)
import Glibc
#endif
import CoopTestSupport
import Foundation
import Testing

/// Writes, the change stream, and the exit status of each class of failure.
@Suite(.serialized) struct CoopctlWriteTests {
    @Test func writesStoreWhatTheySayAndWatchStreamsThemUntilInterrupted() async throws {
        try await withDaemon(seeded: true) { daemon in
            let s = daemon.socketPath
            // A watch from now on, as JSON lines, running until interrupted.
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            var environment = ChildProcess.cleanEnvironment()
            environment["COOP_SOCKET"] = s
            let watch = try ChildProcess(
                try TestBinaries.coopctl(), ["watch", "--json"], environment: environment,
                stdout: directory.file("watch.out"), stderr: directory.file("watch.err"))
            defer { watch.kill() }
            let printed = { () -> [[String: Any]] in
                readText(directory.file("watch.out")).split(separator: "\n").compactMap {
                    try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
                }
            }
            // The watch follows the log once it prints a write made after it started. A probe write made before
            // it took its starting point is never printed, so write probes until one shows up.
            let probe = "TEST_WATCH_PROBE"
            try await poll("the watch to print a probe write", timeout: .seconds(20), every: .milliseconds(100)) {
                () async throws -> Bool? in
                if printed().contains(where: { $0.string("entity_key") == probe }) { return true }
                _ = try await ok(
                    ["indicator", "add", probe, "--name", "Watch probe", "--measure", "flow", "--unit", "persons",
                     "--period-basis", "calendar_year"], socket: s)
                return nil
            }

            let source = try await ok(
                ["source", "add", "--title", "coopctl test", "--publisher", "tests", "--url", "https://example.org/coopctl",
                 "--published", "2026-01-15", "--kind", "news", "--json"], socket: s
            ).object()
            let sourceID = try #require(source.int("id"))
            #expect(source.string("kind") == "SOURCE_KIND_NEWS")

            let added = try await ok(
                ["figure", "add", "--indicator", "JP_MHLW_FOREIGN_WORKERS", "--from", "VN", "--to", "JP", "--period",
                 "2024-10-31", "--value", "570,708", "--source", "\(sourceID)", "--request-id", "test-add-1", "--json"],
                socket: s
            ).object()
            let id = try #require(added.int("id"))
            #expect(added.int("value") == 570708 && added.string("vintage") == "2026-01-15" && added.string("unit") == "persons")
            // The same request id again: applied once, answered the same.
            let again = try await ok(
                ["figure", "add", "--indicator", "JP_MHLW_FOREIGN_WORKERS", "--from", "VN", "--to", "JP", "--period",
                 "2024-10-31", "--value", "570708", "--source", "\(sourceID)", "--request-id", "test-add-1", "--json"],
                socket: s
            ).object()
            #expect(again.int("id") == id)
            // The same figure under a new request id is not stored twice.
            let duplicate = try await coopctl(
                ["figure", "add", "--indicator", "JP_MHLW_FOREIGN_WORKERS", "--from", "VN", "--to", "JP", "--period",
                 "2024-10-31", "--value", "570708", "--source", "\(sourceID)", "--request-id", "test-add-2"], socket: s)
            #expect(duplicate.status == 8, "\(duplicate)")
            #expect(duplicate.stderr.contains("identical to observation \(id)"), "\(duplicate)")

            let series = try await ok(
                ["series", "JP_MHLW_FOREIGN_WORKERS", "--from", "VN", "--to", "JP", "--since", "2024", "--until", "2024"],
                socket: s)
            #expect(series.lines.contains { $0.hasPrefix("2024-10-31") && $0.contains("570,708") }, "\(series)")

            let revised = try await ok(
                ["figure", "revise", "\(id)", "--value", "571000", "--qualifier", "approx", "--source", "\(sourceID)",
                 "--vintage", "2026-02-01", "--json"], socket: s
            ).object()
            let revisedID = try #require(revised.int("id"))
            #expect(revised.int("supersedes_id") == id && revised.string("qualifier") == "QUALIFIER_APPROX")

            let oda = try await ok(
                ["figure", "add", "--indicator", "JP_ODA_PLEDGE", "--from", "JP", "--to", "VN", "--start", "2016-04-01",
                 "--end", "2017-03-31", "--value", "1.5", "--unit", "billion JPY", "--source", "\(sourceID)"], socket: s)
            #expect(oda.stdout.contains("FY2016 = 1.5 billion JPY"), "\(oda)")

            let retracted = try await ok(
                ["figure", "retract", "\(revisedID)", "--reason", "test retraction", "--json"], socket: s).object()
            #expect(retracted["retracted"] as? Bool == true && retracted.string("retraction_reason") == "test retraction")

            let link = try await ok(["conflict", "link", "1", "2", "--note", "test"], socket: s)
            #expect(link.stdout == "observations 1 and 2 conflict\n")

            let event = try await ok(
                ["event", "add", "--kind", "meeting", "--title", "coopctl test meeting", "--country", "vn", "--country", "JP",
                 "--actual", "2026-01-05", "--participant", "name=Dao Ngoc Dung;native=Đào Ngọc Dung;country=VN",
                 "--source", "\(sourceID)", "--json"], socket: s
            ).object()
            let eventID = try #require(event.int("id"))
            #expect(event.string("status") == "EVENT_STATUS_HELD")
            #expect(event.objects("participants").first?.string("native_name") == "Đào Ngọc Dung")

            let agreement = try await ok(
                ["agreement", "add", "--kind", "memorandum", "--title", "coopctl test memorandum", "--party", "MOLISA:VN",
                 "--party", "Chiba Prefecture:JP:subnational", "--signed", "2026-01-05", "--topic", "testing",
                 "--event", "\(eventID)", "--source", "\(sourceID)", "--json"], socket: s
            ).object()
            #expect(agreement.objects("parties").last?["subnational"] as? Bool == true)

            let indicator = try await ok(
                ["indicator", "add", "TEST_INDICATOR", "--name", "A test", "--measure", "flow", "--unit", "persons",
                 "--period-basis", "calendar_year"], socket: s)
            #expect(indicator.stdout == "indicator TEST_INDICATOR: A test\n")

            let statement = try await ok(
                ["statement", "add", "--speaker", "Test Speaker", "--speaker-country", "JP", "--said-on", "2026-01-05",
                 "--text", "About 571,000", "--source", "\(sourceID)", "--event", "\(eventID)", "--json"], socket: s
            ).object()
            #expect(statement.object("speaker").string("name") == "Test Speaker")
            // An official statistic is not what somebody said: refused, and nothing is stored.
            let statisticAsClaim = try await coopctl(
                ["statement", "add", "--speaker", "Test Speaker", "--said-on", "2026-01-06", "--text", "Not a claim",
                 "--source", "\(sourceID)", "--claim-observation", "\(id)"], socket: s)
            #expect(statisticAsClaim.status == 5, "\(statisticAsClaim)")
            #expect(statisticAsClaim.stderr.contains("claim_observation_id"), "\(statisticAsClaim)")

            // The watch saw each write in order, as JSON lines (after the probes).
            let all = try await poll("the watch to print the writes", timeout: .seconds(20)) { () -> [[String: Any]]? in
                let objects = printed()
                return objects.contains { $0.string("entity_kind") == "statement" } ? objects : nil
            }
            #expect(all.count == lines(readText(directory.file("watch.out"))))
            let lastProbe = try #require(all.lastIndex { $0.string("entity_key") == probe })
            let changes = Array(all[(lastProbe + 1)...])
            let kinds = changes.compactMap { $0.string("entity_kind") }
            #expect(kinds == ["source", "observation", "observation", "observation", "observation", "conflict", "event",
                              "agreement", "indicator", "statement"], "\(kinds)")
            #expect(changes[1].object("observation").int("value") == 570708)
            #expect(changes[2].string("operation") == "CHANGE_OPERATION_REVISE")
            let sequences = changes.compactMap { $0.int("sequence") }
            #expect(sequences == sequences.sorted())
            // Interrupted, it exits 0.
            watch.signal(SIGINT)
            #expect(try await watch.waitForExit(timeout: .seconds(10)) == .exited(0))

            // A bounded replay from a sequence, as CSV.
            let replay = try await ok(["watch", "--from-sequence", "\(sequences[0])", "-n", "3", "--csv"], socket: s).csv()
            #expect(replay.count == 4)
            #expect(replay[0] == ["sequence", "time", "entity_kind", "operation", "entity_id", "entity_key", "writer_uid", "summary"])
            #expect(replay[1][0] == "\(sequences[0])" && replay[1][2] == "source" && replay[1][3] == "insert")
        }
    }

    @Test func eachClassOfFailureHasItsExitStatusAndOneLine() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        chmod(directory.path, 0o755)
        let daemon = try Daemon(in: directory, seeded: true, arguments: ["--socket-mode", "0666"])
        defer { daemon.process.kill() }
        try await daemon.waitUntilServing()
        let s = daemon.socketPath

        func expectStatus(_ status: Int32, _ arguments: [String], contains: String, asNobody: Bool = false,
                          socket: String? = nil) async throws {
            let run = try await coopctl(arguments, socket: socket ?? s, asNobody: asNobody)
            #expect(run.status == status, "\(run)")
            #expect(run.stderr.contains(contains), "\(run)")
            #expect(run.stdout.isEmpty, "\(run)")
        }
        // Not found.
        try await expectStatus(4, ["figure", "retract", "999999", "--reason", "x"], contains: "not found: ")
        try await expectStatus(4, ["series", "NO_SUCH_INDICATOR", "--from", "VN", "--to", "JP"], contains: "coopctl indicators")
        // Invalid argument, named by field.
        try await expectStatus(5, ["figures", "--from", "XX"], contains: "invalid argument: origin: unknown country code")
        try await expectStatus(5, ["figure", "add", "--indicator", "JP_MHLW_FOREIGN_WORKERS", "--from", "VN", "--to", "JP",
                                   "--period", "2030", "--value", "1", "--source", "999999"],
                               contains: "invalid argument: observations[0].source_id: unknown source 999999")
        // Conflict with what is stored: revising a superseded vintage.
        let dolab = try await ok(["figures", "--from", "VN", "--to", "_T", "--indicator", "VN_DOLAB_WORKERS_DEPLOYED",
                                  "--since", "2019", "--until", "2019", "--all-vintages", "--json"], socket: s).object()
        let superseded = try #require(dolab.objects("observations").first { $0.int("superseded_by_id") != nil })
        try await expectStatus(8, ["figure", "revise", "\(superseded.int("id")!)", "--value", "1", "--source", "1"],
                               contains: "failed precondition: ")
        // Usage.
        try await expectStatus(2, ["figures", "--no-such-option"], contains: "Unknown option")
        try await expectStatus(2, ["figures", "--since", "2023-13"], contains: "not a date")
        // Permission denied: another uid may read but not write.
        let read = try await coopctl(["health"], socket: s, asNobody: true)
        #expect(read.status == 0 && read.stdout == "SERVING\n", "\(read)")
        try await expectStatus(
            6, ["source", "add", "--title", "from nobody", "--publisher", "nobody"],
            contains: "permission denied: writing needs a writer uid", asNobody: true)
        let denied = try await coopctl(["source", "add", "--title", "x", "--publisher", "y"], socket: s, asNobody: true)
        #expect(denied.stderr.contains("--writer-uid") && denied.stderr.split(separator: "\n").count == 1, "\(denied)")

        // Daemon down: a path where nothing listens, then the daemon's own socket after it is killed.
        let missing = try await coopctl(["health", "--socket", directory.file("none.sock")], socket: nil)
        #expect(missing.status == 3 && missing.stderr.contains("\(directory.file("none.sock")) (--socket): no such file"), "\(missing)")
        daemon.process.kill()
        let down = try await coopctl(["ping"], socket: s)
        #expect(down.status == 3, "\(down)")
        #expect(down.stderr.contains("cannot reach coopd") && down.stderr.contains(s) && down.stderr.contains("$COOP_SOCKET"), "\(down)")
        #expect(down.stderr.contains("connection refused") || down.stderr.contains("no such file"), "\(down)")
    }

    @Test func findsTheDaemonThroughTheEnvironmentAndTheDefaultPaths() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let runtime = directory.file("run")
        try FileManager.default.createDirectory(atPath: runtime + "/coopd", withIntermediateDirectories: true)
        let daemon = try Daemon(in: directory, seeded: false, socketName: runtime + "/coopd/coopd.sock")
        defer { daemon.process.kill() }
        try await daemon.waitUntilServing()

        #expect(try await ok(["health"], socket: nil, environment: ["COOPD_SOCKET": daemon.socketPath]).stdout == "SERVING\n")
        #expect(try await ok(["health"], socket: daemon.socketPath).stdout == "SERVING\n")
        #expect(try await ok(["--socket", daemon.socketPath, "health"], socket: nil).stdout == "SERVING\n")
        // Nothing explicit: /run/coopd/coopd.sock, then $XDG_RUNTIME_DIR/coopd/coopd.sock.
        if !FileManager.default.fileExists(atPath: "/run/coopd/coopd.sock") {
            let info = try await ok(["info", "--json"], socket: nil, environment: ["XDG_RUNTIME_DIR": runtime]).object()
            #expect(info.string("socket_path") == daemon.socketPath)
        }
        let none = try await coopctl(["health"], socket: nil, environment: ["XDG_RUNTIME_DIR": directory.file("elsewhere")])
        #expect(none.status == 3)
        #expect(none.stderr.contains("/run/coopd/coopd.sock (systemd)"), "\(none)")
        #expect(none.stderr.contains(directory.file("elsewhere") + "/coopd/coopd.sock ($XDG_RUNTIME_DIR): no such file"), "\(none)")

        // A per-user default in a directory anybody could have written is not trusted, even with coopd behind it.
        if !FileManager.default.fileExists(atPath: "/run/coopd/coopd.sock") {
            chmod(runtime + "/coopd", 0o777)
            let untrusted = try await coopctl(["health"], socket: nil, environment: ["XDG_RUNTIME_DIR": runtime])
            #expect(untrusted.status == 3, "\(untrusted)")
            #expect(untrusted.stderr.contains(
                "\(daemon.socketPath) ($XDG_RUNTIME_DIR): not trusted: \(runtime)/coopd is writable by other users (mode 0777)"),
                "\(untrusted)")
            // Named explicitly, the same socket is the caller's choice.
            #expect(try await ok(["health"], socket: daemon.socketPath).stdout == "SERVING\n")
        }
    }
}

private func lines(_ text: String) -> Int { text.split(separator: "\n").count }
