import ArgumentParser
import CoopFormats
import CoopProto
import Foundation

// Enum options by their short names ("at_least"). Declare them optional and name the default in the help:
// ArgumentParser would show a default by its number ("default: 1").

extension Coop_V1_EventKind: ExpressibleByArgument {
    public init?(argument: String) { self.init(shortName: argument) }
    public static var allValueStrings: [String] { shortNames }
}

extension Coop_V1_EventStatus: ExpressibleByArgument {
    public init?(argument: String) { self.init(shortName: argument) }
    public static var allValueStrings: [String] { shortNames }
}

extension Coop_V1_AgreementKind: ExpressibleByArgument {
    public init?(argument: String) { self.init(shortName: argument) }
    public static var allValueStrings: [String] { shortNames }
}

extension Coop_V1_SourceKind: ExpressibleByArgument {
    public init?(argument: String) { self.init(shortName: argument) }
    public static var allValueStrings: [String] { shortNames }
}

extension Coop_V1_Measure: ExpressibleByArgument {
    public init?(argument: String) { self.init(shortName: argument) }
    public static var allValueStrings: [String] { shortNames }
}

extension Coop_V1_PeriodBasis: ExpressibleByArgument {
    public init?(argument: String) { self.init(shortName: argument) }
    public static var allValueStrings: [String] { shortNames }
}

extension Coop_V1_Qualifier: ExpressibleByArgument {
    public init?(argument: String) { self.init(shortName: argument) }
    public static var allValueStrings: [String] { shortNames }
}

extension Coop_V1_ObservationStatus: ExpressibleByArgument {
    public init?(argument: String) { self.init(shortName: argument) }
    public static var allValueStrings: [String] { shortNames }
}

/// Validates a date option: "2023", "2023-06" or "2023-06-30".
func checkDate(_ value: String?, _ option: String) throws {
    if let value, !value.isEmpty, !PartialDate.isValid(value) {
        throw ValidationError("\(option): \"\(value)\" is not a date (YYYY, YYYY-MM or YYYY-MM-DD)")
    }
}

/// A command filtered by a range of dates, `--since` and `--until`, each checked as a date.
protocol DateRangeOptions: ParsableArguments {
    var since: String? { get }
    var until: String? { get }
}

extension DateRangeOptions {
    func validate() throws {
        try checkDate(since, "--since")
        try checkDate(until, "--until")
    }
}

/// Upper-cases a country option ("vn" → "VN").
func countryCode(_ value: String?) -> String {
    guard let value else { return "" }
    return value == "_t" ? "_T" : value.uppercased()
}
