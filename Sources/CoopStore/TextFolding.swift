import Foundation

/// Case and diacritic folding for search and name matching, applied the same way to stored text and to
/// queries, so "Dao Ngoc Dung" finds "Đào Ngọc Dung".
public enum TextFolding {
    /// Lowercases, decomposes (NFKD: accents come apart, full-width letters become ASCII), drops combining
    /// diacritical marks, and spells out letters that do not decompose (đ → d, ø → o, ß → ss, æ → ae, …).
    /// Marks outside the diacritic blocks (Japanese voicing marks, Indic vowel signs) are kept, and the result
    /// is recomposed (NFC), so "ガ" stays "ガ".
    public static func fold(_ text: String) -> String {
        // Most text searched and stored is ASCII: lowercasing is all folding does to it.
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            return String(decoding: text.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
        }
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
        words(folded: fold(text))
    }

    /// The words of text already folded.
    package static func words(folded: String) -> [String] {
        var words: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in folded.unicodeScalars {
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

    /// One searchable unit of a query: a Latin (or other spaced-script) word, found as a word or a word's
    /// prefix, or a run of Japanese or Chinese characters, found anywhere inside a longer run.
    package enum Term: Equatable, Sendable {
        case word(String)
        case ideographs(String)
    }

    /// The terms of a query after folding: words as `words` sees them, each split where Japanese or Chinese
    /// characters start or stop ("2万人" is the word "2" and the run "万人").
    package static func terms(_ query: String) -> [Term] {
        words(query).flatMap { word in
            segments(word).map { run, ideographic in ideographic ? Term.ideographs(run) : Term.word(run) }
        }
    }

    /// Folded text as the search index stores it: runs of Japanese or Chinese characters, which have no
    /// spaces between words, become their overlapping character pairs ("ベトナム" → "ベト トナ ナム"), so any
    /// part of two or more characters is a phrase of whole tokens; everything else is left as it was.
    package static func indexable(_ text: String) -> String {
        var out = ""
        for (run, ideographic) in segments(fold(text)) {
            out += ideographic ? " " + pairs(run).joined(separator: " ") + " " : run
        }
        return out
    }

    /// An FTS5 MATCH expression that finds rows containing every term of `query`: a word as itself or as a
    /// prefix of a longer word (whole words rank first: they match both), a run of ideographs as the phrase of
    /// its pairs (a single one as the prefix of a pair). Every token is a quoted string, so no FTS5 syntax can
    /// be injected. Nil when the query has no words (empty, or only punctuation).
    package static func matchExpression(_ query: String, maximumWords: Int = 32) -> String? {
        let terms = terms(query).prefix(maximumWords)
        guard !terms.isEmpty else { return nil }
        func quoted(_ token: String) -> String { "\"" + token.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        return terms.map { term in
            switch term {
            case .word(let word):
                return "(\(quoted(word)) OR \(quoted(word)) *)"
            case .ideographs(let run) where run.count == 1:
                return "\(quoted(run)) *"
            case .ideographs(let run):
                return quoted(pairs(run).joined(separator: " "))
            }
        }.joined(separator: " AND ")
    }

    /// Whitespace, decided for ASCII without a Unicode property lookup.
    package static func isSpace(_ character: Character) -> Bool {
        if let ascii = character.asciiValue { return ascii == 0x20 || (ascii >= 0x09 && ascii <= 0x0D) }
        return character.isWhitespace
    }

    /// Kanji, kana (with the prolonged-sound and iteration marks) and Chinese ideographs: scripts written
    /// without spaces between words.
    package static func isIdeographic(_ character: Character) -> Bool {
        guard let scalar = character.unicodeScalars.first, !scalar.isASCII else { return false }
        switch scalar.value {
        case 0x3005...0x3007, 0x3040...0x30FF, 0x31F0...0x31FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
            0xF900...0xFAFF, 0xFF66...0xFF9F, 0x20000...0x3134F:
            return true
        default:
            return false
        }
    }

    /// Overlapping character pairs of a run; a run of one character is itself.
    private static func pairs(_ run: String) -> [String] {
        let characters = Array(run)
        guard characters.count > 1 else { return [run] }
        return (0..<characters.count - 1).map { String(characters[$0...$0 + 1]) }
    }

    /// `text` cut where ideographic runs start and stop, each piece marked.
    private static func segments(_ text: String) -> [(String, Bool)] {
        var pieces: [(String, Bool)] = []
        for character in text {
            let ideographic = isIdeographic(character)
            if let last = pieces.last, last.1 == ideographic {
                pieces[pieces.count - 1].0.append(character)
            } else {
                pieces.append((String(character), ideographic))
            }
        }
        return pieces
    }

    private static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        // ASCII first: looking up a scalar's category costs more than the rest of a search's folding.
        if scalar.isASCII {
            return (scalar >= "a" && scalar <= "z") || (scalar >= "0" && scalar <= "9") || (scalar >= "A" && scalar <= "Z")
        }
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
