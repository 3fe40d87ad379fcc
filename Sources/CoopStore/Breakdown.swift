/// The canonical text form of a breakdown, used to store, compare and order it: dimensions sorted by key,
/// written "key=value;key=value" with '%', '=' and ';' percent-escaped. The total (no breakdown) is "".
enum Breakdown {
    static func canonical(_ dimensions: [Dimension]) -> String {
        dimensions.sorted().map { escape($0.key) + "=" + escape($0.value) }.joined(separator: ";")
    }

    static func sorted(_ dimensions: [Dimension]) -> [Dimension] {
        dimensions.sorted()
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
