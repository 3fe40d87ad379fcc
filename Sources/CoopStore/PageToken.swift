import Foundation

/// Opaque keyset page tokens: the sort key of the last item of a page, tagged with the listing it belongs
/// to, as base64url JSON. Passing one back continues strictly after that key, so pages stay stable while rows
/// are added. Anything that does not decode to a key of the right listing and shape is INVALID_ARGUMENT
/// on "page_token".
package struct PageToken {
    package enum Value: Decodable, Hashable {
        case text(String)
        case integer(Int64)

        package init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let integer = try? container.decode(Int64.self) {
                self = .integer(integer)
            } else {
                self = .text(try container.decode(String.self))
            }
        }
    }

    /// What `encode` writes, as `decode` reads it back.
    private struct Payload: Decodable {
        var l: String
        var k: [Value]
    }

    /// Written by hand (every listing page ends in one; JSONEncoder and Foundation's base64 were a tenth of a
    /// page's cost). `decode` reads it back with JSONDecoder.
    static func encode(listing: String, key: [Value]) -> String {
        var json = JSONText()
        json.raw(#"{"l":"#)
        json.string(listing)
        json.raw(#","k":"#)
        json.array(key) { json, value in
            switch value {
            case .text(let text): json.string(text)
            case .integer(let integer): json.integer(integer)
            }
        }
        json.raw("}")
        return base64URL(json.bytes)
    }

    /// RFC 4648 base64url, without padding.
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    private static func base64URL(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= bytes.count {
            let n = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            index += 3
        }
        let rest = bytes.count - index
        if rest > 0 {
            var n = UInt32(bytes[index]) << 16
            if rest == 2 { n |= UInt32(bytes[index + 1]) << 8 }
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)]]
            if rest == 2 { out.append(alphabet[Int(n >> 6 & 63)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The key in `token`, which must come from `listing` and match `shape` (true = text, false = integer);
    /// nil for the empty token (first page).
    package static func decode(_ token: String, listing: String, shape: [Bool]) throws -> [Value]? {
        guard !token.isEmpty else { return nil }
        let invalid = StoreError.invalid("page_token", "malformed page token")
        guard token.utf8.count <= 4096 else { throw invalid }
        guard let bytes = fromBase64URL(token),
            let key = CanonicalPayload.key(bytes, listing: listing) ?? decodedKey(bytes, listing: listing),
            key.count == shape.count
        else { throw invalid }
        for (value, isText) in zip(key, shape) {
            switch value {
            case .text where isText, .integer where !isText: continue
            default: throw invalid
            }
        }
        return key
    }

    /// The key of a payload in any JSON form (one written by another encoder), if its listing is `listing`.
    private static func decodedKey(_ bytes: [UInt8], listing: String) -> [Value]? {
        guard let payload = try? JSONDecoder().decode(Payload.self, from: Data(bytes)), payload.l == listing else {
            return nil
        }
        return payload.k
    }

    private static let alphabetValues: [UInt8] = {
        var values = [UInt8](repeating: 0xFF, count: 256)
        for (value, byte) in alphabet.enumerated() { values[Int(byte)] = UInt8(value) }
        return values
    }()

    /// RFC 4648 base64url (padding optional); nil for anything else.
    static func fromBase64URL(_ token: String) -> [UInt8]? {
        var text = Array(token.utf8)
        var padding = 0
        while text.last == UInt8(ascii: "="), padding < 2 {
            text.removeLast()
            padding += 1
        }
        guard text.count % 4 != 1, padding == 0 || (text.count + padding) % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count * 3 / 4)
        var n: UInt32 = 0
        var bits = 0
        for byte in text {
            let value = alphabetValues[Int(byte)]
            guard value != 0xFF else { return nil }
            n = n << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: n >> UInt32(bits)))
            }
        }
        // Bits left over must be zero, as an encoder writes them.
        guard n & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
        return out
    }
}

/// Reads the payload exactly as `PageToken.encode` writes it, without a JSON decoder (the follow-up page of a
/// listing paid more for its token than for its query); nil for any other form, which the JSON decoder then reads.
private struct CanonicalPayload {
    private let bytes: [UInt8]
    private var at = 0

    static func key(_ bytes: [UInt8], listing: String) -> [PageToken.Value]? {
        var payload = CanonicalPayload(bytes: bytes)
        guard payload.literal(#"{"l":"#), payload.string() == listing, payload.literal(#","k":["#) else { return nil }
        var key: [PageToken.Value] = []
        if !payload.literal("]") {
            repeat {
                if payload.peek == UInt8(ascii: "\"") {
                    guard let text = payload.string() else { return nil }
                    key.append(.text(text))
                } else {
                    guard let integer = payload.integer() else { return nil }
                    key.append(.integer(integer))
                }
            } while payload.literal(",")
            guard payload.literal("]") else { return nil }
        }
        guard payload.literal("}"), payload.at == bytes.count else { return nil }
        return key
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private var peek: UInt8? { at < bytes.count ? bytes[at] : nil }

    private mutating func literal(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard bytes.count - at >= count else { return false }
        let matches = text.withUTF8Buffer { expected in
            expected.indices.allSatisfy { bytes[at + $0] == expected[$0] }
        }
        if matches { at += count }
        return matches
    }

    private mutating func string() -> String? {
        guard peek == UInt8(ascii: "\"") else { return nil }
        at += 1
        var text: [UInt8] = []
        while let byte = peek {
            at += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(validating: text, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let escaped = peek else { return nil }
                at += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(escaped)
                case UInt8(ascii: "b"): text.append(0x08)
                case UInt8(ascii: "f"): text.append(0x0C)
                case UInt8(ascii: "n"): text.append(0x0A)
                case UInt8(ascii: "r"): text.append(0x0D)
                case UInt8(ascii: "t"): text.append(0x09)
                case UInt8(ascii: "u"):
                    // Only what the encoder writes (control characters); the JSON decoder reads the rest.
                    guard bytes.count - at >= 4, bytes[at..<at + 4].allSatisfy(Self.isHexDigit),
                        let code = UInt8(String(decoding: bytes[at..<at + 4], as: UTF8.self), radix: 16), code < 0x80
                    else { return nil }
                    text.append(code)
                    at += 4
                default: return nil
                }
            case 0..<0x20:
                return nil
            default:
                text.append(byte)
            }
        }
        return nil
    }

    private mutating func integer() -> Int64? {
        let start = at
        if peek == UInt8(ascii: "-") { at += 1 }
        let digits = at
        while let byte = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { at += 1 }
        // JSON's integers: digits, no leading zero (what JSONDecoder refuses, this refuses too).
        guard at > digits, bytes[digits] != UInt8(ascii: "0") || at == digits + 1 else { return nil }
        return Int64(String(decoding: bytes[start..<at], as: UTF8.self))
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }
}

extension PageRequest {
    public static let defaultSize = 100
    public static let maximumSize = 1000

    /// The page size to use: the default for 0, at most the maximum; negative sizes are invalid.
    package func resolvedSize() throws -> Int {
        guard size >= 0 else { throw StoreError.invalid("page_size", "must not be negative") }
        return size == 0 ? Self.defaultSize : min(size, Self.maximumSize)
    }
}
