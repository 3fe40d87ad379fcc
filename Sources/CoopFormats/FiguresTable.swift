import Foundation

/// The figures file, the shipped dataset's CSV format (`vn-jp-figures.csv`): read by coopd's seed import and by
/// `coopctl import`, written by `coopctl export`.
///
///     indicator,origin,destination,period_start,period_end,value,unit,qualifier,
///     source_title,source_publisher,source_url,source_date,note
///
/// - `indicator` is a code, or `CODE:VALUE` for the breakdown status_of_residence=VALUE, or
///   `CODE:key=value;key=value` for any other breakdown.
/// - `value` and `unit` are as published: "110013" "persons", "2.6" "trillion JPY" (= 26 × 10^11 JPY); a value
///   "1000-1200" is a range.
/// - `qualifier`: exact, approx, at_least, at_most, derived, as_worded, or provisional (exact, status provisional).
/// - the source columns name the document read; `source_date` is also the value's vintage.
public enum FiguresTable {
    public static let columns = [
        "indicator", "origin", "destination", "period_start", "period_end", "value", "unit", "qualifier",
        "source_title", "source_publisher", "source_url", "source_date", "note",
    ]

    /// The breakdown written as the `:VALUE` suffix.
    public static let defaultDimension = "status_of_residence"

    /// The qualifier column's values besides "provisional" (the qualifiers' short names in coopd's API).
    public static let qualifiers = ["exact", "approx", "at_least", "at_most", "derived", "as_worded"]

    /// A row that does not read, and why.
    public struct Rejection: Equatable, Sendable {
        public var line: Int
        public var reason: String
    }

    // MARK: Reading

    /// Reads the file. Columns are found by name (any order, extra columns ignored); a file without a header
    /// or lacking a column is an error, a row that does not read is a rejection with its line.
    public static func read(_ text: String) throws(FormatError) -> (rows: [FiguresRow], rejected: [Rejection]) {
        let records = try CSV.parse(text)
        guard let header = records.first else { throw FormatError("the file is empty") }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        var index: [String: Int] = [:]
        for (i, name) in names.enumerated() where index[name] == nil { index[name] = i }
        let missing = columns.filter { index[$0] == nil }
        guard missing.isEmpty else {
            throw FormatError(
                "line \(header.line): the header lacks \(missing.joined(separator: ", ")) (expected: \(columns.joined(separator: ",")))")
        }
        var rows: [FiguresRow] = []
        var rejected: [Rejection] = []
        for (number, record) in records.dropFirst().enumerated() {
            guard record.fields.count == names.count else {
                rejected.append(Rejection(
                    line: record.line, reason: "\(record.fields.count) fields, the header has \(names.count)"))
                continue
            }
            // Every column trimmed but the note, which is kept as written.
            func field(_ name: String) -> String { record.fields[index[name]!].trimmingCharacters(in: .whitespaces) }
            do throws(FormatError) {
                var row = try FiguresRow(
                    indicator: field("indicator"), origin: field("origin"), destination: field("destination"),
                    start: field("period_start"), end: field("period_end"), value: field("value"), unit: field("unit"),
                    qualifier: field("qualifier"), date: field("source_date"), note: record.fields[index["note"]!])
                row.number = number + 1
                row.line = record.line
                row.sourceTitle = field("source_title")
                row.sourcePublisher = field("source_publisher")
                row.sourceURL = field("source_url")
                guard !row.sourceTitle.isEmpty, !row.sourcePublisher.isEmpty else {
                    throw FormatError("source_title and source_publisher are required")
                }
                rows.append(row)
            } catch {
                rejected.append(Rejection(line: record.line, reason: error.message))
            }
        }
        return (rows, rejected)
    }

    // MARK: Writing

    public static func header() -> String { CSV.line(columns) }

    /// One CSV line for `row` (its `number` and `line` are not written).
    public static func line(_ row: FiguresRow) -> String {
        var indicator = row.indicator
        if row.breakdown.count == 1 && row.breakdown[0].key == defaultDimension && !row.breakdown[0].value.contains(";") {
            indicator += ":" + row.breakdown[0].value
        } else if !row.breakdown.isEmpty {
            indicator += ":" + FiguresRow.Dimension.text(row.breakdown)
        }
        var (value, unit) = Amount.csvColumns(value: row.value, multiplier: row.multiplier, unit: row.unit)
        if row.valueHigh > row.value {
            value += "-" + Amount.csvColumns(value: row.valueHigh, multiplier: row.multiplier, unit: row.unit).value
        }
        let qualifier = row.provisional && row.qualifier == "exact" ? "provisional" : row.qualifier
        return CSV.line([
            indicator, row.origin, row.destination, row.periodStart, row.periodEnd, value, unit, qualifier,
            row.sourceTitle, row.sourcePublisher, row.sourceURL, row.sourceDate, row.note,
        ])
    }
}

/// One figure of the figures file, its columns read and checked: dates that exist, the amount as
/// `value × 10^multiplier` in `unit`, the qualifier by its short name.
public struct FiguresRow: Equatable, Sendable {
    /// One dimension of a breakdown: status_of_residence=TITP.
    public struct Dimension: Hashable, Sendable {
        public var key: String
        public var value: String

        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }

