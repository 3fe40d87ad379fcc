import Testing

@testable import CoopFormats

@Suite struct FiguresTableTests {
    static let header = FiguresTable.columns.joined(separator: ",")

    @Test func rowsReadWithAmountsBreakdownsQualifiersAndSources() throws {
        let text = """
            \(Self.header)
            JP_ODA_COMMITTED_CUMULATIVE,JP,VN,1992-01-01,2015-12-31,2.6,trillion JPY,approx,"ODA, cumulative",JICA,https://www.jica.go.jp/x,2016,
            JP_MHLW_FOREIGN_WORKERS_BY_STATUS:TITP,VN,JP,2016-10-31,2016-10-31,72740,persons,exact,日本のベトナム人労働者数,onetech.jp (reprint of VIETJO),https://onetech.jp/news/x,2017-02-02,TITP holders
            X:sex=F; status_of_residence=SSW,VN,JP,2024,2024,"1,000-1,200",persons,Provisional,Title,Pub,,2025-03, kept as written\r

            """
        let (rows, rejected) = try FiguresTable.read(text)
        #expect(rejected.isEmpty, "\(rejected)")
        #expect(rows.map(\.number) == [1, 2, 3] && rows.map(\.line) == [2, 3, 4])

        let oda = rows[0]
        #expect(oda.indicator == "JP_ODA_COMMITTED_CUMULATIVE" && oda.breakdown.isEmpty)
        #expect((oda.value, oda.valueHigh, oda.multiplier, oda.unit) == (26, 0, 11, "JPY"))
        #expect(oda.qualifier == "approx" && !oda.provisional)
        #expect(oda.sourceTitle == "ODA, cumulative" && oda.sourceDate == "2016" && oda.note == "")
        #expect(oda.sourceKind == .officialRelease && oda.sourceLanguage == "en")

        let titp = rows[1]
        #expect(titp.indicator == "JP_MHLW_FOREIGN_WORKERS_BY_STATUS")
        #expect(titp.breakdown == [FiguresRow.Dimension(key: "status_of_residence", value: "TITP")])
        #expect(titp.sourceKind == .repost && titp.originalPublisher == "VIETJO" && titp.sourceLanguage == "ja")

        let range = rows[2]
        #expect(range.breakdown == [.init(key: "sex", value: "F"), .init(key: "status_of_residence", value: "SSW")])
        #expect((range.value, range.valueHigh, range.multiplier) == (1000, 1200, 0))
        #expect(range.qualifier == "exact" && range.provisional)
        #expect(range.note == " kept as written")
    }

    @Test func rowsThatDoNotReadAreRejectedWithTheirLine() throws {
        let good = "A,VN,JP,2023,2023,1,persons,exact,T,P,,,"
        let rows = [
            good,
            "A,VN,JP,2023,2023,1,persons,exact,T,P,,",
            ",VN,JP,2023,2023,1,persons,exact,T,P,,,",
            "A:x=,VN,JP,2023,2023,1,persons,exact,T,P,,,",
            "A,VN,JP,,2023,1,persons,exact,T,P,,,",
            "A,VN,JP,2023-02-29,2023,1,persons,exact,T,P,,,",
            "A,VN,JP,2023,2023,1.5,persons,exact,T,P,,,",
            "A,VN,JP,2023,2023,1,persons,roughly,T,P,,,",
            "A,VN,JP,2023,2023,1,persons,exact,T,P,,1900-02-29,",
            "A,VN,JP,2023,2023,1,persons,exact,,P,,,",
        ]
        let (read, rejected) = try FiguresTable.read(([Self.header] + rows).joined(separator: "\n"))
        #expect(read.map(\.line) == [2])
        #expect(rejected.map(\.line) == Array(3...11))
        #expect(rejected.map(\.reason) == [
            "12 fields, the header has 13",
            "indicator is empty",
            "indicator A:x=: breakdown \"x=\" is not key=value",
            "period_start is empty",
            "period_start \"2023-02-29\" is not a date",
            "value \"1.5\" has more decimals than its unit's scale allows",
            "unknown qualifier \"roughly\" (exact, approx, at_least, at_most, derived, as_worded, provisional)",
            "source_date \"1900-02-29\" is not a date",
            "source_title and source_publisher are required",
        ])
        #expect(throws: FormatError("the file is empty")) { try FiguresTable.read("") }
        #expect(throws: FormatError.self) { try FiguresTable.read("indicator,origin\n") }
    }

    /// Columns are found by name, in any order and case, with others beside them.
    @Test func columnsByName() throws {
        let text = "Note, extra ," + FiguresTable.columns.dropLast().joined(separator: ",") + "\n"
            + "n,e,A,VN,JP,2023,2023,5,persons,,T,P,,\n"
        let (rows, rejected) = try FiguresTable.read(text)
        #expect(rejected.isEmpty)
        #expect(rows.first?.note == "n" && rows.first?.value == 5 && rows.first?.qualifier == "exact")
    }

    @Test func writtenRowsReadTheSame() throws {
        let rows = [
            FiguresRow(
                indicator: "JP_ODA", origin: "JP", destination: "VN", periodStart: "2015", periodEnd: "2015",
                value: 26, multiplier: 11, unit: "JPY", qualifier: "approx", sourceTitle: "T, with comma",
                sourcePublisher: "P", sourceDate: "2016-01", note: "said \"about\""),
            FiguresRow(
                indicator: "W", breakdown: [.init(key: "status_of_residence", value: "TITP")], origin: "VN",
                destination: "JP", periodStart: "2023-10-31", periodEnd: "2023-10-31", value: 1000, valueHigh: 1200,
                unit: "persons", provisional: true, sourceTitle: "T", sourcePublisher: "P"),
            FiguresRow(
                indicator: "W", breakdown: [.init(key: "sex", value: "F"), .init(key: "age", value: "15-19")],
                origin: "VN", destination: "JP", periodStart: "2023", periodEnd: "2023", value: 7, unit: "persons",
                sourceTitle: "T", sourcePublisher: "P"),
        ]
        #expect(FiguresTable.line(rows[0]) == "JP_ODA,JP,VN,2015,2015,2.6,trillion JPY,approx,\"T, with comma\",P,,2016-01,\"said \"\"about\"\"\"")
        #expect(FiguresTable.line(rows[1]).hasPrefix("W:TITP,VN,JP,2023-10-31,2023-10-31,1000-1200,persons,provisional,"))
        #expect(FiguresTable.line(rows[2]).hasPrefix("W:age=15-19;sex=F,"))
        let text = ([FiguresTable.header()] + rows.map(FiguresTable.line)).joined(separator: "\n")
        let again = try FiguresTable.read(text)
        #expect(again.rejected.isEmpty)
        for (row, read) in zip(rows, again.rows) {
            var read = read
            (read.number, read.line) = (0, 0)
            var expected = row
            expected.breakdown.sort { $0.key < $1.key }
            #expect(read == expected)
        }
    }
}
