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
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        guard let data = Data(base64Encoded: base64),
            let payload = try? JSONDecoder().decode(Payload.self, from: data),
            payload.l == listing, payload.k.count == shape.count
        else { throw invalid }
        for (value, isText) in zip(payload.k, shape) {
            switch value {
            case .text where isText, .integer where !isText: continue
            default: throw invalid
            }
        }
        return payload.k
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
