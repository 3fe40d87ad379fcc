#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// The read commands against a coopd with the shipped data: tables, JSON and CSV, checked on real values.
/// Each end-to-end suite runs its tests one at a time: each starts a coopd and many coopctl processes, and the
/// machine running the whole test suite is shared with timing-sensitive tests.
@Suite(.serialized) struct CoopctlReadTests {
    @Test func pingHealthAndInfo() async throws {
        try await withDaemon(seeded: false) { daemon in
            let s = daemon.socketPath
            let ping = try await ok(["ping", "-c", "3", "-i", "0"], socket: s)
            #expect(ping.lines.filter { $0.contains("seq=") && $0.hasSuffix(" ms") }.count == 3, "\(ping)")
            #expect(ping.stdout.contains("3 echoes, rtt min/avg/max"))
            let pingJSON = try await ok(["ping", "-c", "2", "-i", "0", "--json"], socket: s).object()
            #expect(pingJSON.int("count") == 2)
            #expect((pingJSON["rtt_ms"] as? [Double])?.count == 2)
            #expect(pingJSON.string("socket") == s)

            #expect(try await ok(["health"], socket: s).stdout == "SERVING\n")
            #expect(try await ok(["health", "--json"], socket: s).object().string("status") == "SERVING")
            let unknown = try await coopctl(["health", "--service", "no.such.Service"], socket: s)
            #expect(unknown.status == 4, "\(unknown)")

            let info = try await ok(["info"], socket: s)
            #expect(info.lines.first?.hasPrefix("FIELD") == true)
            #expect(info.lines.contains { $0.hasPrefix("pid") && $0.hasSuffix(" \(daemon.process.pid)") }, "\(info)")
            let infoJSON = try await ok(["info", "--json"], socket: s).object()
            #expect(infoJSON.int("pid") == Int64(daemon.process.pid))
            #expect(infoJSON.string("socket_path") == s)
            #expect(infoJSON.string("version")?.isEmpty == false)
        }
    }

