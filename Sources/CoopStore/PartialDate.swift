/// An ISO 8601 calendar date, full or partial: "2022-06-29", "2022-06" or "2022".
///
/// Partial dates are compared through the first and last day they cover: a period "2022" starts on
/// 2022-01-01 and ends on 2022-12-31. Both are "YYYY-MM-DD" strings, which order like the dates.
public struct PartialDate: Hashable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int?
    public let day: Int?

    /// Parses "YYYY", "YYYY-MM" or "YYYY-MM-DD" (years 1000–9999, real calendar days); nil otherwise.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count) else { return nil }
        guard let year = Self.number(parts[0], digits: 4), year >= 1000 else { return nil }
        var month: Int?
        var day: Int?
        if parts.count >= 2 {
            guard let m = Self.number(parts[1], digits: 2), (1...12).contains(m) else { return nil }
            month = m
        }
        if parts.count == 3, let month {
            guard let d = Self.number(parts[2], digits: 2), (1...Self.daysIn(month: month, year: year)).contains(d)
            else { return nil }
            day = d
        }
        self.year = year
        self.month = month
        self.day = day
    }

    /// The first day covered, "YYYY-MM-DD".
    public var firstDay: String {
        Self.format(year, month ?? 1, day ?? 1)
    }

    /// The last day covered, "YYYY-MM-DD".
    public var lastDay: String {
        let m = month ?? 12
        return Self.format(year, m, day ?? Self.daysIn(month: m, year: year))
    }

    public var description: String {
        var text = Self.pad(year, 4)
        if let month { text += "-" + Self.pad(month, 2) }
        if let day { text += "-" + Self.pad(day, 2) }
        return text
    }

    /// `firstDay` of `text` if it is a date, else "" (for optional dates).
    static func firstDay(of text: String) -> String { PartialDate(text)?.firstDay ?? "" }
    /// `lastDay` of `text` if it is a date, else "".
    static func lastDay(of text: String) -> String { PartialDate(text)?.lastDay ?? "" }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func number(_ text: Substring, digits: Int) -> Int? {
        guard text.utf8.count == digits, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(text)
    }

    private static func format(_ year: Int, _ month: Int, _ day: Int) -> String {
        pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
