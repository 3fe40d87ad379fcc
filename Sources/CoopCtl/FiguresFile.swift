import CoopProto
import Foundation

/// The shipped dataset's CSV format (`vn-jp-figures.csv`), read by `import` and written by `export`:
///
///     indicator,origin,destination,period_start,period_end,value,unit,qualifier,
///     source_title,source_publisher,source_url,source_date,note
///
/// - `indicator` is a code, or `CODE:VALUE` for the breakdown status_of_residence=VALUE, or
///   `CODE:key=value;key=value` for any other breakdown.
/// - `value` and `unit` are as published: "110013" "persons", "2.6" "trillion JPY" (= 26 × 10^11 JPY).
/// - `qualifier`: exact, approx, at_least, at_most, derived, as_worded, or provisional (exact, status provisional).
/// - the source columns name the document read; `source_date` is also the value's vintage.
public enum FiguresFile {
    public static let columns = [
        "indicator", "origin", "destination", "period_start", "period_end", "value", "unit", "qualifier",
        "source_title", "source_publisher", "source_url", "source_date", "note",
    ]

    /// The breakdown written as the `:VALUE` suffix.
    static let defaultDimension = "status_of_residence"

    // MARK: Writing

    public static func header() -> String { CSV.line(columns) }

    /// One CSV line for an observation and its source.
    public static func line(_ o: Coop_V1_Observation, source: Coop_V1_Source?) -> String {
        var indicator = o.indicator
        if o.breakdown.count == 1 && o.breakdown[0].key == defaultDimension && !o.breakdown[0].value.contains(";") {
            indicator += ":" + o.breakdown[0].value
        } else if !o.breakdown.isEmpty {
            indicator += ":" + Breakdown.canonical(o.breakdown)
        }
        var (value, unit) = Amount.csvColumns(value: o.value, multiplier: o.unitMultiplier, unit: o.unit)
        if o.valueHigh > o.value {
            value += "-" + Amount.csvColumns(value: o.valueHigh, multiplier: o.unitMultiplier, unit: o.unit).value
        }
        let qualifier: String
        if o.status == .provisional && (o.qualifier == .exact || o.qualifier == .unspecified) {
            qualifier = "provisional"
        } else {
            qualifier = o.qualifier == .unspecified ? "exact" : o.qualifier.shortName
        }
        let date = o.vintage.isEmpty ? (source?.published ?? "") : o.vintage
        return CSV.line([
            indicator, o.origin, o.destination, o.periodStart, o.periodEnd, value, unit, qualifier,
            source?.title ?? "", source?.publisher ?? "", source?.url ?? "", date, o.note,
        ])
    }

    // MARK: Reading

    /// Parses the file into import items; rows that cannot be read are returned as rejections with their line.
    public static func read(_ text: String) throws -> (items: [ImportItem], rejected: [ImportRejection]) {
        let records = try CSV.parse(text)
        guard let header = records.first else { throw CtlError.invalidInput("the file is empty") }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        var index: [String: Int] = [:]
        for (i, name) in names.enumerated() where index[name] == nil { index[name] = i }
        let missing = columns.filter { index[$0] == nil }
        guard missing.isEmpty else {
            throw CtlError.invalidInput(
                "line \(header.line): the header lacks \(missing.joined(separator: ", ")) (expected: \(columns.joined(separator: ",")))")
        }
        var items: [ImportItem] = []
        var rejected: [ImportRejection] = []
        for record in records.dropFirst() {
            let position = "line \(record.line)"
            guard record.fields.count == names.count else {
                rejected.append(ImportRejection(
                    position: position, line: record.line,
                    reason: "\(record.fields.count) fields, the header has \(names.count)"))
                continue
            }
            func field(_ name: String) -> String { record.fields[index[name]!].trimmingCharacters(in: .whitespaces) }
            do {
                let o = try observation(
                    indicator: field("indicator"), origin: field("origin"), destination: field("destination"),
                    start: field("period_start"), end: field("period_end"), value: field("value"), unit: field("unit"),
                    qualifier: field("qualifier"), date: field("source_date"), note: record.fields[index["note"]!])
                let source = Coop_V1_Source.with {
                    $0.title = field("source_title")
                    $0.publisher = field("source_publisher")
                    $0.url = field("source_url")
                    $0.published = field("source_date")
                    $0.originalPublisher = SourceGuess.originalPublisher($0.publisher, title: $0.title)
                    $0.kind = SourceGuess.kind(publisher: $0.publisher, title: $0.title, note: o.note, url: $0.url)
                    $0.language = SourceGuess.language(ofTitle: $0.title)
                }
                guard !source.title.isEmpty, !source.publisher.isEmpty else {
                    throw CtlError.invalidInput("source_title and source_publisher are required")
                }
                items.append(ImportItem(position: position, line: record.line, observation: o, source: .document(source)))
            } catch let error as CtlError {
                rejected.append(ImportRejection(
                    position: position, line: record.line,
                    reason: error.message.replacingOccurrences(of: "invalid input: ", with: "")))
            }
        }
        return (items, rejected)
    }