    /// `coopctl metrics` prints GetMetrics' Prometheus text as is; each run is one call of its own, counted by the
    /// next.
    @Test func metricsPrintsThePrometheusText() async throws {
        try await withDaemon(seeded: false) { daemon in
            let s = daemon.socketPath
            _ = try await ok(["ping", "-c", "2", "-i", "0"], socket: s)
            let first = try await ok(["metrics"], socket: s)
            #expect(first.stdout.hasPrefix("# HELP coopd_build_info "), "\(first)")
            #expect(first.stdout.hasSuffix("\n") && !first.stdout.hasSuffix("\n\n"))
            #expect(first.lines.contains("# TYPE coopd_calls_total counter"))
            #expect(first.lines.contains(#"coopd_calls_total{service="coop.v1.Diagnostics",method="Echo",code="OK"} 2"#),
                    "\(first)")
            let second = try await ok(["metrics"], socket: s)
            #expect(second.lines.contains(
                #"coopd_calls_total{service="coop.v1.Diagnostics",method="GetMetrics",code="OK"} 1"#), "\(second)")
            let json = try await ok(["metrics", "--json"], socket: s).object()
            #expect(json.string("content_type") == "text/plain; version=0.0.4; charset=utf-8")
            #expect(json.string("text")?.contains("# TYPE coopd_call_duration_seconds histogram\n") == true)
            let csv = try await coopctl(["metrics", "--csv"], socket: s)
            #expect(csv.status == 2, "\(csv)")
        }
    }

    /// The shell asks `coopctl ---completion SUBCOMMAND -- ARGUMENT INDEX CURSOR WORD…` (swift-argument-parser's
    /// custom completions): indicator and country codes come from the running coopd, and nothing (status 0) when
    /// it is not there.
    @Test func completionsOfferCodesFromCoopdAndNothingWithoutIt() async throws {
        let asks: [(arguments: [String], expected: String)] = [
            (["---completion", "figures", "--", "--indicator", "0", "0"], "JP_MHLW_FOREIGN_WORKERS"),
            (["---completion", "figures", "--", "--from", "0", "0"], "VN"),
            (["---completion", "series", "--", "--to", "0", "0"], "JP"),
            (["---completion", "series", "--", "positional@0", "0", "0"], "JP_MHLW_FOREIGN_WORKERS"),
            (["---completion", "summary", "--", "positional@1", "0", "0"], "VN"),
            (["---completion", "figure", "add", "--", "--indicator", "0", "0"], "JP_MHLW_FOREIGN_WORKERS"),
        ]
        try await withDaemon(seeded: true) { daemon in
            for ask in asks {
                let run = try await ok(ask.arguments, socket: daemon.socketPath)
                #expect(run.lines.contains(ask.expected), "\(run)")
                #expect(run.stderr.isEmpty, "\(run)")
            }
            // --socket on the command line being completed is the socket asked.
            let named = try await ok(
                ["---completion", "figures", "--", "--from", "3", "0", "figures", "--socket", daemon.socketPath, ""],
                socket: "/nonexistent/coopd.sock")
            #expect(named.lines.contains("JP"), "\(named)")
        }
        for ask in asks {
            let run = try await coopctl(ask.arguments, socket: "/nonexistent/coopd.sock", timeout: .seconds(10))
            #expect(run.status == 0 && run.stdout.isEmpty && run.stderr.isEmpty, "\(run)")
        }
    }

    @Test func unknownCodesAreNotFoundAndInvertedRangesInvalid() async throws {
        try await withDaemon(seeded: true) { daemon in
            let s = daemon.socketPath
            for code in ["NOPE", "jp_mhlw_foreign_workers"] {
                let figures = try await coopctl(["figures", "--indicator", code], socket: s)
                #expect(figures.status == 4, "\(figures)")
                #expect(figures.stderr.contains("no indicator \"\(code)\""), "\(figures)")
                let series = try await coopctl(["series", code, "--from", "VN", "--to", "JP"], socket: s)
                #expect(series.status == 4, "\(series)")
            }
            let inverted = try await coopctl(
                ["figures", "--from", "VN", "--to", "JP", "--indicator", "JP_MHLW_FOREIGN_WORKERS", "--since", "2023",
                 "--until", "2020"], socket: s)
            #expect(inverted.status == 5, "\(inverted)")
            #expect(inverted.stderr.contains("\"2023\" is after period_to \"2020\""), "\(inverted)")
            for command in [["events"], ["agreements"], ["series", "JP_MHLW_FOREIGN_WORKERS", "--from", "VN", "--to", "JP"]] {
                let run = try await coopctl(command + ["--since", "2023", "--until", "2020"], socket: s)
                #expect(run.status == 5, "\(run)")
            }
            // A negative value is named as such, not taken for an option.
            let negative = try await coopctl(
                ["figure", "add", "--indicator", "JP_MHLW_FOREIGN_WORKERS", "--from", "VN", "--to", "JP", "--period",
                 "2024-10-31", "--value", "-5", "--source", "1"], socket: s)
            #expect(negative.status == 5, "\(negative)")
            #expect(negative.stderr.contains("value \"-5\" is negative"), "\(negative)")
        }
    }

    @Test func figuresGiveTheShippedValuesAsTableJSONAndCSV() async throws {
        try await withDaemon(seeded: true) { daemon in
            let s = daemon.socketPath
            let filter = ["--from", "VN", "--to", "JP", "--indicator", "JP_MHLW_FOREIGN_WORKERS", "--since", "2015", "--until", "2023"]
            let json = try await ok(["figures"] + filter + ["--json"], socket: s).object()
            let observations = json.objects("observations")
            #expect(observations.compactMap { $0.int("value") } == shippedMHLW)
            #expect(observations.map { $0.string("period_end") } == (2015...2023).map { "\($0)-10-31" })
            let sources = json.objects("sources")
            #expect(!sources.isEmpty)
            #expect(observations.allSatisfy { o in sources.contains { $0.int("id") == o.int("source_id") } })

            let table = try await ok(["figures"] + filter, socket: s)
            #expect(table.lines.count == 10, "\(table)")
            #expect(table.lines[0].hasPrefix("ID") && table.lines[0].contains("VALUE"))
            for (line, value) in zip(table.lines.dropFirst(), shippedMHLW) {
                let grouped = value.formatted(.number.grouping(.automatic).locale(Locale(identifier: "en_US")))
                #expect(line.contains("VN→JP") && line.contains(grouped), "\(line)")
            }

            let csv = try await ok(["figures"] + filter + ["--csv", "--sources"], socket: s).csv()
            let header = try #require(csv.first)
            let value = try #require(header.firstIndex(of: "value"))
            let url = try #require(header.firstIndex(of: "source_url"))
            #expect(csv.dropFirst().map { Int64($0[value]) } == shippedMHLW)
            #expect(csv.dropFirst().allSatisfy { $0[url].hasPrefix("http") })

            // --sources in a table names publisher, title and URL.
            let withSources = try await ok(["figures"] + filter + ["--sources"], socket: s)
            #expect(withSources.lines[0].contains("PUBLISHER") && withSources.lines[0].contains("URL"))
            #expect(withSources.stdout.contains("https://www.nippon.com/en/news/yjj2024012600746"))

            // Every vintage: DOLAB's 2019 total to all destinations was revised (147,387 then about 152,000).
            let dolab = ["figures", "--from", "VN", "--to", "_T", "--indicator", "VN_DOLAB_WORKERS_DEPLOYED", "--since", "2019", "--until", "2019", "--json"]
            let latest = try await ok(dolab, socket: s).object().objects("observations")
            #expect(latest.compactMap { $0.int("value") } == [152000])
            let all = try await ok(dolab + ["--all-vintages"], socket: s).object().objects("observations")
            #expect(Set(all.compactMap { $0.int("value") }) == [147387, 152000])
            let first = try #require(all.first { $0.int("value") == 147387 })
            #expect(first.int("superseded_by_id") == all.first { $0.int("value") == 152000 }?.int("id"))

            // Every page is fetched: small pages give the same observations and sources.
            let whole = try await ok(["figures", "--any-breakdown", "--all-vintages", "--claims", "--json"], socket: s).object()
            let paged = try await ok(["figures", "--any-breakdown", "--all-vintages", "--claims", "--page-size", "7", "--json"], socket: s).object()
            #expect(whole.objects("observations").count == 100)
            #expect(paged.objects("observations").compactMap { $0.int("id") } == whole.objects("observations").compactMap { $0.int("id") })
            #expect(Set(paged.objects("sources").compactMap { $0.int("id") }) == Set(whole.objects("sources").compactMap { $0.int("id") }))

            // As known in 2021: before the revision.
            let asOf = try await ok(dolab + ["--as-of", "2021"], socket: s).object().objects("observations")
            #expect(asOf.compactMap { $0.int("value") } == [147387])

            // Breakdowns only when asked for.
            let status = ["figures", "--indicator", "JP_ISA_FOREIGN_RESIDENTS_BY_STATUS", "--from", "VN", "--json"]
            #expect(try await ok(status, socket: s).object().objects("observations").isEmpty)
            let ssw = try await ok(status + ["--breakdown", "status_of_residence=SSW"], socket: s).object().objects("observations")
            #expect(ssw.count == 5)
            #expect(ssw.allSatisfy { ($0["breakdown"] as? [[String: Any]])?.first?.string("value") == "SSW" })
            let any = try await ok(status + ["--any-breakdown"], socket: s).object().objects("observations")
            #expect(any.count == 10)

            // Conflicts: the stated 200,000 trainees and workers conflicts with MHLW's 2021 figure.
            let conflicts = try await ok(
                ["figures", "--indicator", "STATEMENT_VN_TRAINEES_AND_WORKERS_IN_JP", "--conflicts", "--json"], socket: s
            ).object().objects("observations")
            #expect(conflicts.contains { $0.int("value") == 453344 }, "\(conflicts)")
        }
    }

    @Test func seriesDrawsABarPerPeriodAndShowsGaps() async throws {
        try await withDaemon(seeded: true) { daemon in
            let s = daemon.socketPath
            let base = ["series", "JP_MHLW_FOREIGN_WORKERS", "--from", "VN", "--to", "JP"]
            let table = try await ok(base + ["--since", "2015", "--until", "2023"], socket: s, environment: ["COLUMNS": "80"])
            let lines = table.lines
            #expect(lines.count == 10, "\(table)")
            #expect(lines[0].hasPrefix("JP_MHLW_FOREIGN_WORKERS VN→JP (persons)"))
            let rows = Array(lines.dropFirst())
            #expect(rows.map { String($0.prefix(10)) } == (2015...2023).map { "\($0)-10-31" })
            let bars = rows.map { $0.filter { "█▏▎▍▌▋▊▉".contains($0) }.count }
            #expect(bars == bars.sorted() && bars.first! < bars.last!, "\(rows)")
            #expect(rows.allSatisfy { $0.displayWidthForTest <= 80 })
            #expect(rows.last?.contains("518,364") == true)

            // 2024 is missing from the shipped data: a gap row between 2023 and 2025.
            let all = try await ok(base, socket: s).lines
            let gap = try #require(all.firstIndex { $0.hasPrefix("2024-10-31") })
            #expect(all[gap].contains("no figure"))
            #expect(all[gap - 1].hasPrefix("2023-10-31") && all[gap + 1].hasPrefix("2025-10-31"))
            #expect(all[gap + 1].contains("≈600,000"))

            let json = try await ok(base + ["--since", "2015", "--until", "2023", "--json"], socket: s).object()
            #expect(json.object("indicator").string("measure") == "MEASURE_STOCK")
            #expect(json.objects("points").map { $0.object("observation").int("value") } == shippedMHLW)

            let csv = try await ok(base + ["--since", "2015", "--until", "2023", "--csv"], socket: s).csv()
            #expect(csv.first?.prefix(3) == ["period_start", "period_end", "value"])
            #expect(csv.dropFirst().map { Int64($0[2]) } == shippedMHLW)
        }
    }

    @Test func countriesIndicatorsEventsAgreementsStatementsSourcesSearchAndSummary() async throws {
        try await withDaemon(seeded: true) { daemon in
            let s = daemon.socketPath
            let countries = try await ok(["countries", "--json"], socket: s).object().objects("countries")
            #expect(countries.count >= 249)
            #expect(countries.contains { $0.string("code") == "JP" && $0.string("name") == "Japan" })
            let viet = try await ok(["countries", "viet"], socket: s)
            #expect(viet.lines.count == 2 && viet.lines[1].hasPrefix("VN"), "\(viet)")

            let indicators = try await ok(["indicators", "--json"], socket: s).object().objects("indicators")
            #expect(indicators.contains { $0.string("code") == "JP_MHLW_FOREIGN_WORKERS" && $0.string("measure") == "MEASURE_STOCK" })
            let byStatus = indicators.first { $0.string("code") == "JP_ISA_FOREIGN_RESIDENTS_BY_STATUS" }
            #expect(byStatus?["breakdown_dimensions"] as? [String] == ["status_of_residence"])
            let indicatorTable = try await ok(["indicators"], socket: s)
            #expect(indicatorTable.lines.contains { $0.hasPrefix("VN_DOLAB_WORKERS_DEPLOYED ") && $0.contains("flow") })
            let indicatorCSV = try await ok(["indicators", "--csv"], socket: s).csv()
            #expect(indicatorCSV.count == indicators.count + 1)

            let events = try await ok(
                ["events", "--country", "VN", "--counterpart", "JP", "--since", "2022-06-29", "--until", "2022-06-29", "--json"],
                socket: s
            ).object().objects("events")
            #expect(events.contains { e in
                e.objects("participants").contains { $0.string("native_name") == "Đào Ngọc Dung" }
            })
            let eventTable = try await ok(["events", "--kind", "signing"], socket: s)
            #expect(eventTable.lines.dropFirst().allSatisfy { $0.contains("signing") })
            #expect(eventTable.lines.contains { $0.contains("2017-06-06") })

            let agreements = try await ok(["agreements", "--country", "VN", "--json"], socket: s).object().objects("agreements")
            #expect(agreements.contains { $0.string("signed_date") == "2017-06-06" })
            let agreementTable = try await ok(["agreements", "--since", "2017-06-06", "--until", "2017-06-06"], socket: s)
            #expect(agreementTable.lines.count == 2, "\(agreementTable)")
            #expect(agreementTable.lines[0].hasPrefix("ID") && agreementTable.lines[0].contains("SIGNED"))
            #expect(agreementTable.lines[1].contains("2017-06-06") && agreementTable.lines[1].contains("memorandum"))
            let memoranda = try await ok(["agreements", "--kind", "memorandum", "--csv"], socket: s).csv()
            #expect(memoranda.count > 1 && memoranda.dropFirst().allSatisfy { $0[1] == "memorandum" })

            let statements = try await ok(["statements", "--speaker", "Dao Ngoc Dung", "--json"], socket: s)
                .object().objects("statements")
            #expect(statements.count >= 1)
            #expect(statements.allSatisfy { !(($0["conflicts_with"] as? [Any]) ?? []).isEmpty })
            let statementTable = try await ok(["statements", "--speaker", "Furukawa"], socket: s)
            #expect(statementTable.lines.count == 2 && statementTable.stdout.contains("200,000"), "\(statementTable)")

            let sources = try await ok(["sources", "--json"], socket: s).object().objects("sources")
            #expect(sources.count >= 50)
            #expect(sources.contains { $0.string("url") == "https://www.nippon.com/en/news/yjj2024012600746/foreign-workers-in-japan-top-2-m-for-first-time.html" })

            let hits = try await ok(["search", "Dao", "Ngoc", "Dung", "--json"], socket: s).object().objects("hits")
            #expect(!hits.isEmpty)
            #expect(hits.contains { $0.string("entity_kind") == "event" })
            let folded = try await ok(["search", "Đào Ngọc Dung"], socket: s)
            #expect(folded.lines.count > 1)

            let summary = try await ok(["summary", "VN", "JP", "--json"], socket: s).object()
            #expect(summary.object("relationship").string("established") == "1973-09-21")
            #expect(summary.objects("indicators").contains { $0.object("indicator").string("code") == "JP_MHLW_FOREIGN_WORKERS" })
            let summaryTable = try await ok(["summary", "vn", "jp"], socket: s)
            #expect(summaryTable.stdout.contains("Comprehensive Strategic Partnership"))
            #expect(summaryTable.stdout.contains("Latest figures") && summaryTable.stdout.contains("Recent events"))
        }
    }

    @Test func claimsAreShownOnlyWithClaimsAndMarkedWithWhoSaidThem() async throws {
        try await withDaemon(seeded: true) { daemon in
            let s = daemon.socketPath
            let wide = ["COLUMNS": "250"]
            let statistics = try await ok(["figures", "--from", "VN", "--to", "JP"], socket: s, environment: wide)
            #expect(!statistics.stdout.contains("STATEMENT_") && !statistics.stdout.contains("claim"), "\(statistics)")
            let claims = try await ok(["figures", "--from", "VN", "--to", "JP", "--claims"], socket: s, environment: wide)
            let claimRows = claims.lines.filter { $0.contains("STATEMENT_") }
            #expect(claimRows.count == 7)
            #expect(claimRows.allSatisfy { $0.contains("claim: ") }, "\(claims)")
            #expect(claimRows.contains { $0.contains("500,000") && $0.contains("claim: Dao Ngoc Dung, 2022-06-29") })
            #expect(claimRows.contains { $0.contains("345,000") && $0.contains("claim: Le Van Thanh, 2023-08") })
            let csv = try await ok(["figures", "--indicator", "STATEMENT_VN_WORKERS_SENT", "--csv"], socket: s).csv()
            let header = try #require(csv.first)
            let claimColumn = try #require(header.firstIndex(of: "claim"))
            #expect(csv.dropFirst().map { $0[claimColumn] } == ["claim: Dao Ngoc Dung, 2022-06-29"])
            let json = try await ok(["figures", "--from", "VN", "--claims", "--json"], socket: s).object()
            #expect(json.objects("claim_statements").count == 7)

            // Figures read in reposts, blogs and reproduced releases say so.
            let provenance = try await ok(
                ["figures", "--indicator", "JP_ISA_FOREIGN_RESIDENTS", "--from", "VN", "--to", "JP"], socket: s,
                environment: wide)
            #expect(provenance.lines.contains { $0.contains("2016-12-31") && $0.contains("from a blog") }, "\(provenance)")
            #expect(provenance.lines.contains { $0.contains("2020-06-30") && $0.contains("from a repost") })
            #expect(provenance.lines.contains { $0.contains("2023-06-30") && $0.contains("release as reproduced") })
            #expect(provenance.lines.contains { $0.contains("2022-12-31") && !$0.contains("from a") })

            let summary = try await ok(["summary", "VN", "JP"], socket: s, environment: wide)
            #expect(!summary.stdout.contains("STATEMENT_"))
            let withClaims = try await ok(["summary", "VN", "JP", "--claims"], socket: s, environment: wide)
            let summaryClaims = withClaims.lines.filter { $0.contains("STATEMENT_") }
            #expect(summaryClaims.count == 4 && summaryClaims.allSatisfy { $0.contains("claim: ") }, "\(withClaims)")
        }
    }

    @Test func searchFindsJapaneseInsideTextAndShowsNativeNames() async throws {
        try await withDaemon(seeded: true) { daemon in
            let s = daemon.socketPath
            for query in ["ベトナム", "技能実習", "古川", "外国人労働者"] {
                let hits = try await ok(["search", query, "--json"], socket: s).object().objects("hits")
                #expect(!hits.isEmpty, "\(query)")
            }
            let furukawa = try await ok(["search", "古川", "--csv"], socket: s).csv()
            #expect(furukawa.first == ["entity_kind", "entity_id", "title", "native_names", "snippet"])
            #expect(furukawa.contains { $0[0] == "statement" && $0[2] == "Furukawa Yoshihisa (2022-06-29)" && $0[3] == "古川禎久" })
            let table = try await ok(["search", "Dao", "Ngoc", "Dung"], socket: s, environment: ["COLUMNS": "200"])
            #expect(table.stdout.contains("Dao Ngoc Dung (2022-06-29) · Đào Ngọc Dung"), "\(table)")
            let json = try await ok(["search", "Dao Ngoc Dung", "--json"], socket: s).object().objects("hits")
            #expect(json.contains { ($0["native_names"] as? [String]) == ["Đào Ngọc Dung"] })
            let prefix = try await ok(["search", "Furu", "--json"], socket: s).object().objects("hits")
            #expect(prefix.contains { $0.string("title") == "Furukawa Yoshihisa (2022-06-29)" })
        }
    }

    @Test func tablesFitColumnsAndAreNeverCutWhenPiped() async throws {
        try await withDaemon(seeded: true) { daemon in
            let s = daemon.socketPath
            // Sources fit: their codes leave room (figures' codes alone may be wider; see CoopctlDisplayTests).
            for width in [60, 100] {
                let run = try await ok(["sources"], socket: s, environment: ["COLUMNS": "\(width)"])
                #expect(run.lines.count > 20)
                #expect(run.lines.allSatisfy { $0.displayWidthForTest <= width }, "\(run)")
                #expect(run.stdout.contains("…"))
            }
            // No COLUMNS and not a terminal: nothing is cut, so full URLs survive.
            let piped = try await ok(["figures", "--from", "VN", "--to", "JP", "--sources"], socket: s)
            #expect(piped.stdout.contains(
                "https://en.vietnamplus.vn/vietnam-first-time-surpasses-china-in-number-of-labourers-working-in-japan/195750.vnp"))
            // Columns line up: every row starts its VALUE column at the same place.
            let lines = piped.lines
            let header = lines[0]
            let pairColumn = header.distance(from: header.startIndex, to: header.range(of: "PAIR")!.lowerBound)
            #expect(lines.dropFirst().allSatisfy { Array($0)[pairColumn...].starts(with: "VN→JP") }, "\(piped)")
        }
    }
}

extension String {
    /// Terminal columns (East Asian wide characters count two).
    var displayWidthForTest: Int {
        reduce(0) { width, character in
            guard let v = character.unicodeScalars.first?.value else { return width }
            let wide = (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
                || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v) || (0xFF00...0xFF60).contains(v)
                || (0xFFE0...0xFFE6).contains(v)
            return width + (wide ? 2 : 1)
        }
    }
}
