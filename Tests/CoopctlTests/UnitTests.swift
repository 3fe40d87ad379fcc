import CoopFormats
import CoopProto
import CoopWire
import Foundation
import Testing

@testable import CoopCtl
@testable import CoopStore

/// Pieces of coopctl that need no daemon.
@Suite struct CoopctlUnitTests {
    /// Amounts, dates and CSV are CoopFormats' (see CoopFormatsTests); here, how coopctl reports what does not read.
    @Test func formatErrorsAreInvalidInputWithTheirLine() throws {
        let (items, rejected) = try FiguresFile.read(
            FiguresTable.header() + "\nA,VN,JP,2023,2023,12a,persons,exact,T,P,,,\nA,VN,JP,2023,2023,1.5,persons,,T,P,,,\n")
        #expect(items.isEmpty)
        #expect(rejected == [
            ImportRejection(position: "line 2", line: 2, reason: "value \"12a\" is not a number"),
            ImportRejection(
                position: "line 3", line: 3, reason: "value \"1.5\" has more decimals than its unit's scale allows"),
        ])
        let unclosed = #expect(throws: CtlError.self) { try FiguresFile.read("a\nb,\"open") }
        #expect(unclosed?.message == "invalid input: line 2: a quoted field is never closed")
        #expect(Coopctl.report(FormatError("value \"12a\" is not a number")) == .invalidArgument)
    }

    @Test func tablesFitTheWidthAndCutLongCellsWithAnEllipsis() {
        var table = Table([
            Table.Column("ID", right: true), Table.Column("TITLE", shrinkable: true),
            Table.Column("URL", shrinkable: true),
        ])
        table.add(["7", "日本のベトナム人労働者数+31.9%増の31万6840人、国籍別2位", "https://www.viet-jo.com/news/statistics/190128164753.html"])
        table.add(["12", "short", "https://example.org/"])
        let natural = table.render(width: nil)
        #expect(!natural.contains("…"))
        let lines = table.render(width: 50).split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines.allSatisfy { $0.displayWidth <= 50 }, "\(lines)")
        #expect(lines[1].contains("…"))
        #expect(lines[1].hasPrefix(" 7  "))
        #expect(lines[2].hasPrefix("12  short"))
        #expect("日本語".displayWidth == 6)
        #expect("Đào Ngọc Dung".displayWidth == 13)
    }

    @Test func codesStayWholeWhenTheTableCannotFit() {
        var table = Table([
            Table.Column("INDICATOR"), Table.Column("VALUE", right: true), Table.Column("NOTE", shrinkable: true),
        ])
        table.add(["VN_DOLAB_WORKERS_DEPLOYED", "152,000", "revised upwards in the 2023 report"])
        // Free text gives way first: to its minimum, then further as that makes the table fit.
        #expect(table.render(width: 44).split(separator: "\n").last == "VN_DOLAB_WORKERS_DEPLOYED  152,000  revised…")
        #expect(table.render(width: 39).split(separator: "\n").last == "VN_DOLAB_WORKERS_DEPLOYED  152,000  re…")
        // Codes alone wider than the terminal: printed whole, the note kept at its minimum.
        #expect(table.render(width: 20).split(separator: "\n").last == "VN_DOLAB_WORKERS_DEPLOYED  152,000  revis…")
    }

    @Test func oneListingDeclarationRendersTheTableCSVAndJSON() throws {
        let listing = Listing<Coop_V1_Country>("countries", [
            .init(Table.Column("CODE"), csv: "code", \.code),
            .table(Table.Column("NAMES", shrinkable: true)) { ([$0.name] + $0.otherNames).joined(separator: " · ") },
            .csv("name", \.name),
            .init(Table.Column("N", right: true), csv: "other_names") {
                String($0.otherNames.count)
            } csvCell: {
                $0.otherNames.joined(separator: "; ")
            },
        ])
        let rows = [
            Coop_V1_Country.with {
                $0.code = "VN"
                $0.name = "Viet Nam"
                $0.otherNames = ["Vietnam", "Socialist Republic, of Viet Nam"]
            },
            .with {
                $0.code = "JP"
                $0.name = "Japan"
            },
        ]
        // The table: its columns in their order, with their headers, cells and alignment.
        let names = "Viet Nam · Vietnam · Socialist Republic, of Viet Nam"
        let pad = { (text: String) in text + String(repeating: " ", count: names.count - text.count) }
        #expect(try listing.render(rows, as: .table, width: nil) == [
            "CODE  \(pad("NAMES"))  N", "VN    \(names)  2", "JP    \(pad("Japan"))  0",
        ].joined(separator: "\n"))
        // Cut to a width: free text gives way.
        let narrow = try listing.render(rows, as: .table, width: 31).split(separator: "\n")
        #expect(narrow[1] == "VN    Viet Nam · Vietnam · …  2", "\(narrow)")
        // CSV: its own columns and cells, in their order, quoted where needed.
        #expect(try listing.render(rows, as: .csv, width: 30) == """
            code,name,other_names
            VN,Viet Nam,"Vietnam; Socialist Republic, of Viet Nam"
            JP,Japan,
            """)
        // JSON: the rows under the listing's key, then what else the command lists.
        #expect(try listing.render(rows, as: .json, width: nil) { [("sources", "[]")] } == """
            {"countries":[{"code":"VN","name":"Viet Nam","other_names":["Vietnam","Socialist Republic, of Viet Nam"]},\
            {"code":"JP","name":"Japan"}],"sources":[]}
            """)
        #expect(try listing.render([], as: .json, width: nil) == #"{"countries":[]}"#)
        #expect(try listing.render([], as: .table, width: nil) == "CODE  NAMES  N")
        #expect(try listing.render([], as: .csv, width: nil) == "code,name,other_names")
    }

    @Test func figuresMarkClaimsAndProvenanceInFlagsAndInTheirOwnCSVColumns() throws {
        let blog = Coop_V1_Source.with {
            $0.id = 3
            $0.kind = .blog
            $0.publisher = "Viet-Jo"
            $0.title = "Workers"
            $0.url = "https://example.org/a"
        }
        let statement = Coop_V1_Statement.with {
            $0.speaker = .with { $0.name = "Dao Ngoc Dung" }
            $0.saidOn = "2022-06-29"
        }
        let figure = Coop_V1_Observation.with {
            $0.id = 9
            $0.indicator = "STATEMENT_WORKERS_ABROAD"
            $0.origin = "VN"
            $0.destination = "JP"
            $0.periodStart = "2022-01-01"
            $0.periodEnd = "2022-12-31"
            $0.value = 600_000
            $0.qualifier = .approx
            $0.unit = "persons"
            $0.vintage = "2022-06-29"
            $0.sourceID = 3
            $0.conflictsWith = [4, 5]
        }
        let listing = Figures.listing(marks: { _ in (claimLabel(statement), provenanceLabel(blog)) }, sources: [3: blog])
        let table = try listing.render([figure], as: .table, width: nil).split(separator: "\n").map(String.init)
        #expect(table[0].split(separator: " ") == [
            "ID", "INDICATOR", "PAIR", "PERIOD", "VALUE", "UNIT", "VINTAGE", "SRC", "FLAGS", "PUBLISHER", "TITLE", "URL",
        ])
        #expect(table[1] == " 9  STATEMENT_WORKERS_ABROAD  VN→JP  2022    ≈600,000  persons  2022-06-29    3  "
            + "claim: Dao Ngoc Dung, 2022-06-29; from a blog; conflicts 4,5  Viet-Jo    Workers  https://example.org/a",
            "\(table)")
        let csv = try listing.render([figure], as: .csv, width: nil).split(separator: "\n").map(String.init)
        #expect(csv == [
            "id,indicator,breakdown,origin,destination,period_start,period_end,value,value_high,unit_multiplier,unit,"
                + "qualifier,status,vintage,source_id,locator,supersedes_id,superseded_by_id,conflicts_with,retracted,"
                + "note,claim,provenance,source_publisher,source_title,source_url",
            "9,STATEMENT_WORKERS_ABROAD,,VN,JP,2022-01-01,2022-12-31,600000,,0,persons,approx,,2022-06-29,3,,,,4;5,"
                + "false,,\"claim: Dao Ngoc Dung, 2022-06-29\",from a blog,Viet-Jo,Workers,https://example.org/a",
        ])
        // Without --sources, no source columns; a series' CSV has them, its table being a chart.
        let plain = Figures.listing(marks: { _ in ("", "") }, sources: nil)
        #expect(try plain.render([], as: .csv, width: nil).hasSuffix(",note,claim,provenance"))
        let series = Series.listing(sources: [3: blog]).table([]).columns
        #expect(series.isEmpty)
        #expect(Series.listing(sources: [3: blog]).csv([.with { $0.observation = figure }]).hasSuffix(
            ",9,3,Viet-Jo,Workers,https://example.org/a"))
    }

    @Test func eventDatesShowThePlanBesideTheDayHeldAndLeadWithTheOneMatched() {
        let moved = Coop_V1_Event.with {
            $0.plannedDate = "2022-07"
            $0.actualDate = "2023-07-06"
        }
        #expect(moved.dateLabel == "2023-07-06 (planned 2022-07)")
        #expect(moved.dateLabel(since: "2023-07", until: "2023-07") == "2023-07-06 (planned 2022-07)")
        #expect(moved.dateLabel(since: "2022-07-31", until: "2022-12") == "planned 2022-07 (held 2023-07-06)")
        #expect(moved.dateLabel(since: "", until: "2022") == "planned 2022-07 (held 2023-07-06)")
        #expect(Coop_V1_Event.with { $0.plannedDate = "2026-02" }.dateLabel == "planned 2026-02")
        #expect(Coop_V1_Event.with { $0.actualDate = "1992" }.dateLabel == "1992")
    }

    @Test func sha256MatchesTheStandardVectors() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hex(String(repeating: "a", count: 1000))
                == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test func socketLocatorTriesExplicitPathsAloneElseSystemdThenPerUser() {
        #expect(SocketLocator(explicit: "/a.sock", environment: ["COOP_SOCKET": "/b"]).candidates.map(\.path) == ["/a.sock"])
        #expect(SocketLocator(explicit: nil, environment: ["COOP_SOCKET": "/b", "COOPD_SOCKET": "/c"]).candidates.map(\.path) == ["/b"])
        #expect(SocketLocator(explicit: nil, environment: ["COOPD_SOCKET": "/c"]).candidates.map(\.path) == ["/c"])
        #expect(
            SocketLocator(explicit: nil, environment: ["XDG_RUNTIME_DIR": "/run/user/1000"], uid: 1000).candidates.map(\.path)
                == ["/run/coopd/coopd.sock", "/run/user/1000/coopd/coopd.sock", "/tmp/coopd-1000/coopd.sock"])
        #expect(SocketLocator(explicit: nil, environment: [:], uid: 0).candidates.map(\.path) == ["/run/coopd/coopd.sock"])
        #expect(SocketLocator.probe("/nonexistent/coopd.sock")?.contains("no such file") == true)
        #expect(SocketLocator.probe("/etc/passwd") == "not a socket")
    }

    @Test func globalOptionsBeforeTheSubcommandMoveAfterIt() {
        #expect(Coopctl.hoistingGlobalOptions(["--socket", "/s", "--json", "figure", "add", "--value", "1"])
            == ["figure", "add", "--value", "1", "--socket", "/s", "--json"])
        #expect(Coopctl.hoistingGlobalOptions(["health", "--socket", "/s"]) == ["health", "--socket", "/s"])
        #expect(Coopctl.hoistingGlobalOptions(["--timeout=3", "ping"]) == ["ping", "--timeout=3"])
    }

    @Test func shippedCSVReadsAsAHundredObservations() throws {
        let (items, rejected) = try FiguresFile.read(SeedFiguresCSV.text)
        #expect(rejected.isEmpty, "\(rejected)")
        #expect(items.count == 100)
        let first = try #require(items.first)
        #expect(first.line == 2)
        #expect(first.observation.indicator == "JP_MHLW_FOREIGN_WORKERS")
        #expect(first.observation.value == 110_013)
        #expect(first.observation.vintage == "2018-01-30")
        let titp = items.filter { !$0.observation.breakdown.isEmpty }
        #expect(titp.allSatisfy { $0.observation.breakdown.map(\.key) == ["status_of_residence"] })
        let oda = try #require(items.first { $0.observation.indicator == "JP_ODA_COMMITTED_CUMULATIVE" })
        #expect(oda.observation.value == 26 && oda.observation.unitMultiplier == 11 && oda.observation.unit == "JPY")
        #expect(items.filter { $0.observation.status == .provisional }.count == 4)
        // Written back, each row reads the same.
        for item in items {
            guard case .document(let source) = item.source else { Issue.record("no source"); continue }
            let line = FiguresFile.line(item.observation, source: source)
            let again = try FiguresFile.read(FiguresTable.header() + "\n" + line + "\n")
            #expect(again.items.first?.observation == item.observation, "\(line)")
        }
    }

    @Test func seriesChartMarksMissingPeriodsOfARegularSeries() {
        var series = Coop_V1_Series()
        for (year, value) in [(2019, 100), (2020, 200), (2021, 300), (2023, 400)] {
            series.points.append(.with {
                $0.periodStart = "\(year)-10-31"
                $0.periodEnd = "\(year)-10-31"
                $0.observation = .with {
                    $0.value = Int64(value)
                    $0.periodStart = "\(year)-10-31"
                    $0.periodEnd = "\(year)-10-31"
                    $0.status = .normal
                }
            })
        }
        let lines = SeriesChart(series: series, sources: nil).render(width: 60).split(separator: "\n").map(String.init)
        #expect(lines.count == 5, "\(lines)")
        #expect(lines[3].hasPrefix("2022-10-31") && lines[3].contains("no figure"))
        #expect(lines[4].hasPrefix("2023-10-31") && lines[4].contains(String(repeating: "█", count: 10)))
        let bars = lines.map { $0.filter { "█▏▎▍▌▋▊▉".contains($0) }.count }
        #expect(bars[0] < bars[1] && bars[1] < bars[2] && bars[2] < bars[4])
    }
}
