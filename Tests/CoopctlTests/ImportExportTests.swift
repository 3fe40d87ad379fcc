import Foundation
import Testing

@testable import CoopStore

/// Bulk import and export: the shipped dataset into an empty coopd, re-runs, rejected rows, round trips.
@Suite(.serialized) struct CoopctlImportExportTests {
    /// The shipped figures (the CSV coopd embeds), written to a file.
    static func shippedCSV(in directory: TemporaryDirectory) throws -> String {
        let path = directory.file("vn-jp-figures.csv")
        try SeedFiguresCSV.text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Every observation coopd serves (every vintage, totals and breakdowns, or only the latest), each as a
    /// comparable line: figure, value, qualifier, status, vintage, note and the source's URL. Ids differ between
    /// daemons; these do not.
    static func figures(_ socket: String, allVintages: Bool = true) async throws -> [String] {
        var arguments = ["figures", "--any-breakdown", "--json"]
        if allVintages { arguments.append("--all-vintages") }
        let json = try await ok(arguments, socket: socket).object()
        var urls: [Int64: String] = [:]
        for source in json.objects("sources") { urls[source.int("id") ?? 0] = source.string("url") ?? "" }
        return json.objects("observations").map { o in
            let breakdown = o.objects("breakdown").map { "\($0.string("key") ?? "")=\($0.string("value") ?? "")" }
            return [
                o.string("indicator") ?? "", breakdown.joined(separator: ";"), o.string("origin") ?? "",
                o.string("destination") ?? "", o.string("period_start") ?? "", o.string("period_end") ?? "",
                "\(o.int("value") ?? 0)e\(o.int("unit_multiplier") ?? 0)", o.string("unit") ?? "",
                o.string("qualifier") ?? "", o.string("status") ?? "", o.string("vintage") ?? "", o.string("note") ?? "",
                urls[o.int("source_id") ?? 0] ?? "?", o["superseded_by_id"] == nil ? "latest" : "superseded",
            ].joined(separator: "|")
        }.sorted()
    }

    @Test func importingTheShippedCSVIntoAnEmptyDaemonReproducesTheShippedFiguresAndTwiceChangesNothing() async throws {
        let files = try TemporaryDirectory()
        defer { files.remove() }
        let csv = try Self.shippedCSV(in: files)
        let (shipped, shippedLatest) = try await withDaemon(seeded: true) { daemon in
            (try await Self.figures(daemon.socketPath), try await Self.figures(daemon.socketPath, allVintages: false))
        }
        // Statistics only (93 of the table's 100 rows; claims are listed with --claims, and the seeded daemon's
        // claims carry its corrections, which a CSV import does not).
        #expect(shipped.count == 93)

        try await withDaemon(seeded: false) { daemon in
            let s = daemon.socketPath
            #expect(try await Self.figures(s).isEmpty)

            let first = try await ok(["import", csv, "--json"], socket: s).object()
            #expect(first.int("rows") == 100)
            #expect(first.int("imported") == 100)
            #expect(first.int("revisions") == 3)
            #expect(first.int("skipped") == 0)
            #expect(first.objects("rejected").isEmpty, "\(first)")
            #expect(first.int("sources_created") == 59)
            #expect((first["indicators_created"] as? [String])?.count == 17)

            // Same count, same values per indicator, pair, breakdown and period, same vintages and revisions.
            let imported = try await Self.figures(s)
            #expect(imported.count == shipped.count)
            #expect(imported == shipped, "\(Set(imported).symmetricDifference(shipped))")
            #expect(try await Self.figures(s, allVintages: false) == shippedLatest)
            let series = try await ok(
                ["series", "JP_MHLW_FOREIGN_WORKERS", "--from", "VN", "--to", "JP", "--since", "2015", "--until", "2023",
                 "--json"], socket: s
            ).object()
            #expect(series.objects("points").map { $0.object("observation").int("value") } == shippedMHLW)

            // Twice: nothing imported, everything skipped, nothing changed.
            let before = try await ok(["figures", "--any-breakdown", "--all-vintages", "--json"], socket: s).stdout
            let second = try await ok(["import", csv], socket: s)
            #expect(second.stdout.hasPrefix("imported 0\nskipped 100 already present\nrejected 0\n"), "\(second)")
            let secondJSON = try await ok(["import", csv, "--json"], socket: s).object()
            #expect(secondJSON.int("imported") == 0 && secondJSON.int("skipped") == 100)
            #expect(secondJSON.int("sources_created") == 0 && (secondJSON["indicators_created"] as? [String]) == [])
            let after = try await ok(["figures", "--any-breakdown", "--all-vintages", "--json"], socket: s).stdout
            #expect(before == after)
        }
    }

    @Test func exportWritesTheDatasetFormatAndJSONRoundTripsLosslessly() async throws {
        let files = try TemporaryDirectory()
        defer { files.remove() }
        let csvPath = files.file("export.csv")
        let jsonPath = files.file("export.json")
        let shipped = try await withDaemon(seeded: true) { daemon in
            let s = daemon.socketPath
            let export = try await ok(["export", "-o", csvPath], socket: s)
            #expect(export.stderr.contains("exported 100 observations"))
            _ = try await ok(["export", "--json", "-o", jsonPath], socket: s)
            let vn = try await ok(["export", "--from", "VN", "--to", "JP", "--indicator", "JP_MHLW_FOREIGN_WORKERS", "--csv"], socket: s)
            let rows = try vn.csv()
            #expect(rows.first == ["indicator", "origin", "destination", "period_start", "period_end", "value", "unit", "qualifier",
                                   "source_title", "source_publisher", "source_url", "source_date", "note"])
            #expect(Array(rows.dropFirst().prefix(9).map { Int64($0[5]) }) == shippedMHLW)
            return try await Self.figures(s)
        }

