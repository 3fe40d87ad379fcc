import CoopProto
import CoopTestSupport
import CoopWire
import Foundation
import NIOCore
import SwiftProtobuf
import Testing

private func serialized(_ response: Ttrpc_Response) throws -> ByteBuffer {
    ByteBuffer(bytes: try response.serializedBytes() as [UInt8])
}

@Suite struct ResponseEnvelopeTests {
    @Test func okWithPayloadDecodesToThePayloadAndNoError() throws {
        let response = Ttrpc_Response.with { $0.payload = Data(patternBytes(200)) }
        let decoded = try ResponseEnvelope(decoding: serialized(response))
        #expect(decoded.error == nil)
        #expect(readable(decoded.payload) == patternBytes(200))
        #expect(decoded == ResponseEnvelope(payload: ByteBuffer(bytes: patternBytes(200))))
    }

    @Test func emptyBytesAreOKWithAnEmptyPayload() throws {
        let decoded = try ResponseEnvelope(decoding: ByteBuffer())
        #expect(decoded.error == nil)
        #expect(decoded.payload.readableBytes == 0)
    }

    @Test func errorStatusDecodesToItsCodeAndMessage() throws {
        let response = Ttrpc_Response.with {
            $0.status = Ttrpc_Status.with {
                $0.code = 5
                $0.message = "no such thing"
            }
        }
        let decoded = try ResponseEnvelope(decoding: serialized(response))
        #expect(decoded.error == RPCError(.notFound, "no such thing"))
        #expect(decoded.payload.readableBytes == 0)
        #expect(decoded == ResponseEnvelope(error: RPCError(.notFound, "no such thing")))
    }

    @Test func codeZeroIsOKWhateverTheMessage() throws {
        let response = Ttrpc_Response.with {
            $0.status = Ttrpc_Status.with { $0.message = "all good" }
            $0.payload = Data([1, 2])
        }
        let decoded = try ResponseEnvelope(decoding: serialized(response))
        #expect(decoded.error == nil)
        #expect(readable(decoded.payload) == [1, 2])
    }

    @Test func emptyStatusIsOK() throws {
        let decoded = try ResponseEnvelope(decoding: ByteBuffer(bytes: [0x0A, 0x00, 0x12, 0x01, 0x07]))
        #expect(decoded == ResponseEnvelope(payload: ByteBuffer(bytes: [7])))
    }

    @Test(arguments: [Int32(-1), Int32.min, Int32.max, 17, 99])
    func codesOutsideTheDefinedRangeKeepTheirValue(code: Int32) throws {
        let response = Ttrpc_Response.with {
            $0.status = Ttrpc_Status.with {
                $0.code = code
                $0.message = "m"
            }
        }
        let decoded = try ResponseEnvelope(decoding: serialized(response))
        #expect(decoded.error == RPCError(StatusCode(rawValue: code), "m"))
    }

    @Test func statusDetailsAndUnknownFieldsAreSkipped() throws {
        let response = Ttrpc_Response.with {
            $0.status = Ttrpc_Status.with {
                $0.code = 3
                $0.message = "bad"
                $0.details = [
                    Ttrpc_Any.with {
                        $0.typeURL = "type.googleapis.com/google.rpc.BadRequest"
                        $0.value = Data([0x08, 0x01, 0x12, 0x00])
                    }
                ]
            }
        }
        var bytes: [UInt8] = try response.serializedBytes()
        bytes += [0x18, 0x2A, 0x25, 1, 2, 3, 4, 0x31, 1, 2, 3, 4, 5, 6, 7, 8, 0x3A, 0x02, 0x08, 0x07]  // fields 3…7
        let decoded = try ResponseEnvelope(decoding: ByteBuffer(bytes: bytes))
        #expect(decoded == ResponseEnvelope(error: RPCError(.invalidArgument, "bad")))
        #expect(decoded == ResponseEnvelope(try Ttrpc_Response(serializedBytes: bytes)))
    }