    static func observation(
        indicator: String, origin: String, destination: String, start: String, end: String, value: String,
        unit: String, qualifier: String, date: String, note: String
    ) throws -> Coop_V1_Observation {
        var o = Coop_V1_Observation()
        let code = indicator.split(separator: ":", maxSplits: 1).map(String.init)
        guard let first = code.first, !first.isEmpty else { throw CtlError.invalidInput("indicator is empty") }
        o.indicator = first
        if code.count == 2 {
            if code[1].contains("=") {
                o.breakdown = try code[1].split(separator: ";").map { item in
                    do { return try Breakdown.parse(String(item)) } catch {
                        throw CtlError.invalidInput("indicator \(indicator): breakdown \"\(item)\" is not key=value")
                    }
                }
            } else {
                o.breakdown = [.with {
                    $0.key = defaultDimension
                    $0.value = code[1]
                }]
            }
        }
        o.origin = origin
        o.destination = destination
        for (name, date) in [("period_start", start), ("period_end", end)] {
            guard !date.isEmpty else { throw CtlError.invalidInput("\(name) is empty") }
            guard Period.isValid(date) else { throw CtlError.invalidInput("\(name) \"\(date)\" is not a date") }
        }
        o.periodStart = start
        o.periodEnd = end
        // "1000-1200": a range.
        let bounds = value.split(separator: "-", maxSplits: 1).map(String.init)
        let low = try Amount.parse(bounds.first ?? "", unit: unit)
        o.value = low.value
        o.unitMultiplier = low.multiplier
        o.unit = low.unit
        if bounds.count == 2 {
            let high = try Amount.parse(bounds[1], unit: unit)
            (o.value, o.valueHigh, o.unitMultiplier) = try aligned(low.value, low.multiplier, high.value, high.multiplier)
        }
        switch qualifier.lowercased() {
        case "", "exact": o.qualifier = .exact
        case "provisional":
            o.qualifier = .exact
            o.status = .provisional
        default:
            guard let q = Coop_V1_Qualifier(shortName: qualifier) else {
                throw CtlError.invalidInput(
                    "unknown qualifier \"\(qualifier)\" (exact, approx, at_least, at_most, derived, as_worded, provisional)")
            }
            o.qualifier = q
        }
        if !date.isEmpty && !Period.isValid(date) { throw CtlError.invalidInput("source_date \"\(date)\" is not a date") }
        o.vintage = date
        o.note = note
        return o
    }

    /// Parses `figures --json` / `export --json` output ({"observations": [...], "sources": [...],
    /// "indicators": [...]}) or a bare array of observations.
    public static func readJSON(_ text: String) throws -> (
        items: [ImportItem], rejected: [ImportRejection], indicators: [Coop_V1_Indicator]
    ) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        var observations: [Coop_V1_Observation]
        var sources: [Int64: Coop_V1_Source] = [:]
        var indicators: [Coop_V1_Indicator] = []
        var prefix = "observations"
        do {
            if trimmed.hasPrefix("[") {
                observations = try Coop_V1_Observation.array(fromJSONString: trimmed, options: JSONOutput.decodingOptions)
                prefix = ""
            } else if trimmed.hasPrefix("{") {
                let list = try Coop_V1_ListObservationsResponse(jsonString: trimmed, options: JSONOutput.decodingOptions)
                observations = list.observations
                for source in list.sources { sources[source.id] = source }
                indicators = try Coop_V1_ListIndicatorsResponse(
                    jsonString: trimmed, options: JSONOutput.decodingOptions
                ).indicators
            } else {
                throw CtlError.invalidInput("expected a JSON array of observations or an object with \"observations\"")
            }
        } catch let error as CtlError {
            throw error
        } catch {
            throw CtlError.invalidInput("the JSON does not decode as observations: \(error)")
        }
        var items: [ImportItem] = []
        var rejected: [ImportRejection] = []
        for (index, original) in observations.enumerated() {
            let position = "\(prefix)[\(index)]"
            if original.retracted {
                rejected.append(ImportRejection(position: position, line: nil, reason: "retracted (not imported)"))
                continue
            }
            var o = original
            o.id = 0
            o.supersedesID = 0
            o.supersededByID = 0
            o.conflictsWith = []
            o.recordedSequence = 0
            let sourceID = o.sourceID
            o.sourceID = 0
            guard !o.indicator.isEmpty else {
                rejected.append(ImportRejection(position: position, line: nil, reason: "indicator is empty"))
                continue
            }
            let bad = [("period_start", o.periodStart), ("period_end", o.periodEnd)].first { !Period.isValid($0.1) }
            if let bad {
                rejected.append(ImportRejection(position: position, line: nil, reason: "\(bad.0) \"\(bad.1)\" is not a date"))
                continue
            }
            let source: ImportItem.SourceReference =
                if let document = sources[sourceID] { .document(document) } else { .id(sourceID) }
            items.append(ImportItem(
                position: position, line: nil, observation: o, source: source, fileID: original.id,
                conflictsWith: original.conflictsWith))
        }
        return (items, rejected, indicators)
    }
}

