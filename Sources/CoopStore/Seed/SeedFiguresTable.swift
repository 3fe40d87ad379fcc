import Foundation

/// The shipped figures table (`SeedFiguresCSV.text`, from `vn-jp-figures.csv`), parsed into rows.
///
/// Columns: indicator, origin, destination, period_start, period_end, value, unit, qualifier, source_title,
/// source_publisher, source_url, source_date, note. An indicator written `CODE:VALUE` is indicator `CODE`
/// broken down by status of residence = VALUE.
struct SeedFiguresTable {
    struct Row {
        /// 1-based data row number (the header is row 0).
        var number: Int
        var indicator: String
        var breakdown: [Dimension]
        var origin: String
        var destination: String
        var periodStart: String
        var periodEnd: String
        var value: String
        var unit: String
        var qualifier: String
        var sourceTitle: String
        var sourcePublisher: String
        var sourceURL: String
        var sourceDate: String
        var note: String
    }

    static let columns = [
        "indicator", "origin", "destination", "period_start", "period_end", "value", "unit", "qualifier",
        "source_title", "source_publisher", "source_url", "source_date", "note",
    ]

    var rows: [Row]

    init(csv: String) throws {
        let records = Self.parseCSV(csv)
        guard let header = records.first, header == Self.columns else {
            throw StoreError(.internalError, "seed figures: unexpected header")
        }
        rows = try records.dropFirst().enumerated().map { index, fields in
            guard fields.count == Self.columns.count else {
                throw StoreError(.internalError, "seed figures row \(index + 1): \(fields.count) fields")
            }
            let code = fields[0].split(separator: ":", maxSplits: 1).map(String.init)
            return Row(
                number: index + 1, indicator: code[0],
                breakdown: code.count == 2 ? [Dimension(key: "status_of_residence", value: code[1])] : [],
                origin: fields[1], destination: fields[2], periodStart: fields[3], periodEnd: fields[4],
                value: fields[5], unit: fields[6], qualifier: fields[7], sourceTitle: fields[8],
                sourcePublisher: fields[9], sourceURL: fields[10], sourceDate: fields[11], note: fields[12])
        }
    }

    /// RFC 4180 records: comma-separated, fields optionally double-quoted ("" inside quotes is a quote).
    static func parseCSV(_ text: String) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var quoted = false
        var iterator = text.makeIterator()
        var pending: Character? = nil
        func next() -> Character? {
            if let character = pending {
                pending = nil
                return character
            }
            return iterator.next()
        }
        while let character = next() {
            if quoted {
                if character == "\"" {
                    if let following = next() {
                        if following == "\"" {
                            field.append("\"")
                        } else {
                            quoted = false
                            pending = following
                        }
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(character)
                }
                continue
            }
            switch character {
            case "\"" where field.isEmpty:
                quoted = true
            case ",":
                record.append(field)
                field = ""
            case "\n", "\r\n", "\r":
                record.append(field)
                field = ""
                if record != [""] {
                    records.append(record)
                }
                record = []
            default:
                field.append(character)
            }
        }
        if !field.isEmpty || !record.isEmpty {
            record.append(field)
            records.append(record)
        }
        return records
    }

    // MARK: Column conversions

