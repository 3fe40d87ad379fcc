/// The canonical text form of a breakdown, used to store, compare and order it: dimensions sorted by key,
/// written "key=value;key=value" with '%', '=' and ';' percent-escaped. The total (no breakdown) is "".
package enum Breakdown {
    package static func canonical(_ dimensions: [Dimension]) -> String {
        dimensions.sorted().map { escape($0.key) + "=" + escape($0.value) }.joined(separator: ";")
    }

    /// The dimensions of a canonical breakdown (the inverse of `canonical`). Split and unescaped by Unicode scalar,
    /// as `escape` writes: a Character would join a separator to a combining mark after it ("=" + "\u{301}x").
    package static func parse(_ canonical: String) -> [Dimension] {
        guard !canonical.isEmpty else { return [] }
        return canonical.unicodeScalars.split(separator: ";", omittingEmptySubsequences: false).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return Dimension(key: unescape(parts[0]), value: parts.count > 1 ? unescape(parts[1]) : "")
        }
    }

    static func sorted(_ dimensions: [Dimension]) -> [Dimension] {
        dimensions.sorted()
    }

    private static func unescape(_ text: Substring.UnicodeScalarView) -> String {
        guard text.contains("%") else { return String(text) }
        var unescaped = String.UnicodeScalarView()
        var rest = text[...]
        while let percent = rest.firstIndex(of: "%") {
            unescaped += rest[..<percent]
            let code = rest[percent...].prefix(3)
            switch String(code) {
            case "%25": unescaped.append("%")
            case "%3D": unescaped.append("=")
            case "%3B": unescaped.append(";")
            default: unescaped += code
            }
            rest = rest[percent...].dropFirst(code.count)
        }
        return String(unescaped + rest)
    }

    private static func escape(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0 == "%" || $0 == "=" || $0 == ";" }) else { return text }
        var escaped = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "%": escaped += "%25".unicodeScalars
            case "=": escaped += "%3D".unicodeScalars
            case ";": escaped += "%3B".unicodeScalars
            default: escaped.append(scalar)
            }
        }
        return String(escaped)
    }
}