        // The CSV holds the shipped rows: every column the same, but for the title and publisher of the two
        // rows whose URL another row names differently (one source per URL).
        func rows(_ text: String) throws -> [String] {
            try CSVTestParser.parse(text).dropFirst().map { r in
                (r[0..<8] + r[10..<13]).joined(separator: "|")
            }.sorted()
        }
        // And one claim as the seed's corrections filed it again (SeedCorrections).
        let corrected = SeedFiguresCSV.text.replacingOccurrences(
            of: "STATEMENT_VN_NATIONALS_IN_JP,VN,JP,2020-03-31", with: "STATEMENT_VN_TRAINEES_AND_WORKERS_IN_JP,VN,JP,2020-03-31")
        #expect(try rows(readText(csvPath)) == rows(corrected))
        let exported = try CSVTestParser.parse(readText(csvPath))
        #expect(exported.contains { $0[0] == "JP_ODA_COMMITTED_CUMULATIVE" && $0[5] == "2.6" && $0[6] == "trillion JPY" })
        #expect(exported.contains { $0[0] == "JP_ISA_FOREIGN_RESIDENTS_BY_STATUS:SSW" && $0[7] == "provisional" })

        // JSON, in small batches, into an empty daemon: the same figures, and the indicators as described.
        try await withDaemon(seeded: false) { daemon in
            let s = daemon.socketPath
            let summary = try await ok(["import", jsonPath, "--batch-size", "7", "--json"], socket: s).object()
            #expect(summary.int("imported") == 100 && summary.objects("rejected").isEmpty, "\(summary)")
            #expect((summary["indicators_created"] as? [String]) == [])
            #expect(try await Self.figures(s) == shipped)
            let indicators = try await ok(["indicators", "--json"], socket: s).object().objects("indicators")
            #expect(indicators.first { $0.string("code") == "JP_MHLW_FOREIGN_WORKERS" }?.string("name")
                == "Foreign workers in Japan (employer notifications)")
            let again = try await ok(["import", jsonPath, "--json"], socket: s).object()
            #expect(again.int("imported") == 0 && again.int("skipped") == 100)
        }
    }

    @Test func importRejectsBadRowsByLineAndStoresTheRest() async throws {
        let files = try TemporaryDirectory()
        defer { files.remove() }
        let path = files.file("mixed.csv")
        let source = "Test title,Test publisher,https://example.org/test,2026-01-15"
        let text = """
            indicator,origin,destination,period_start,period_end,value,unit,qualifier,source_title,source_publisher,source_url,source_date,note
            JP_MHLW_FOREIGN_WORKERS,VN,JP,2030-10-31,2030-10-31,1000,persons,exact,\(source),good
            JP_MHLW_FOREIGN_WORKERS,XX,JP,2030-10-31,2030-10-31,1001,persons,exact,\(source),bad country
            JP_MHLW_FOREIGN_WORKERS,VN,JP,2030-10-31,2030-10-31,lots,persons,exact,\(source),bad value
            JP_MHLW_FOREIGN_WORKERS,VN,JP,2030-10-31
            JP_MHLW_FOREIGN_WORKERS,VN,JP,2031-10-31,2031-10-31,1002,persons,roughly,\(source),bad qualifier
            JP_MHLW_FOREIGN_WORKERS,VN,JP,2032-12-31,2032-01-01,1003,persons,exact,\(source),ends before it starts
            JP_MHLW_FOREIGN_WORKERS_BY_STATUS:TITP,VN,JP,2030-10-31,2030-10-31,500,persons,approx,\(source),"a note
            over two lines, with a comma"

            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try await withDaemon(seeded: true) { daemon in
            let s = daemon.socketPath
            let run = try await coopctl(["import", path, "--json"], socket: s)
            #expect(run.status == 5, "\(run)")
            #expect(run.stderr.contains("5 of 7 rows rejected"), "\(run)")
            let summary = try run.object()
            #expect(summary.int("imported") == 2)
            let rejected = summary.objects("rejected")
            #expect(rejected.compactMap { $0.int("line") } == [3, 4, 5, 6, 7], "\(rejected)")
            let reasons = rejected.compactMap { $0.string("reason") }
            #expect(reasons[0].contains("unknown country code \"XX\""))
            #expect(reasons[1].contains("\"lots\" is not a number"))
            #expect(reasons[2].contains("4 fields, the header has 13"))
            #expect(reasons[3].contains("unknown qualifier \"roughly\""))
            #expect(reasons[4].contains("period_start: period starts (2032-12-31) after it ends"), "\(reasons[4])")

            let stored = try await ok(["figures", "--since", "2030", "--any-breakdown", "--json"], socket: s).object()
                .objects("observations")
            #expect(stored.compactMap { $0.int("value") }.sorted() == [500, 1000])
            #expect(stored.contains { $0.string("note") == "a note\nover two lines, with a comma" })

            // The table summary names lines too, and a re-run stores nothing more.
            let again = try await coopctl(["import", path], socket: s)
            #expect(again.status == 5)
            #expect(again.stdout.contains("imported 0\nskipped 2 already present\nrejected 5"), "\(again)")
            #expect(again.stdout.contains("  line 3: unknown country code \"XX\""), "\(again)")

            // A dry run writes nothing.
            let other = files.file("other.csv")
            try (text.components(separatedBy: "\n").prefix(1).joined() + "\n"
                + "JP_MHLW_FOREIGN_WORKERS,VN,JP,2040-10-31,2040-10-31,7,persons,exact,Other,Other,https://example.org/other,2026,\n")
                .write(toFile: other, atomically: true, encoding: .utf8)
            let dry = try await ok(["import", other, "--dry-run", "--json"], socket: s).object()
            #expect(dry.int("imported") == 1 && dry.int("sources_created") == 1 && dry["dry_run"] as? Bool == true)
            #expect(try await ok(["figures", "--since", "2040", "--json"], socket: s).object().objects("observations").isEmpty)
        }
    }

    @Test func importOfAMissingOrMalformedFileFailsClearly() async throws {
        let files = try TemporaryDirectory()
        defer { files.remove() }
        try await withDaemon(seeded: false) { daemon in
            let missing = try await coopctl(["import", files.file("nope.csv")], socket: daemon.socketPath)
            #expect(missing.status == 4 && missing.stderr.contains("no such file"), "\(missing)")
            let bad = files.file("bad.csv")
            try "a,b,c\n1,2,3\n".write(toFile: bad, atomically: true, encoding: .utf8)
            let header = try await coopctl(["import", bad], socket: daemon.socketPath)
            #expect(header.status == 5 && header.stderr.contains("the header lacks indicator"), "\(header)")
            let json = files.file("bad.json")
            try "{\"observations\": 3}".write(toFile: json, atomically: true, encoding: .utf8)
            let badJSON = try await coopctl(["import", json], socket: daemon.socketPath)
            #expect(badJSON.status == 5 && badJSON.stderr.contains("does not decode"), "\(badJSON)")
        }
    }
}
