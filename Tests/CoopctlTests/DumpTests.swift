import Foundation
import Testing

/// `export --all` and its import: the whole of a coopd, links included, restored byte for byte elsewhere.
@Suite(.serialized) struct CoopctlDumpTests {
    /// Adds to the shipped data what it lacks and a dump must carry: a revision chain whose first revision was
    /// retracted and revised again, a retracted figure filed again identically, a conflict link with a note, and
    /// an event naming a later one. Returns the note.
    static func addEdgeCases(_ s: String) async throws -> String {
        func id(_ arguments: [String]) async throws -> String {
            let object = try await ok(arguments + ["--json"], socket: s).object()
            return String(try #require(object.int("id")))
        }
        let figure = [
            "figure", "add", "--indicator", "JP_MHLW_FOREIGN_WORKERS", "--from", "VN", "--to", "JP", "--source", "1",
        ]
        let first = try await id(figure + ["--period", "2040-10-31", "--value", "100", "--vintage", "2041-01-01"])
        let wrong = try await id(["figure", "revise", first, "--value", "110", "--source", "1", "--vintage", "2041-02-01"])
        _ = try await ok(["figure", "retract", wrong, "--reason", "typo in the table"], socket: s)
        let right = try await id(["figure", "revise", first, "--value", "111", "--source", "1", "--vintage", "2041-03-01"])
        let again = figure + ["--period", "2041-10-31", "--value", "5", "--vintage", "2042-01-01"]
        let filed = try await id(again)
        _ = try await ok(["figure", "retract", filed, "--reason", "wrong pair"], socket: s)
        let refiled = try await id(again)
        let note = "two readings: 111 here, 5 there"
        _ = try await ok(["conflict", "link", right, refiled, "--note", note], socket: s)
        let event = ["event", "add", "--kind", "meeting", "--title", "Dump test announcement", "--country", "VN",
                     "--country", "JP", "--planned", "2041-05-01"]
        let announced = try await id(event)
        let held = try await id(
            ["event", "add", "--kind", "meeting", "--title", "Dump test meeting", "--country", "VN", "--country", "JP",
             "--actual", "2041-05-02", "--related", announced])
        _ = try await ok(event + ["--replace", announced, "--related", held], socket: s)
        return note
    }

    @Test func exportAllImportedIntoAnEmptyDaemonExportsTheSameBytesAndAReimportChangesNothing() async throws {
        let files = try TemporaryDirectory()
        defer { files.remove() }
        let path = files.file("dump.json")
        let note = try await withDaemon(seeded: true) { daemon in
            let s = daemon.socketPath
            let note = try await Self.addEdgeCases(s)
            let export = try await ok(["export", "--all", "-o", path], socket: s)
            #expect(export.stderr.contains("observations"), "\(export)")
            #expect(try await ok(["export", "--all"], socket: s).stdout == readText(path))

            // coopd holds other data now: refused, nothing written.
            _ = try await ok(["source", "add", "--title", "after the dump", "--publisher", "tests"], socket: s)
            let refused = try await coopctl(["import", path], socket: s)
            #expect(refused.status == 8 && refused.stderr.contains("already holds data"), "\(refused)")
            return note
        }

        let text = readText(path)
        #expect(text.hasPrefix("{\n\"format\": \"coopd-dump\",\n\"version\": 1,\n\"indicators\": [\n{"))
        #expect(!text.contains("recorded_sequence"))
        let dump = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        // Every kind, with its links; ids the dump's own (1, 2, 3…).
        for kind in ["sources", "observations", "events", "agreements", "statements"] {
            let ids = dump.objects(kind).compactMap { $0.int("id") }
            #expect(!ids.isEmpty && ids == Array(1...Int64(ids.count)), "\(kind): \(ids)")
        }
        let observations = dump.objects("observations")
        #expect(observations.contains { $0["superseded_by_id"] != nil })
        #expect(observations.filter { $0["retracted"] as? Bool == true }.compactMap { $0.string("retraction_reason") }
            .sorted().map { $0.prefix(32) } == [
                "filed under the wrong indicator:", // the shipped data's correction
                "typo in the table", "wrong pair",
            ])
        #expect(observations.contains { $0.string("indicator")?.hasPrefix("STATEMENT_") == true }, "claims")
        let conflicts = dump.objects("conflicts")
        #expect(conflicts.contains { $0.string("note") == note })
        #expect(conflicts.allSatisfy { ($0.int("observation_id") ?? 0) < ($0.int("conflicts_with_id") ?? 0) })
        #expect(dump.objects("events").filter { !(($0["related_event_ids"] as? [Any]) ?? []).isEmpty }.count >= 2)
        #expect(dump.objects("agreements").count >= 1)
        let statements = dump.objects("statements")
        #expect(statements.count == 7)
        #expect(statements.allSatisfy { $0.object("speaker").string("name") != nil && $0.int("claim_observation_id") != nil })
        #expect(statements.contains { !(($0["conflicts_with"] as? [Any]) ?? []).isEmpty })
        let relationships = dump.objects("relationships")
        #expect(relationships.count == 1 && relationships[0].objects("history").count >= 2)

        try await withDaemon(seeded: false) { daemon in
            let s = daemon.socketPath
            let summary = try await ok(["import", path, "--json"], socket: s).object()
            #expect(summary.int("observations") == Int64(observations.count), "\(summary)")
            #expect(summary.int("retracted") == 3 && summary.int("conflicts") == Int64(conflicts.count), "\(summary)")
            #expect(summary.int("statements") == 7 && summary.int("relationships") == 1, "\(summary)")
            let second = try await ok(["export", "--all", "--json"], socket: s).stdout
            #expect(second == text, "\(Self.firstDifference(second, text))")

            // Again: coopd holds exactly the dump, so nothing is done; with --force every write is sent again and
            // answered from its request id.
            let again = try await ok(["import", path, "--json"], socket: s).object()
            #expect(again["already_present"] as? Bool == true, "\(again)")
            let forced = try await ok(["import", path, "--force", "--json"], socket: s).object()
            #expect(forced.int("observations") == Int64(observations.count), "\(forced)")
            #expect(try await ok(["export", "--all"], socket: s).stdout == text)
        }
    }

