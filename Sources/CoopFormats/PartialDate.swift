/// An ISO 8601 calendar date, full or partial: "2022-06-29", "2022-06" or "2022".
///
/// Partial dates are compared through the first and last day they cover: a period "2022" starts on
/// 2022-01-01 and ends on 2022-12-31. Both are "YYYY-MM-DD" strings, which order like the dates. The one
/// reading of dates for coopd's store and for coopctl, so that both accept and cover the same days.
public struct PartialDate: Hashable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int?
    public let day: Int?

    /// Parses "YYYY", "YYYY-MM" or "YYYY-MM-DD" (years 1000–9999, real calendar days); nil otherwise.
    public init?(_ text: String) {
        var text = text
        guard let parsed = text.withUTF8({ Self.parse($0) }) else { return nil }
        (year, month, day) = parsed
    }

    // Byte by byte: every date of every write is parsed, and splitting into substrings cost more than the rest.
    private static func parse(_ b: UnsafeBufferPointer<UInt8>) -> (Int, Int?, Int?)? {
        func number(_ from: Int, _ count: Int) -> Int? {
            var value = 0
            for i in from..<(from + count) {
                guard b[i] >= 0x30 && b[i] <= 0x39 else { return nil }
                value = value * 10 + Int(b[i] - 0x30)
            }
            return value
        }
        guard b.count == 4 || b.count == 7 || b.count == 10 else { return nil }
        guard let year = number(0, 4), year >= 1000 else { return nil }
        if b.count == 4 { return (year, nil, nil) }
        guard b[4] == UInt8(ascii: "-"), let month = number(5, 2), (1...12).contains(month) else { return nil }
        if b.count == 7 { return (year, month, nil) }
        guard b[7] == UInt8(ascii: "-"), let day = number(8, 2), (1...daysIn(month: month, year: year)).contains(day)
        else { return nil }
        return (year, month, day)
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
    public static func firstDay(of text: String) -> String { PartialDate(text)?.firstDay ?? "" }
    /// `lastDay` of `text` if it is a date, else "".
    public static func lastDay(of text: String) -> String { PartialDate(text)?.lastDay ?? "" }

    /// Whether `text` is a full or partial date that exists.
    public static func isValid(_ text: String) -> Bool { PartialDate(text) != nil }

    /// The Gregorian rule: every fourth year, but not centuries, except every fourth century (2000, not 1900).
    public static func isLeapYear(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// The days from 1970-01-01 to a full date's day (negative before it); nil for a partial date.
    public var dayNumber: Int? {
        guard let month, let day else { return nil }
        // Howard Hinnant's days_from_civil: years counted from March, so the leap day ends a year.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The full date of day `number` since 1970-01-01 (see ``dayNumber``); nil before year 1000 or after 9999,
    /// where no stored date is.
    public init?(dayNumber number: Int) {
        let z = number + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        guard (1000...9999).contains(year) else { return nil }
        self.year = year
        self.month = month
        day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
    }

    /// "YYYY-MM-DD" (years here always have four digits).
    private static func format(_ year: Int, _ month: Int, _ day: Int) -> String {
        String(unsafeUninitializedCapacity: 10) { b in
            func put(_ value: Int, at index: Int, digits: Int) {
                var value = value
                for i in stride(from: index + digits - 1, through: index, by: -1) {
                    b[i] = UInt8(0x30 + value % 10)
                    value /= 10
                }
            }
            put(year, at: 0, digits: 4)
            b[4] = UInt8(ascii: "-")
            put(month, at: 5, digits: 2)
            b[7] = UInt8(ascii: "-")
            put(day, at: 8, digits: 2)
            return 10
        }
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