/// One observation to import and where it came from.
public struct ImportItem: Sendable {
    public enum SourceReference: Sendable {
        /// A document described in the file: found by URL (or title and publisher) or created.
        case document(Coop_V1_Source)
        /// A source id that must exist in coopd.
        case id(Int64)
    }

    /// "line 12" or "observations[3]".
    public var position: String
    public var line: Int?
    /// Without source id (see `source`).
    public var observation: Coop_V1_Observation
    public var source: SourceReference
    /// JSON: the observation's id in the file, and the ids there of those it conflicts with (0 and [] for CSV).
    public var fileID: Int64 = 0
    public var conflictsWith: [Int64] = []
}

public struct ImportRejection: Sendable, Equatable {
    public var position: String
    public var line: Int?
    public var reason: String
}

/// How the shipped import describes a source from the CSV's columns (as coopd's seed import does).
enum SourceGuess {
    static func kind(publisher: String, title: String, note: String, url: String) -> Coop_V1_SourceKind {
        let publisherText = publisher.lowercased()
        let host = URL(string: url)?.host ?? ""
        if publisherText.contains("blog") || publisherText.contains("consultant") || host.contains("consult") {
            return .blog
        }
        let described = (publisher + " " + title).lowercased()
        let officialBodies = ["isa", "mhlw", "moj", "dolab", "molisa", "otit"]
        let reproducesRelease = described.contains("reproduc")
            || (publisherText.contains("reprint of") && officialBodies.contains { publisherText.contains("reprint of \($0)") })
        if reproducesRelease { return .officialReleaseReproduced }
        let repostWords = ["repost", "reprint", "mirror", "summary of", "translation of"]
        if repostWords.contains(where: described.contains) || note.lowercased().contains("(repost)") {
            return .repost
        }
        if host.hasSuffix(".go.jp") || host.hasSuffix(".gov.vn") || publisherText.contains("government portal") {
            return .officialRelease
        }
        return .news
    }

    static func originalPublisher(_ publisher: String, title: String) -> String {
        let markers = [
            "reprint of ", "repost of ", "reproducing ", "summary of ", "source: ", "citing ", "quoting ",
            "compiled by ",
        ]
        for (text, markers) in [(publisher, markers), (title, ["reprint of "])] {
            for marker in markers {
                guard let range = text.range(of: marker) else { continue }
                var words = text[range.upperBound...].prefix { $0 != ")" && $0 != ";" }.split(separator: " ")
                if let last = words.last, Period.isValid(String(last)) { words.removeLast() }
                if !words.isEmpty { return words.joined(separator: " ") }
            }
        }
        if let range = publisher.range(of: " via ") { return String(publisher[..<range.lowerBound]) }
        return ""
    }

    static func language(ofTitle title: String) -> String {
        for scalar in title.unicodeScalars {
            switch scalar.value {
            case 0x3040...0x30FF, 0x4E00...0x9FFF: return "ja"
            default: continue
            }
        }
        let vietnamese = Set("ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")
        if title.lowercased().contains(where: vietnamese.contains) { return "vi" }
        return title.hasPrefix("(") ? "" : "en"
    }
}