    @Test func jsonImportMakesTheConflictLinksBetweenItsObservations() async throws {
        let files = try TemporaryDirectory()
        defer { files.remove() }
        let path = files.file("figures.json")
        try await withDaemon(seeded: true) { daemon in
            let s = daemon.socketPath
            let mhlw = try await ok(
                ["figures", "--indicator", "JP_MHLW_FOREIGN_WORKERS", "--from", "VN", "--to", "JP", "--since", "2022",
                 "--until", "2023", "--json"], socket: s
            ).object().objects("observations").compactMap { $0.int("id") }
            #expect(mhlw.count == 2)
            _ = try await ok(["conflict", "link", "\(mhlw[0])", "\(mhlw[1])", "--note", "test"], socket: s)
            _ = try await ok(["export", "--json", "-o", path], socket: s)
        }
        try await withDaemon(seeded: false) { daemon in
            let s = daemon.socketPath
            let summary = try await ok(["import", path, "--json"], socket: s).object()
            #expect((summary.int("conflicts_linked") ?? 0) >= 1, "\(summary)")
            let linked = try await ok(
                ["figures", "--indicator", "JP_MHLW_FOREIGN_WORKERS", "--from", "VN", "--to", "JP", "--since", "2022",
                 "--until", "2023", "--json"], socket: s
            ).object().objects("observations")
            #expect(linked.count == 2)
            #expect(linked.allSatisfy { ($0["conflicts_with"] as? [Any])?.count ?? 0 >= 1 }, "\(linked)")
            let again = try await ok(["import", path, "--json"], socket: s).object()
            #expect(again.int("conflicts_linked") == 0 && again.int("imported") == 0, "\(again)")
        }
    }

    /// Where two texts first differ, with some context.
    static func firstDifference(_ a: String, _ b: String) -> String {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        let i = (0..<min(x.count, y.count)).first { x[$0] != y[$0] } ?? min(x.count, y.count)
        func around(_ bytes: [UInt8]) -> String {
            String(decoding: bytes[max(0, i - 80)..<min(bytes.count, i + 80)], as: UTF8.self)
        }
        return "at byte \(i): \(around(x)) ≠ \(around(y))"
    }
}
