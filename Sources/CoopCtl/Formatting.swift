import CoopProto
import Foundation
import SwiftProtobuf

// MARK: Enum names

/// Protobuf enums by their short snake_case names: `Coop_V1_Qualifier.atLeast` is "at_least", as in the CSV.
protocol ShortNamedEnum: SwiftProtobuf.Enum, CaseIterable {}

extension ShortNamedEnum {
    /// "at_least"; "" for the unspecified value; the number for a value this coopctl does not know.
    var shortName: String {
        guard rawValue != 0 else { return "" }
        guard Self.allCases.contains(self) else { return String(rawValue) }
        return Self.snakeCase(String(describing: self))
    }

    static func snakeCase(_ camel: String) -> String {
        var result = ""
        for character in camel {
            if character.isUppercase {
                result += "_" + character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// Every name but the unspecified one.
    static var shortNames: [String] { allCases.filter { $0.rawValue != 0 }.map(\.shortName) }

    init?(shortName: String) {
        let wanted = shortName.lowercased().replacingOccurrences(of: "-", with: "_")
        guard let match = Self.allCases.first(where: { $0.rawValue != 0 && $0.shortName == wanted }) else {
            return nil
        }
        self = match
    }
}

extension Coop_V1_SourceKind: ShortNamedEnum {}
extension Coop_V1_Measure: ShortNamedEnum {}
extension Coop_V1_PeriodBasis: ShortNamedEnum {}
extension Coop_V1_Qualifier: ShortNamedEnum {}
extension Coop_V1_ObservationStatus: ShortNamedEnum {}
extension Coop_V1_EventKind: ShortNamedEnum {}
extension Coop_V1_EventStatus: ShortNamedEnum {}
extension Coop_V1_AgreementKind: ShortNamedEnum {}
extension Coop_V1_ChangeOperation: ShortNamedEnum {}

// MARK: Amounts

/// Exact decimal arithmetic on `value × 10^multiplier` (no floating point: the CSV round-trips exactly).
public enum Amount {
    /// "2600000000000" for 26 × 10^11; "0" for 0.
    public static func digits(_ value: Int64, multiplier: Int32) -> String {
        if value == 0 { return "0" }
        let sign = value < 0 ? "-" : ""
        return sign + String(value.magnitude) + String(repeating: "0", count: Int(max(0, multiplier)))
    }

    /// 26 × 10^11 at scale 12 → "2.6"; 110013 at scale 0 → "110013".
    static func scaled(_ value: Int64, multiplier: Int32, scale: Int32) -> String {
        let digits = String(value.magnitude) + String(repeating: "0", count: Int(max(0, multiplier)))
        let sign = value < 0 ? "-" : ""
        guard scale > 0 else { return sign + digits }
        let padded = digits.count <= Int(scale) ? String(repeating: "0", count: Int(scale) - digits.count + 1) + digits : digits
        let split = padded.index(padded.endIndex, offsetBy: -Int(scale))
        var integer = String(padded[..<split])
        var fraction = String(padded[split...])
        while fraction.hasSuffix("0") { fraction.removeLast() }
        if integer.isEmpty { integer = "0" }
        return sign + integer + (fraction.isEmpty ? "" : "." + fraction)
    }

    static let scaleWords: [(word: String, exponent: Int32)] = [
        ("trillion", 12), ("billion", 9), ("million", 6), ("thousand", 3),
    ]

    /// The power of ten of the leading digit: 26 × 10^11 → 12.
    static func magnitude(_ value: Int64, multiplier: Int32) -> Int32 {
        Int32(String(value.magnitude).count) - 1 + multiplier
    }

    /// The CSV's value and unit columns: "110013", "persons"; "2.6", "trillion JPY"; "300", "billion JPY".
    /// A value without multiplier is written as it is; one with a multiplier in the largest scale word it reaches.
    public static func csvColumns(value: Int64, multiplier: Int32, unit: String) -> (value: String, unit: String) {
        if multiplier > 0 && value != 0 {
            let size = magnitude(value, multiplier: multiplier)
            for (word, exponent) in scaleWords where size >= exponent {
                return (scaled(value, multiplier: multiplier, scale: exponent), unit.isEmpty ? word : "\(word) \(unit)")
            }
        }
        return (digits(value, multiplier: multiplier), unit)
    }

    /// Parses the CSV's value and unit: "2.6" "trillion JPY" → 26 × 10^11 "JPY"; "110,013" "persons" → 110013.
    public static func parse(_ value: String, unit: String) throws -> (value: Int64, multiplier: Int32, unit: String) {
        var exponent: Int32 = 0
        var baseUnit = unit.trimmingCharacters(in: .whitespaces)
        for (word, scale) in scaleWords {
            if baseUnit == word {
                exponent = scale
                baseUnit = ""
                break
            }
            if baseUnit.hasPrefix(word + " ") {
                exponent = scale
                baseUnit = String(baseUnit.dropFirst(word.count + 1)).trimmingCharacters(in: .whitespaces)
                break
            }
        }
        let text = value.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ",", with: "")
            .replacingOccurrences(of: "_", with: "")
        if text.hasPrefix("-") {
            throw CtlError.invalidInput("value \"\(value)\" is negative: figures are counts and amounts, 0 or more")
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) }),
            parts.allSatisfy({ $0.allSatisfy(\.isNumber) })
        else {
            throw CtlError.invalidInput("value \"\(value)\" is not a number")
        }
        var integerDigits = String(parts[0])
        var fraction = parts.count == 2 ? String(parts[1]) : ""
        while fraction.hasSuffix("0") { fraction.removeLast() }
        integerDigits += fraction
        var multiplier = exponent - Int32(fraction.count)
        guard multiplier >= 0 else {
            throw CtlError.invalidInput("value \"\(value)\" has more decimals than its unit's scale allows")
        }
        // Keep the mantissa small: 300 billion stays 300 × 10^9, but 1000 × 10^0 stays 1000 (no change of scale).
        while integerDigits.count > 1 && integerDigits.hasPrefix("0") { integerDigits.removeFirst() }
        guard let mantissa = Int64(integerDigits) else {
            throw CtlError.invalidInput("value \"\(value)\" is too large")
        }
        if mantissa == 0 { multiplier = 0 }
        return (mantissa, multiplier, baseUnit)
    }

