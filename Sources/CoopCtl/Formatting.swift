import CoopFormats
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
    /// "k=v;k2=v2", sorted by key, as the figures file writes it.
    public static func canonical(_ dimensions: [Coop_V1_Dimension]) -> String {
        FiguresRow.Dimension.text(dimensions.map { FiguresRow.Dimension(key: $0.key, value: $0.value) })
    }

    /// Parses "k=v" (as given to --breakdown).
    static func parse(_ text: String) throws -> Coop_V1_Dimension {
        guard let dimension = FiguresRow.Dimension(text) else {
            throw CtlError(.usage, "--breakdown expects KEY=VALUE (e.g. status_of_residence=TITP), got \"\(text)\"")
        }
        return .with {
            $0.key = dimension.key
            $0.value = dimension.value
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
            if s.day == 1 && e.day == PartialDate.daysIn(month: e.month, year: e.year) {
                return String(format: "%04d-%02d/%04d-%02d", s.year, s.month, e.year, e.month)
            }
        }
        return "\(start)/\(end)"
    }

    /// Whether the days `date` covers meet the range from `since` to `until` (either may be empty: unbounded),
    /// as coopd matches event dates.
    static func overlaps(_ date: String, since: String, until: String) -> Bool {
        (since.isEmpty || PartialDate.lastDay(of: date) >= PartialDate.firstDay(of: since))
            && (until.isEmpty || PartialDate.firstDay(of: date) <= PartialDate.lastDay(of: until))
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
        guard let date = PartialDate(text), let month = date.month, let day = date.day else { return nil }
        self.init(year: date.year, month: month, day: day)
    }

    var monthIndex: Int { year * 12 + (month - 1) }
    var isMonthEnd: Bool { day == PartialDate.daysIn(month: month, year: year) }

    /// The same day `months` later; a month end stays a month end.
    func adding(months: Int) -> Day {
        let index = monthIndex + months
        let y = index / 12
        let m = index % 12 + 1
        let last = PartialDate.daysIn(month: m, year: y)
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
