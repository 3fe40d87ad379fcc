import Foundation
import Testing

@testable import CoopStore

/// Page tokens read back exactly what was written, in the form coopd writes them and in any other JSON form of
/// the same payload; anything else is refused as a malformed page token.
@Suite struct PageTokenTests {
    private static func base64URL(_ json: String) -> String {
        Data(json.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    @Test func keysComeBackAsWritten() throws {
        let keys: [[PageToken.Value]] = [
            [.text("SYN_01"), .text("VN"), .text("JP"), .text(""), .text("2024-01-01"), .integer(0)],
            [.text(#"quote " backslash \ slash /"#), .integer(-1)],
            [.text("tab\tnewline\nreturn\rbell\u{07}nul\u{00}"), .integer(Int64.max)],
            [.text("Hà Nội 日本 🇻🇳"), .integer(Int64.min)],
            [],
        ]
        for key in keys {
            let shape = key.map { if case .text = $0 { true } else { false } }
            let token = PageToken.encode(listing: "observations", key: key)
            #expect(try PageToken.decode(token, listing: "observations", shape: shape) == key)
            // Padded as standard base64 pads: the same key.
            let padded = token + String(repeating: "=", count: (4 - token.utf8.count % 4) % 4)
            #expect(try PageToken.decode(padded, listing: "observations", shape: shape) == key)
        }
    }

    @Test func otherJSONFormsOfThePayloadReadTheSame() throws {
        let expected: [PageToken.Value] = [.text("Hà Nội"), .integer(42)]
        for json in [
            #"{"k":["Hà Nội",42],"l":"events"}"#,
            #"{ "l" : "events", "k" : [ "H\u00e0 N\u1ed9i" , 42 ] }"#,
            #"{"l":"events","k":["H\u00e0 N\u1ED9i",42]}"#,
        ] {
            #expect(try PageToken.decode(Self.base64URL(json), listing: "events", shape: [true, false]) == expected, "\(json)")
        }
    }

    @Test func anythingElseIsAMalformedToken() throws {
        let good = PageToken.encode(listing: "events", key: [.text("2024"), .integer(7)])
        var bad = [
            good + "!", "a", good.dropLast() + "*", String(good.dropLast(2)), good + "===",
            Self.base64URL(#"{"l":"events","k":["2024",7]}x"#),
            Self.base64URL(#"{"l":"events","k":["2024",7.5]}"#),
            Self.base64URL(#"{"l":"events","k":["2024\q",7]}"#),
            Self.base64URL(#"{"l":"events","k":["2024","7"]}"#),
            Self.base64URL(#"{"l":"events","k":[7,"2024"]}"#),
            Self.base64URL(#"{"l":"events","k":["2024"]}"#),
            Self.base64URL(#"{"l":"figures","k":["2024",7]}"#),
            Self.base64URL(#"{"l":"events","k":["2024",99999999999999999999]}"#),
            Self.base64URL(#"{"l":"events","k":["2024",007]}"#),
            Self.base64URL(#"{"l":"events","k":["2024",-07]}"#),
            Self.base64URL(#"{"l":"events","k":["\u+07f",7]}"#),
            Self.base64URL(#"{"l":"events","k":["\u-000",7]}"#),
            Self.base64URL("[]"),
        ]
        // Bits past the last byte that an encoder leaves zero.
        bad.append(String(good.dropLast()) + (good.last == "A" ? "B" : "A"))
        for token in bad {
            let error = #expect(throws: StoreError.self, "\(token)") {
                try PageToken.decode(token, listing: "events", shape: [true, false])
            }
            #expect(error?.message.contains("malformed page token") == true)
        }
    }
}