    /// The value for a table: thousands separated, large money in words ("2.6 trillion").
    public static func display(_ value: Int64, multiplier: Int32) -> String {
        if multiplier > 0 && value != 0 {
            let size = magnitude(value, multiplier: multiplier)
            for (word, exponent) in scaleWords where exponent >= 6 && size >= exponent {
                return "\(scaled(value, multiplier: multiplier, scale: exponent)) \(word)"
            }
        }
        return grouped(digits(value, multiplier: multiplier))
    }

    static func grouped(_ digits: String) -> String {
        var sign = ""
        var body = Substring(digits)
        if body.hasPrefix("-") {
            sign = "-"
            body = body.dropFirst()
        }
        var groups: [Substring] = []
        var end = body.endIndex
        while end > body.startIndex {
            let start = body.index(end, offsetBy: -3, limitedBy: body.startIndex) ?? body.startIndex
            groups.insert(body[start..<end], at: 0)
            end = start
        }
        return sign + groups.joined(separator: ",")
    }

    /// value × 10^multiplier as a Double, for scaling chart bars.
    static func double(_ value: Int64, multiplier: Int32) -> Double {
        Double(value) * pow(10, Double(multiplier))
    }
}

// MARK: Observations

extension Coop_V1_Observation {
    /// "110,013", "≈600,000", "≥142,000", "1,000–1,200", "2.6 trillion".
    var displayValue: String {
        var text = Amount.display(value, multiplier: unitMultiplier)
        if valueHigh > value {
            text += "–" + Amount.display(valueHigh, multiplier: unitMultiplier)
        }
        switch qualifier {
        case .approx: return "≈" + text
        case .atLeast: return "≥" + text
        case .atMost: return "≤" + text
        default: return text
        }
    }

    /// "JP_MHLW_FOREIGN_WORKERS_BY_STATUS[status_of_residence=TITP]".
    var indicatorLabel: String {
        breakdown.isEmpty ? indicator : "\(indicator)[\(Breakdown.canonical(breakdown))]"
    }

    var pairLabel: String { "\(origin)→\(destination)" }

    var periodLabel: String { Period.label(start: periodStart, end: periodEnd) }

    /// What else is true of this observation: "superseded by 12", "revises 8", "conflicts 3,4", "retracted".
    var flagsLabel: String {
        var flags: [String] = []
        if retracted { flags.append("retracted" + (retractionReason.isEmpty ? "" : ": \(retractionReason)")) }
        if status != .normal && status != .unspecified { flags.append(status.shortName) }
        if supersedesID != 0 { flags.append("revises \(supersedesID)") }
        if supersededByID != 0 { flags.append("superseded by \(supersededByID)") }
        if !conflictsWith.isEmpty { flags.append("conflicts " + conflictsWith.map(String.init).joined(separator: ",")) }
        return flags.joined(separator: "; ")
    }
}

public enum Breakdown {
    /// "k=v;k2=v2", sorted by key.
    public static func canonical(_ dimensions: [Coop_V1_Dimension]) -> String {
        dimensions.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ";")
    }

    /// Parses "k=v" (as given to --breakdown).
    static func parse(_ text: String) throws -> Coop_V1_Dimension {
        let parts = text.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw CtlError(.usage, "--breakdown expects KEY=VALUE (e.g. status_of_residence=TITP), got \"\(text)\"")
        }
        return .with {
            $0.key = parts[0]
            $0.value = parts[1]
        }
    }
}

