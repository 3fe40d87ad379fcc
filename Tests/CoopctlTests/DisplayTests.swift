import Foundation
import Testing

/// How coopctl shows the shipped data: codes kept whole in narrow tables, events by planned and held dates,
/// and help texts that name defaults once and truly.
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

    @Test func eventsShowPlannedAndHeldDatesAndRangesMatchEither() async throws {
        try await withDaemon(seeded: true) { daemon in
            let s = daemon.socketPath
            let title = "ASEAN-Japan Special Meeting of Justice Ministers"
            let json = try await ok(["events", "--json"], socket: s).object().objects("events")
            let conference = try #require(json.first { $0.string("title") == title })
            #expect(conference.string("planned_date") == "2022-07" && conference.string("actual_date") == "2023-07-06")

            // Unfiltered, and in the summary: held on 2023-07-06, planned for July 2022.
            let all = try await ok(["events"], socket: s, environment: ["COLUMNS": "80"])
            #expect(all.lines.contains { $0.contains(" 2023-07-06 (planned 2022-07) ") }, "\(all)")
            #expect(all.lines.contains { $0.hasPrefix(" 1  1973-09-21  ") }, "one date when there is one: \(all)")
            let summary = try await ok(["summary", "VN", "JP"], socket: s)
            #expect(summary.lines.contains { $0.contains(" 2023-07-06 (planned 2022-07) ") && $0.contains(title) })

            // Found by either date; a match by the planned date alone leads with that date.
            let july2022 = try await ok(["events", "--since", "2022-07", "--until", "2022-07"], socket: s)
            #expect(july2022.lines.count == 2, "\(july2022)")
            #expect(july2022.lines.last?.contains(" planned 2022-07 (held 2023-07-06) ") == true, "\(july2022)")
            #expect(july2022.lines.last?.contains(title) == true)
            let july2023 = try await ok(["events", "--since", "2023-07", "--until", "2023-07"], socket: s)
            #expect(july2023.lines.contains { $0.contains(" 2023-07-06 (planned 2022-07) ") && $0.contains(title) }, "\(july2023)")
            // The anniversary planned for "2023" (the whole year) and held in September is in July 2023 by its plan.
            #expect(july2023.lines.contains { $0.contains(" planned 2023 (held 2023-09-21) ") }, "\(july2023)")
            // The date stays whole at 80 columns; the title gives way.
            let narrow = try await ok(
                ["events", "--since", "2022-07", "--until", "2022-07"], socket: s, environment: ["COLUMNS": "80"])
            #expect(narrow.lines.last?.contains(" planned 2022-07 (held 2023-07-06) ") == true, "\(narrow)")
        }
    }

    @Test func helpTextsNameDefaultsOnceAndTruly() async throws {
        // Every command's help: no enum default by its number, no 0 standing for "not given".
        var commands: [[String]] = [[]]
        var index = 0
        while index < commands.count {
            let help = try await ok(commands[index] + ["--help"], socket: nil)
            #expect(!help.stdout.contains("(default: 0)"), "\(help)")
            #expect(help.stdout.range(of: #"; default: [0-9]"#, options: .regularExpression) == nil, "\(help)")
            // Subcommands are listed under "… SUBCOMMANDS:" headings, two spaces in.
            var inList = false
            for line in help.lines {
                if line.hasSuffix("SUBCOMMANDS:") { inList = true; continue }
                if inList, line.hasPrefix("  "), !line.hasPrefix("   "), let name = line.split(separator: " ").first {
                    if name != "See" && name != "help" { commands.append(commands[index] + [String(name)]) }
                } else if !line.hasPrefix("   ") {
                    inList = false
                }
            }
            index += 1
        }
        #expect(commands.contains(["figure", "add"]) && commands.contains(["search"]) && commands.count > 25, "\(commands)")

        for command in [["figure", "add"], ["figure", "revise"]] {
            let help = try await ok(command + ["--help"], socket: nil).stdout
            #expect(help.contains("default exact") && help.contains("default normal"), "\(help)")
        }
        let search = try await ok(["search", "--help"], socket: nil).stdout
        #expect(search.contains("At most this many hits, 1 to 200. (default: 20)"), "\(search)")
        let imports = try await ok(["import", "--help"], socket: nil).stdout
        #expect(!imports.contains("default yes"), "\(imports)")
        #expect(imports.components(separatedBy: "(default: --create-indicators)").count == 2, "\(imports)")
        let watch = try await ok(["watch", "--help"], socket: nil).stdout
        #expect(watch.contains("First sequence to show (default: only changes from"), "\(watch)")

        // export: every breakdown unless --breakdown names some; it offers no --any-breakdown to contradict that.
        let export = try await ok(["export", "--help"], socket: nil).stdout
        #expect(!export.contains("--any-breakdown") && !export.contains("totals only"), "\(export)")
        #expect(export.contains("totals and every breakdown"), "\(export)")
        try await withDaemon(seeded: true) { daemon in
            let s = daemon.socketPath
            let status = ["--indicator", "JP_ISA_FOREIGN_RESIDENTS_BY_STATUS", "--from", "VN", "--to", "JP"]
            let every = try await ok(["export", "--json"] + status, socket: s).object().objects("observations")
            #expect(every.count == 10 && every.allSatisfy { !$0.objects("breakdown").isEmpty })
            let ssw = try await ok(["export", "--json", "--breakdown", "status_of_residence=SSW"] + status, socket: s)
                .object().objects("observations")
            #expect(ssw.count == 5 && ssw.allSatisfy { $0.objects("breakdown").first?.string("value") == "SSW" })
            let rejected = try await coopctl(["export", "--any-breakdown"], socket: s)
            #expect(rejected.status == 2, "\(rejected)")

            // search: 20 hits unless told, 1–200.
            let hits = try await ok(["search", "Japan", "--json"], socket: s).object().objects("hits")
            let two = try await ok(["search", "Japan", "--limit", "2", "--json"], socket: s).object().objects("hits")
            #expect(hits.count > 2 && hits.count <= 20 && two.count == 2)
            for limit in ["0", "201"] {
                let run = try await coopctl(["search", "Japan", "--limit", limit], socket: s)
                #expect(run.status == 2 && run.stderr.contains("--limit must be 1…200"), "\(run)")
            }
        }
    }
}
