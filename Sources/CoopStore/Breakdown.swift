/// The canonical text form of a breakdown, used to store, compare and order it: dimensions sorted by key,
/// written "key=value;key=value" with '%', '=' and ';' percent-escaped. The total (no breakdown) is "".
enum Breakdown {
    static func canonical(_ dimensions: [Dimension]) -> String {
        dimensions.sorted().map { escape($0.key) + "=" + escape($0.value) }.joined(separator: ";")
    }

    /// The dimensions of a canonical breakdown (the inverse of `canonical`).
    static func parse(_ canonical: String) -> [Dimension] {
        guard !canonical.isEmpty else { return [] }
        return canonical.split(separator: ";", omittingEmptySubsequences: false).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return Dimension(key: unescape(parts[0]), value: parts.count > 1 ? unescape(parts[1]) : "")
        }
    }

    static func sorted(_ dimensions: [Dimension]) -> [Dimension] {
        dimensions.sorted()
    }

    private static func unescape(_ text: Substring) -> String {
        guard text.contains("%") else { return String(text) }
        var unescaped = ""
        var rest = text[...]
        while let percent = rest.firstIndex(of: "%") {
            unescaped += rest[..<percent]
            let code = rest[percent...].prefix(3)
            switch code {
            case "%25": unescaped += "%"
            case "%3D": unescaped += "="
            case "%3B": unescaped += ";"
            default: unescaped += code
            }
            rest = rest[percent...].dropFirst(code.count)
        }
        return unescaped + rest
    }

    private static func escape(_ text: String) -> String {
        guard text.contains(where: { $0 == "%" || $0 == "=" || $0 == ";" }) else { return text }
        var escaped = ""
        for character in text {
            switch character {
            case "%": escaped += "%25"
            case "=": escaped += "%3D"
            case ";": escaped += "%3B"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