        /// Parses "key=value" (spaces around either trimmed); nil unless both are there.
        public init?(_ text: some StringProtocol) {
            let parts = text.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
            self.init(key: parts[0], value: parts[1])
        }

        /// "k=v;k2=v2", sorted by key: how the file and coopctl's tables write a breakdown.
        public static func text(_ dimensions: [Dimension]) -> String {
            dimensions.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ";")
        }
    }

    /// The data row's number, 1-based (the header is row 0); 0 for a row not read from a file.
    public var number = 0
    /// The line of the file the row starts on; 0 for a row not read from a file.
    public var line = 0
    public var indicator: String
    public var breakdown: [Dimension] = []
    public var origin: String
    public var destination: String
    public var periodStart: String
    public var periodEnd: String
    public var value: Int64
    /// The upper bound of a range, else 0.
    public var valueHigh: Int64 = 0
    public var multiplier: Int32 = 0
    public var unit: String
    /// One of `FiguresTable.qualifiers`.
    public var qualifier = "exact"
    /// The figure is labelled preliminary (qualifier column "provisional").
    public var provisional = false
    public var sourceTitle = ""
    public var sourcePublisher = ""
    public var sourceURL = ""
    public var sourceDate = ""
    public var note = ""

    public init(
        indicator: String, breakdown: [Dimension] = [], origin: String, destination: String, periodStart: String,
        periodEnd: String, value: Int64, valueHigh: Int64 = 0, multiplier: Int32 = 0, unit: String,
        qualifier: String = "exact", provisional: Bool = false, sourceTitle: String = "", sourcePublisher: String = "",
        sourceURL: String = "", sourceDate: String = "", note: String = ""
    ) {
        self.indicator = indicator
        self.breakdown = breakdown
        self.origin = origin
        self.destination = destination
        self.periodStart = periodStart
        self.periodEnd = periodEnd
        self.value = value
        self.valueHigh = valueHigh
        self.multiplier = multiplier
        self.unit = unit
        self.qualifier = qualifier
        self.provisional = provisional
        self.sourceTitle = sourceTitle
        self.sourcePublisher = sourcePublisher
        self.sourceURL = sourceURL
        self.sourceDate = sourceDate
        self.note = note
    }

    /// The figure's columns, checked; the source columns other than the date are left to the caller.
    init(
        indicator: String, origin: String, destination: String, start: String, end: String, value: String,
        unit: String, qualifier: String, date: String, note: String
    ) throws(FormatError) {
        let code = indicator.split(separator: ":", maxSplits: 1).map(String.init)
        guard let first = code.first, !first.isEmpty else { throw FormatError("indicator is empty") }
        var breakdown: [Dimension] = []
        if code.count == 2 {
            if code[1].contains("=") {
                for item in code[1].split(separator: ";") {
                    guard let dimension = Dimension(item) else {
                        throw FormatError("indicator \(indicator): breakdown \"\(item)\" is not key=value")
                    }
                    breakdown.append(dimension)
                }
            } else {
                breakdown = [Dimension(key: FiguresTable.defaultDimension, value: code[1])]
            }
        }
        for (name, date) in [("period_start", start), ("period_end", end)] {
            guard !date.isEmpty else { throw FormatError("\(name) is empty") }
            guard PartialDate.isValid(date) else { throw FormatError("\(name) \"\(date)\" is not a date") }
        }
        // "1000-1200": a range.
        let bounds = value.split(separator: "-", maxSplits: 1).map(String.init)
        let low = try Amount.parse(bounds.first ?? "", unit: unit)
        self.init(
            indicator: first, breakdown: breakdown, origin: origin, destination: destination, periodStart: start,
            periodEnd: end, value: low.value, multiplier: low.multiplier, unit: low.unit, note: note)
        if bounds.count == 2 {
            let high = try Amount.parse(bounds[1], unit: unit)
            (self.value, valueHigh, multiplier) = try Amount.aligned(low.value, low.multiplier, high.value, high.multiplier)
        }
        let name = qualifier.lowercased().replacingOccurrences(of: "-", with: "_")
        switch name {
        case "": break
        case "provisional": provisional = true
        case _ where FiguresTable.qualifiers.contains(name): self.qualifier = name
        default:
            throw FormatError(
                "unknown qualifier \"\(qualifier)\" (\((FiguresTable.qualifiers + ["provisional"]).joined(separator: ", ")))")
        }
        if !date.isEmpty && !PartialDate.isValid(date) { throw FormatError("source_date \"\(date)\" is not a date") }
        sourceDate = date
    }

    /// The kind of document the source columns describe (see `SourceGuess`).
    public var sourceKind: SourceGuess.Kind {
        SourceGuess.kind(publisher: sourcePublisher, title: sourceTitle, note: note, url: sourceURL)
    }

    /// The publisher a reprint's source columns name, else "".
    public var originalPublisher: String { SourceGuess.originalPublisher(sourcePublisher, title: sourceTitle) }

    /// The source's language, from its title.
    public var sourceLanguage: String { SourceGuess.language(ofTitle: sourceTitle) }
}
