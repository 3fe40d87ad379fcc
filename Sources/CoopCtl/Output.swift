import ArgumentParser
import CoopFormats
import CoopProto
import Foundation
import SwiftProtobuf

public enum OutputFormat: Sendable {
    case table, json, csv
}

/// `--json` / `--csv`, shared by every command that prints data.
public struct OutputOptions: ParsableArguments {
    @Flag(help: "Print one JSON document (JSON lines for streams) instead of a table.")
    var json = false

    @Flag(help: "Print CSV (a header line, then one line per row, full values) instead of a table.")
    var csv = false

    public init() {}

    public mutating func validate() throws {
        if json && csv { throw ValidationError("--json and --csv cannot be used together") }
    }

    var format: OutputFormat { json ? .json : csv ? .csv : .table }
}

/// JSON in the canonical protobuf mapping, with the .proto's field names (`period_start`), enums by name
/// (`QUALIFIER_APPROX`), 64-bit integers as numbers, and fields at their default (0, "", false, empty)
/// left out. Top-level lists are always present.
public enum JSONOutput {
    static let options: JSONEncodingOptions = {
        var o = JSONEncodingOptions()
        o.preserveProtoFieldNames = true
        o.alwaysPrintInt64sAsNumbers = true
        o.useDeterministicOrdering = true
        return o
    }()

    static let decodingOptions: JSONDecodingOptions = {
        var o = JSONDecodingOptions()
        o.ignoreUnknownFields = true
        return o
    }()

    public static func message(_ message: some SwiftProtobuf.Message) throws -> String {
        try message.jsonString(options: options)
    }

    public static func array(_ messages: [some SwiftProtobuf.Message]) throws -> String {
        "[" + (try messages.map { try message($0) }).joined(separator: ",") + "]"
    }

    /// `{"key": [...], ...}` with the lists in the order given.
    public static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(quote($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }

    public static func quote(_ text: String) -> String {
        let data = try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])
        let wrapped = data.map { String(decoding: $0, as: UTF8.self) } ?? "[\"\"]"
        return String(wrapped.dropFirst().dropLast())
    }

    /// A plain value (numbers, strings, arrays, dictionaries) as compact JSON with sorted keys.
    public static func value(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Prints a table, CSV or JSON according to the options.
struct Printer {
    var format: OutputFormat
    var width: Int? = Terminal.width()

    func table(_ table: Table) {
        Console.out(table.render(width: width))
    }

    func csv(header: [String], rows: [[String]]) {
        Console.out(Self.csvText(header: header, rows: rows))
    }

    /// A header line, then a line per row (no newline after the last).
    static func csvText(header: [String], rows: [[String]]) -> String {
        ([header] + rows).map(CSV.line).joined(separator: "\n")
    }

    func json(_ text: String) {
        Console.out(text)
    }
}
