import Foundation

/// How a source is described from the figures file's source columns alone, the same for the seed import and
/// `coopctl import`: the kind of document, the publisher behind a reprint, the language of the title.
public enum SourceGuess {
    /// The kinds a guess gives. Raw values are the kinds' short names in coopd's API and store
    /// ("official_release"), so each side maps them onto its own enum.
    public enum Kind: String, CaseIterable, Sendable {
        case officialRelease = "official_release"
        case news
        case repost
        case blog
        case officialReleaseReproduced = "official_release_reproduced"
    }

    /// The kind of document, guessed from how the table describes it: a blog (a person's, or a consultant's
    /// or company's site), an official release reproduced verbatim elsewhere, a repost of anything else, an
    /// official release, or news.
    public static func kind(publisher: String, title: String, note: String, url: String) -> Kind {
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

    /// The publisher behind a reprint or agency story, when the table names it: in the publisher column
    /// ("onetech.jp (reprint of VIETJO)", "Jiji Press via nippon.com", "QDND (source: VNA)", "… citing ISA"),
    /// or as "(reprint of …)" in the title; else "".
    public static func originalPublisher(_ publisher: String, title: String) -> String {
        let markers = [
            "reprint of ", "repost of ", "reproducing ", "summary of ", "source: ", "citing ", "quoting ",
            "compiled by ",
        ]
        for (text, markers) in [(publisher, markers), (title, ["reprint of "])] {
            for marker in markers {
                guard let range = text.range(of: marker) else { continue }
                var words = text[range.upperBound...].prefix { $0 != ")" && $0 != ";" }.split(separator: " ")
                // "VIETJO 2021-02-01" → "VIETJO".
                if let last = words.last, PartialDate.isValid(String(last)) { words.removeLast() }
                if !words.isEmpty { return words.joined(separator: " ") }
            }
        }
        if let range = publisher.range(of: " via ") { return String(publisher[..<range.lowerBound]) }
        return ""
    }

    /// The document's language from its title: "ja" for Japanese, "vi" for Vietnamese, "en" for English;
    /// "" for a descriptive title in parentheses that shows none of them.
    public static func language(ofTitle title: String) -> String {
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