// MARK: Periods and dates

public enum Period {
    /// A short label: "2015-10-31" for a stock, "2019" for a calendar year, "FY2021" for a Japanese fiscal year,
    /// "2022-01/2022-06" for whole months, else "start/end".
    public static func label(start: String, end: String) -> String {
        if start == end || end.isEmpty { return start }
        if start.isEmpty { return "…/\(end)" }
        if let s = Day(start), let e = Day(end) {
            if s.month == 1 && s.day == 1 && e.month == 12 && e.day == 31 {
                return s.year == e.year ? String(s.year) : "\(s.year)–\(e.year)"
            }
            if s.month == 4 && s.day == 1 && e.month == 3 && e.day == 31 && e.year == s.year + 1 {
                return "FY\(s.year)"
            }
            if s.day == 1 && e.day == Day.daysIn(year: e.year, month: e.month) {
                return String(format: "%04d-%02d/%04d-%02d", s.year, s.month, e.year, e.month)
            }
        }
        return "\(start)/\(end)"
    }

    /// The first day a partial date covers: "2019" → "2019-01-01", "2023-01" → "2023-01-01".
    public static func firstDay(_ date: String) -> String {
        switch date.count {
        case 4: return date + "-01-01"
        case 7: return date + "-01"
        default: return date
        }
    }

    /// The last day a partial date covers: "2019" → "2019-12-31", "2024-02" → "2024-02-29".
    public static func lastDay(_ date: String) -> String {
        let parts = date.split(separator: "-").compactMap { Int($0) }
        switch parts.count {
        case 1: return date + "-12-31"
        case 2: return date + String(format: "-%02d", Day.daysIn(year: parts[0], month: parts[1]))
        default: return date
        }
    }

    /// Whether the days `date` covers meet the range from `since` to `until` (either may be empty: unbounded),
    /// as coopd matches event dates.
    static func overlaps(_ date: String, since: String, until: String) -> Bool {
        (since.isEmpty || lastDay(date) >= firstDay(since)) && (until.isEmpty || firstDay(date) <= lastDay(until))
    }

    /// "2015", "2015-10", "2015-10-31": a date that exists.
    public static func isValid(_ date: String) -> Bool {
        let parts = date.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count), parts[0].count == 4, let year = Int(parts[0]) else { return false }
        if parts.count >= 2 {
            guard parts[1].count == 2, let month = Int(parts[1]), (1...12).contains(month) else { return false }
            if parts.count == 3 {
                guard parts[2].count == 2, let day = Int(parts[2]),
                    (1...Day.daysIn(year: year, month: month)).contains(day)
                else { return false }
            }
        }
        return year >= 1
    }
}

/// A calendar day, for period labels and gaps in a series.
struct Day: Comparable, Hashable {
    var year: Int
    var month: Int
    var day: Int

    init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// A full date "YYYY-MM-DD"; partial dates are nil.
    init?(_ text: String) {
        let parts = text.split(separator: "-")
        guard parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]) else { return nil }
        self.init(year: y, month: m, day: d)
    }

    static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    var monthIndex: Int { year * 12 + (month - 1) }
    var isMonthEnd: Bool { day == Day.daysIn(year: year, month: month) }

    /// The same day `months` later; a month end stays a month end.
    func adding(months: Int) -> Day {
        let index = monthIndex + months
        let y = index / 12
        let m = index % 12 + 1
        let last = Day.daysIn(year: y, month: m)
        return Day(year: y, month: m, day: isMonthEnd ? last : min(day, last))
    }

    var text: String { String(format: "%04d-%02d-%02d", year, month, day) }

    static func < (a: Day, b: Day) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }
}

// MARK: Misc

extension Coop_V1_Event {
    /// The date it was held, else "planned DATE"; an event held on another date than planned shows both:
    /// "2023-07-06 (planned 2022-07)".
    var dateLabel: String { dateLabel(since: "", until: "") }

    /// As `dateLabel`, but an event found by `events --since/--until` only through its planned date leads with
    /// that date, "planned 2022-07 (held 2023-07-06)", so that the row shows why it is listed.
    func dateLabel(since: String, until: String) -> String {
        let planned = "planned \(plannedDate)"
        guard !actualDate.isEmpty else { return planned }
        guard !plannedDate.isEmpty, plannedDate != actualDate else { return actualDate }
        let heldInRange = Period.overlaps(actualDate, since: since, until: until)
        if !heldInRange && Period.overlaps(plannedDate, since: since, until: until) {
            return "\(planned) (held \(actualDate))"
        }
        return "\(actualDate) (\(planned))"
    }
}

extension Coop_V1_Participant {
    var label: String {
        var text = name
        if !nativeName.isEmpty && nativeName != name { text += " (\(nativeName))" }
        if !country.isEmpty { text += " [\(country)]" }
        return text
    }
}
