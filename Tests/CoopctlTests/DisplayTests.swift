import Foundation
import Testing

/// How coopctl shows the shipped data: codes kept whole in narrow tables.
@Suite(.serialized) struct CoopctlDisplayTests {
    @Test func narrowTablesKeepCodesWholeAndCutOnlyFreeText() async throws {
        try await withDaemon(seeded: true) { daemon in
            let s = daemon.socketPath
            let narrow = ["COLUMNS": "80"]

            // Every row names its indicator whole (the JSON lists the same observations in the same order).
            for filter in [[], ["--from", "VN", "--to", "JP", "--any-breakdown", "--sources"]] {
                let observations = try await ok(["figures"] + filter + ["--json"], socket: s).object()
                    .objects("observations")
                let labels = observations.map { o -> String in
                    let breakdown = o.objects("breakdown").compactMap { d in
                        d.string("key").flatMap { key in d.string("value").map { "\(key)=\($0)" } }
                    }.sorted().joined(separator: ";")
                    return (o.string("indicator") ?? "") + (breakdown.isEmpty ? "" : "[\(breakdown)]")
                }
                let table = try await ok(["figures"] + filter, socket: s, environment: narrow)
                let rows = table.lines.dropFirst()
                #expect(rows.count == labels.count && !labels.isEmpty, "\(table)")
                #expect(rows.map { $0.split(separator: " ").dropFirst().first.map(String.init) } == labels, "\(table)")
                #expect(!table.stdout.contains("_…"), "\(table)")
                if filter.contains("--sources") {
                    #expect(table.stdout.contains("…"), "titles and URLs are cut: \(table)")
                }
            }

            // Agreement topics are codes too; their titles and parties are what gives way.
            let agreements = try await ok(["agreements", "--json"], socket: s).object().objects("agreements")
            let agreementTable = try await ok(["agreements"], socket: s, environment: narrow)
            for (row, agreement) in zip(agreementTable.lines.dropFirst(), agreements) {
                let topics = (agreement["topics"] as? [String] ?? []).joined(separator: ",")
                #expect(row.hasSuffix("  " + topics), "\(row)")
            }
            #expect(agreementTable.stdout.contains("…"))

            // Where the codes leave room, the table fits: sources' titles, publishers and URLs are cut to 80.
            let sources = try await ok(["sources"], socket: s, environment: narrow)
            #expect(sources.lines.allSatisfy { $0.displayWidthForTest <= 80 }, "\(sources)")
            #expect(sources.lines.dropFirst().allSatisfy { $0.contains("…") && !$0.contains("_…") }, "\(sources)")
        }
    }
}
