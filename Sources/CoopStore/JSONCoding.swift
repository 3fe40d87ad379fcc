import Foundation

/// JSON as the store writes it (sorted keys, so equal values give equal text) and reads it back.
///
/// Observations are written by hand, in the same form JSONEncoder gives them: every write
/// stores an observation's JSON twice (change log and request result), and JSONEncoder was the largest
/// single cost of a write. Everything is read back with JSONDecoder.
enum JSONCoding {
    static func encode<Value: Encodable>(_ value: Value) throws -> String {
        if let observation = value as? Observation {
            return encode(observation)
        }
        if let observations = value as? [Observation] {
            var json = JSONText()
            json.array(observations) { json, o in json.observation(o) }
            return json.string
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func encode(_ observation: Observation) -> String {
        var json = JSONText()
        json.observation(observation)
        return json.string
    }

    static func decode<Value: Decodable>(_ type: Value.Type, from text: String) throws -> Value {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }
}

/// A JSON text being written, byte by byte.
struct JSONText {
    private(set) var bytes: [UInt8] = []
    private static let hex = Array("0123456789abcdef".utf8)

    init(capacity: Int = 512) {
        bytes.reserveCapacity(capacity)
    }

    var string: String { String(decoding: bytes, as: UTF8.self) }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw(#"\""#)
            case UInt8(ascii: "\\"): raw(#"\\"#)
            case 0x08: raw(#"\b"#)
            case 0x0C: raw(#"\f"#)
            case 0x0A: raw(#"\n"#)
            case 0x0D: raw(#"\r"#)
            case 0x09: raw(#"\t"#)
            case 0..<0x20:
                raw(#"\u00"#)
                bytes.append(Self.hex[Int(byte >> 4)])
                bytes.append(Self.hex[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func integer(_ value: some BinaryInteger) {
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func bool(_ value: Bool) {
        if value { raw("true") } else { raw("false") }
    }

    mutating func array<Element>(_ elements: [Element], _ element: (inout JSONText, Element) -> Void) {
        bytes.append(UInt8(ascii: "["))
        for (index, value) in elements.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            element(&self, value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    mutating func dimensions(_ dimensions: [Dimension]) {
        array(dimensions) { json, d in
            json.raw(#"{"key":"#)
            json.string(d.key)
            json.raw(#","value":"#)
            json.string(d.value)
            json.raw("}")
        }
    }

    /// Keys as Observation's Codable conformance names them, sorted.
    mutating func observation(_ o: Observation) {
        raw(#"{"breakdown":"#)
        dimensions(o.breakdown)
        raw(#","conflictsWith":"#)
        array(o.conflictsWith) { json, id in json.integer(id) }
        raw(#","destination":"#)
        string(o.destination)
        raw(#","id":"#)
        integer(o.id)
        raw(#","indicator":"#)
        string(o.indicator)
        raw(#","locator":"#)
        string(o.locator)
        raw(#","note":"#)
        string(o.note)
        raw(#","origin":"#)
        string(o.origin)
        raw(#","periodEnd":"#)
        string(o.periodEnd)
        raw(#","periodStart":"#)
        string(o.periodStart)
        raw(#","qualifier":"#)
        string(o.qualifier.rawValue)
        raw(#","recordedSequence":"#)
        integer(o.recordedSequence)
        raw(#","retracted":"#)
        bool(o.retracted)
        raw(#","retractionReason":"#)
        string(o.retractionReason)
        raw(#","sourceID":"#)
        integer(o.sourceID)
        raw(#","status":"#)
        string(o.status.rawValue)
        raw(#","supersededByID":"#)
        integer(o.supersededByID)
        raw(#","supersedesID":"#)
        integer(o.supersedesID)
        raw(#","unit":"#)
        string(o.unit)
        raw(#","unitMultiplier":"#)
        integer(o.unitMultiplier)
        raw(#","value":"#)
        integer(o.value)
        raw(#","valueHigh":"#)
        integer(o.valueHigh)
        raw(#","vintage":"#)
        string(o.vintage)
        raw("}")
    }
}
