import Foundation

/// Case and diacritic folding for search and name matching, applied the same way to stored text and to
/// queries, so "Dao Ngoc Dung" finds "Đào Ngọc Dung".
public enum TextFolding {
    /// Lowercases, decomposes (NFKD: accents come apart, full-width letters become ASCII), drops combining
    /// diacritical marks, and spells out letters that do not decompose (đ → d, ø → o, ß → ss, æ → ae, …).
    /// Marks outside the diacritic blocks (Japanese voicing marks, Indic vowel signs) are kept, and the result
    /// is recomposed (NFC), so "ガ" stays "ガ".
    public static func fold(_ text: String) -> String {
        var folded = String.UnicodeScalarView()
        for scalar in text.decomposedStringWithCompatibilityMapping.lowercased().unicodeScalars {
            if isDiacritic(scalar) {
                continue
            }
            if let spelled = letters[scalar] {
                folded.append(contentsOf: spelled.unicodeScalars)
            } else {
                folded.append(scalar)
            }
        }
        return String(folded).precomposedStringWithCanonicalMapping
    }

    /// The words of a text after folding: runs of letters and digits, as SQLite's unicode61 tokenizer sees them.
    public static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in fold(text).unicodeScalars {
            if isWordScalar(scalar) {
                current.append(scalar)
            } else if !current.isEmpty {
                words.append(String(current))
                current = String.UnicodeScalarView()
            }
        }
        if !current.isEmpty {
            words.append(String(current))
        }
        return words
    }

    /// An FTS5 MATCH expression that finds rows containing every word of `query`, each word a quoted string
    /// (so no FTS5 syntax can be injected). Nil when the query has no words (empty, or only punctuation).
    package static func matchExpression(_ query: String, maximumWords: Int = 32) -> String? {
        let terms = words(query).prefix(maximumWords)
        guard !terms.isEmpty else { return nil }
        return terms.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: " ")
    }

    private static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .decimalNumber, .letterNumber, .otherNumber, .privateUse, .nonspacingMark, .spacingMark:
            return true
        default:
            return false
        }
    }

    /// Combining marks of the Latin, Greek and Cyrillic diacritic blocks.
    private static func isDiacritic(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0300...0x036F, 0x1AB0...0x1AFF, 0x1DC0...0x1DFF, 0x20D0...0x20FF, 0xFE20...0xFE2F:
            return true
        default:
            return false
        }
    }

    /// Lowercase letters with no canonical decomposition, spelled in ASCII.
    private static let letters: [Unicode.Scalar: String] = [
        "đ": "d", "ð": "d", "ɗ": "d", "ħ": "h", "ı": "i", "ɨ": "i", "ĸ": "k", "ƙ": "k", "ł": "l", "ƚ": "l",
        "ŋ": "n", "ø": "o", "ɵ": "o", "œ": "oe", "æ": "ae", "ß": "ss", "þ": "th", "ŧ": "t", "ƀ": "b",
        "ɓ": "b", "ƒ": "f", "ǥ": "g", "ʉ": "u", "ȥ": "z", "ƶ": "z",
    ]
}