    /// "2.6" "trillion JPY" → 26 × 10^11 JPY; "300" "billion JPY" → 300 × 10^9 JPY; "110013" "persons" → 110013.
    static func amount(_ value: String, unit: String) throws -> (value: Int64, multiplier: Int32, unit: String) {
        let scales: [(String, Int32)] = [("trillion ", 12), ("billion ", 9), ("million ", 6), ("thousand ", 3)]
        var exponent: Int32 = 0
        var baseUnit = unit
        for (word, scale) in scales where unit.hasPrefix(word) {
            exponent = scale
            baseUnit = String(unit.dropFirst(word.count))
        }
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) }),
            let integer = Int64(parts.joined())
        else {
            throw StoreError(.internalError, "seed figures: value \(Validation.quoted(value)) is not a number")
        }
        let decimals = parts.count == 2 ? Int32(parts[1].count) : 0
        guard exponent >= decimals else {
            throw StoreError(.internalError, "seed figures: value \(Validation.quoted(value)) has too many decimals")
        }
        return (integer, exponent - decimals, baseUnit)
    }

    /// The qualifier column: `provisional` is an exact figure labelled preliminary, so it sets the status.
    static func qualifierAndStatus(_ text: String) throws -> (Qualifier, ObservationStatus) {
        switch text {
        case "exact": return (.exact, .normal)
        case "approx": return (.approx, .normal)
        case "at_least": return (.atLeast, .normal)
        case "at_most": return (.atMost, .normal)
        case "derived": return (.derived, .normal)
        case "as_worded": return (.asWorded, .normal)
        case "provisional": return (.exact, .provisional)
        default: throw StoreError(.internalError, "seed figures: unknown qualifier \(Validation.quoted(text))")
        }
    }

    /// The kind of document, guessed from how the table describes it: a blog (a person's, or a consultant's
    /// or company's site), an official release reproduced verbatim elsewhere, a repost of anything else, an
    /// official release, or news.
    static func sourceKind(publisher: String, title: String, note: String, url: String) -> SourceKind {
        let publisherText = publisher.lowercased()
        let host = URL(string: url)?.host ?? ""
        if publisherText.contains("blog") || publisherText.contains("consultant") || host.contains("consult") {
            return .blog
        }
        let described = (publisher + " " + title).lowercased()
        let officialBodies = ["isa", "mhlw", "moj", "dolab", "molisa", "otit"]
        let reproducesRelease = described.contains("reproduc")
            || (publisherText.contains("reprint of") && officialBodies.contains { publisherText.contains("reprint of \($0)") })
        if reproducesRelease {
            return .officialReleaseReproduced
        }
        let repostWords = ["repost", "reprint", "mirror", "summary of", "translation of"]
        if repostWords.contains(where: described.contains) || note.lowercased().contains("(repost)") {
            return .repost
        }
        if host.hasSuffix(".go.jp") || host.hasSuffix(".gov.vn") || publisherText.contains("government portal") {
            return .officialRelease
        }
        return .news
    }

    /// The publisher behind a reprint or agency story, when the table names it: in the publisher column
    /// ("onetech.jp (reprint of VIETJO)", "Jiji Press via nippon.com", "QDND (source: VNA)", "… citing ISA"),
    /// or as "(reprint of …)" in the title.
    static func originalPublisher(_ publisher: String, title: String) -> String {
        let markers = [
            "reprint of ", "repost of ", "reproducing ", "summary of ", "source: ", "citing ", "quoting ",
            "compiled by ",
        ]
        for (text, markers) in [(publisher, markers), (title, ["reprint of "])] {
            for marker in markers {
                guard let range = text.range(of: marker) else { continue }
                var words = text[range.upperBound...].prefix { $0 != ")" && $0 != ";" }.split(separator: " ")
                // "VIETJO 2021-02-01" → "VIETJO".
                if let last = words.last, PartialDate(String(last)) != nil {
                    words.removeLast()
                }
                if !words.isEmpty {
                    return words.joined(separator: " ")
                }
            }
        }
        if let range = publisher.range(of: " via ") {
            return String(publisher[..<range.lowerBound])
        }
        return ""
    }

    /// The document's language from its title: "ja" for Japanese, "vi" for Vietnamese, "en" for English;
    /// "" for a descriptive title in parentheses that shows none of them.
    static func language(ofTitle title: String) -> String {
        for scalar in title.unicodeScalars {
            switch scalar.value {
            case 0x3040...0x30FF, 0x4E00...0x9FFF: return "ja"
            default: continue
            }
        }
        let vietnamese = Set("ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")
        if title.lowercased().contains(where: vietnamese.contains) {
            return "vi"
        }
        return title.hasPrefix("(") ? "" : "en"
    }
}