    @Test func statusFieldsOutOfOrderAndRepeatedMergeLikeProtobuf() throws {
        // status {message "a"}, payload, status {code 4}: protobuf merges the two status messages.
        let bytes: [UInt8] = [0x0A, 0x03, 0x12, 0x01, 0x61, 0x12, 0x01, 0x09, 0x0A, 0x02, 0x08, 0x04]
        let decoded = try ResponseEnvelope(decoding: ByteBuffer(bytes: bytes))
        let generated = try Ttrpc_Response(serializedBytes: bytes)
        #expect(generated.status.code == 4 && generated.status.message == "a")
        #expect(decoded.error == RPCError(.deadlineExceeded, "a"))
        #expect(decoded == ResponseEnvelope(generated))
    }

    @Test(arguments: [
        ([0x80], "truncated field tag"),
        ([0x0A], "truncated status"),
        ([0x0A, 0x02, 0x08], "truncated status"),
        ([0x0A, 0x01, 0x80], "truncated status tag"),
        ([0x0A, 0x01, 0x08], "truncated status code"),
        ([0x0A, 0x02, 0x12, 0x01], "truncated status message"),
        ([0x0A, 0x01, 0x00], "malformed status field"),
        ([0x0A, 0x01, 0x1B], "malformed status field"),
        ([0x12], "truncated payload"),
        ([0x12, 0x02, 0x00], "truncated payload"),
        ([0x00], "malformed field"),
        ([0x1B], "malformed field"),
        ([0x1E], "malformed field"),
        ([0x1D, 0x00], "malformed field"),
    ] as [([UInt8], String)])
    func malformedBytesThrowTheReason(bytes: [UInt8], reason: String) {
        #expect(throws: EnvelopeError(reason)) {
            try ResponseEnvelope(decoding: ByteBuffer(bytes: bytes))
        }
        #expect(throws: (any Error).self) { try Ttrpc_Response(serializedBytes: bytes) }
    }

    @Test func everyTruncationOfAValidResponseThrowsOrAgreesWithTheGeneratedDecoder() throws {
        let response = Ttrpc_Response.with {
            $0.status = Ttrpc_Status.with {
                $0.code = -7
                $0.message = String(repeating: "e", count: 130)
                $0.details = [Ttrpc_Any.with { $0.typeURL = "t"; $0.value = Data([1]) }]
            }
            $0.payload = Data(patternBytes(140))
        }
        let full: [UInt8] = try response.serializedBytes()
        var decodedPrefixes = 0
        for length in 0..<full.count {
            let prefix = Array(full.prefix(length))
            let ours = Result { () throws(EnvelopeError) in try ResponseEnvelope(decoding: ByteBuffer(bytes: prefix)) }
            let generated = Result { try Ttrpc_Response(serializedBytes: prefix) }
            switch (ours, generated) {
            case (.success(let envelope), .success(let message)):
                #expect(envelope == ResponseEnvelope(message), "prefix of \(length) bytes")
                decodedPrefixes += 1
            case (.failure, .failure):
                break
            default:
                Issue.record("prefix of \(length) bytes: ours \(ours), generated \(generated)")
            }
        }
        // Only the empty prefix and the one ending after the status are whole messages.
        #expect(decodedPrefixes == 2)
    }

    @Test func randomBytesNeverCrashAndAgreeWithTheGeneratedDecoderWhenBothAccept() {
        var rng = SplitMix64(seed: 0x7265_7370)
        let alphabet: [UInt8] = [0x0A, 0x12, 0x08, 0x1A, 0x00, 0x01, 0x02, 0x03, 0x05, 0x61, 0x80, 0xFF]
        var accepted = 0
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...40, using: &rng)
            let bytes = (0..<count).map { _ in
                Bool.random(using: &rng) ? alphabet.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
            }
            guard let envelope = try? ResponseEnvelope(decoding: ByteBuffer(bytes: bytes)) else { continue }
            accepted += 1
            if let message = try? Ttrpc_Response(serializedBytes: bytes) {
                #expect(envelope == ResponseEnvelope(message), "input \(bytes)")
            }
        }
        #expect(accepted > 100)
    }
}
