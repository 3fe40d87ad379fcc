import CoopProto
import CoopServer
import CoopTestSupport
import Foundation
import NIOCore
import SwiftProtobuf
import Testing

@testable import CoopDaemon

/// Echo answers with the request's own bytes when they are already the answer's encoding; any other request goes
/// through the decoder. Either way the answer is the one SwiftProtobuf would give.
@Suite struct EchoWireTests {
    /// What the decode-and-encode path answers, or nil where it refuses the request.
    static func decodedAnswer(_ payload: [UInt8]) -> [UInt8]? {
        guard let request = try? Coop_V1_EchoRequest(serializedBytes: payload) else { return nil }
        return try? Array(Coop_V1_EchoResponse.with { $0.data = request.data }.serializedBytes() as [UInt8])
    }

    /// Canonical encodings of data of every length class (lengths of one to three varint bytes, and empty).
    @Test(arguments: [0, 1, 2, 127, 128, 300, 16_383, 16_384, 70_000])
    func theAnswersOwnEncodingIsTakenAsIs(length: Int) throws {
        let data = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let encoded: [UInt8] = try Coop_V1_EchoRequest.with { $0.data = Data(data) }.serializedBytes()
        #expect(EchoWire.isCanonicalAnswer(ByteBuffer(bytes: encoded)))
        #expect(Self.decodedAnswer(encoded) == encoded)
    }

    /// Other forms of the same request, and malformed ones, are not: the decoder answers them (or refuses).
    @Test(arguments: [
        [0x0A, 0x00],  // empty data written out
        [0x0A, 0x81, 0x00, 0x61],  // length padded to two bytes
        [0x0A, 0x01, 0x61, 0x0A, 0x01, 0x62],  // the field twice
        [0x0A, 0x01, 0x61, 0x10, 0x05],  // an unknown field after it
        [0x10, 0x05, 0x0A, 0x01, 0x61],  // an unknown field before it
        [0x0A, 0x02, 0x61],  // truncated
        [0x0A, 0x01, 0x61, 0x62],  // a byte past the field
        [0x0A],  // tag only
        [0x0A, 0x80],  // length cut short
        [0x12, 0x01, 0x61],  // another field number
        [0x0B, 0x01, 0x61],  // another wire type
    ] as [[UInt8]])
    func otherFormsGoThroughTheDecoder(payload: [UInt8]) {
        #expect(!EchoWire.isCanonicalAnswer(ByteBuffer(bytes: payload)))
    }

    /// Whatever the bytes, a request taken as is was the answer SwiftProtobuf would give.
    @Test func randomRequestsTakenAsIsAreTheDecodersAnswer() {
        var random = SplitMix64(seed: 0xEC40)
        var taken = 0
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...8, using: &random)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            // Often a plausible start, so that the canonical branch is exercised.
            if !bytes.isEmpty && Bool.random(using: &random) { bytes[0] = 0x0A }
            if bytes.count > 1 && Bool.random(using: &random) { bytes[1] = UInt8(bytes.count - 2) }
            if EchoWire.isCanonicalAnswer(ByteBuffer(bytes: bytes)) {
                taken += 1
                #expect(Self.decodedAnswer(bytes) == bytes, "\(bytes)")
            }
        }
        #expect(taken > 1000)
    }
}
