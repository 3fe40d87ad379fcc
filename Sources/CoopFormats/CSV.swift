/// RFC 4180 CSV, read and written the same way by coopctl (import, export, --csv) and the seed import: fields
/// quoted only when they hold a comma, a quote or a line break.
public enum CSV {
    public static func field(_ text: String) -> String {
        if text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) {
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return text
    }

    public static func line(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",")
    }

    /// A parsed record and the line it starts on (1-based).
    public struct Record: Sendable, Equatable {
        public var line: Int
        public var fields: [String]
    }

    /// Parses RFC 4180 text: comma-separated, fields optionally double-quoted ("" inside quotes is a quote),
    /// records ending in LF or CRLF; empty lines are skipped, a leading byte order mark too. A quote left open is
    /// an error.
    public static func parse(_ text: String) throws(FormatError) -> [Record] {
        var records: [Record] = []
        var record: [String] = []
        var field = ""
        var quoted = false
        var fieldWasQuoted = false
        var line = 1
        var recordLine = 1
        var quoteOpenedOn = 1
        var characters = Array(text)
        if characters.first == "\u{FEFF}" { characters.removeFirst() }
        var index = 0
        func endRecord() {
            record.append(field)
            if record != [""] || fieldWasQuoted {
                records.append(Record(line: recordLine, fields: record))
            }
            record = []
            field = ""
            fieldWasQuoted = false
        }
        while index < characters.count {
            let character = characters[index]
            index += 1
            if quoted {
                if character == "\"" {
                    if index < characters.count && characters[index] == "\"" {
                        field.append("\"")
                        index += 1
                    } else {
                        quoted = false
                    }
                } else {
                    if character.isNewline { line += 1 }
                    field.append(character)
                }
                continue
            }
            switch character {
            case "\"" where field.isEmpty:
                quoted = true
                fieldWasQuoted = true
                quoteOpenedOn = line
            case ",":
                record.append(field)
                field = ""
                fieldWasQuoted = false
            case "\n", "\r\n", "\r":
                endRecord()
                line += 1
                recordLine = line
            default:
                field.append(character)
            }
        }
        if quoted {
            throw FormatError("line \(quoteOpenedOn): a quoted field is never closed")
        }
        if !field.isEmpty || !record.isEmpty || fieldWasQuoted {
            endRecord()
        }
        return records
    }
}
