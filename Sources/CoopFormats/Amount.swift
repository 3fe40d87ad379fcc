import Foundation

/// Amounts as `value × 10^multiplier`, the figures file's value and unit columns and a table's value column.
/// Exact decimal arithmetic (no floating point: the CSV round-trips exactly).
public enum Amount {
    /// "2600000000000" for 26 × 10^11; "0" for 0.
    public static func digits(_ value: Int64, multiplier: Int32) -> String {
        if value == 0 { return "0" }
        let sign = value < 0 ? "-" : ""
        return sign + String(value.magnitude) + String(repeating: "0", count: Int(max(0, multiplier)))
    }

    /// 26 × 10^11 at scale 12 → "2.6"; 110013 at scale 0 → "110013".
    public static func scaled(_ value: Int64, multiplier: Int32, scale: Int32) -> String {
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

    public static let scaleWords: [(word: String, exponent: Int32)] = [
        ("trillion", 12), ("billion", 9), ("million", 6), ("thousand", 3),
    ]

    /// The power of ten of the leading digit: 26 × 10^11 → 12.
    public static func magnitude(_ value: Int64, multiplier: Int32) -> Int32 {
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
    public static func parse(_ value: String, unit: String) throws(FormatError) -> (
        value: Int64, multiplier: Int32, unit: String
    ) {
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
            throw FormatError("value \"\(value)\" is negative: figures are counts and amounts, 0 or more")
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) }),
            parts.allSatisfy({ $0.allSatisfy(\.isNumber) })
        else {
            throw FormatError("value \"\(value)\" is not a number")
        }
        var integerDigits = String(parts[0])
        var fraction = parts.count == 2 ? String(parts[1]) : ""
        while fraction.hasSuffix("0") { fraction.removeLast() }
        integerDigits += fraction
        var multiplier = exponent - Int32(fraction.count)
        guard multiplier >= 0 else {
            throw FormatError("value \"\(value)\" has more decimals than its unit's scale allows")
        }
        // Keep the mantissa small: 300 billion stays 300 × 10^9, but 1000 × 10^0 stays 1000 (no change of scale).
        while integerDigits.count > 1 && integerDigits.hasPrefix("0") { integerDigits.removeFirst() }
        guard let mantissa = Int64(integerDigits) else {
            throw FormatError("value \"\(value)\" is too large")
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

    public static func grouped(_ digits: String) -> String {
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
    public static func double(_ value: Int64, multiplier: Int32) -> Double {
        Double(value) * pow(10, Double(multiplier))
    }

    /// Two amounts on the same multiplier, the smaller one: the bounds of a range "1000-1200".
    public static func aligned(
        _ a: Int64, _ ma: Int32, _ b: Int64, _ mb: Int32
    ) throws(FormatError) -> (Int64, Int64, Int32) {
        let m = min(ma, mb)
        func scale(_ v: Int64, _ by: Int32) throws(FormatError) -> Int64 {
            var result = v
            for _ in 0..<by {
                let (next, overflow) = result.multipliedReportingOverflow(by: 10)
                if overflow { throw FormatError("value too large") }
                result = next
            }
            return result
        }
        return (try scale(a, ma - m), try scale(b, mb - m), m)
    }
}
