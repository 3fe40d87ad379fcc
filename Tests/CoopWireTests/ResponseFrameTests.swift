import CoopProto
import CoopWire
import Foundation
import NIOCore
import SwiftProtobuf
import Testing

/// Named error cases for `writeResponseFrame(streamID:error:)`.
struct ErrorCase: Sendable, CustomTestStringConvertible {
    var name: String
    var error: RPCError
    var testDescription: String { name }
}

let responseErrorCases: [ErrorCase] =
    StatusCode.allDefined.dropFirst().map { ErrorCase(name: $0.name, error: RPCError($0, "failed: \($0.name)")) } + [
        ErrorCase(name: "empty message", error: RPCError(.unknown, "")),
        ErrorCase(name: "message needing a 2-byte length", error: RPCError(.internalError, String(repeating: "x", count: 300))),
        ErrorCase(name: "non-ASCII message", error: RPCError(.notFound, "nicht gefunden: Grüße 😀")),
        ErrorCase(name: "code -1", error: RPCError(StatusCode(rawValue: -1), "negative")),
        ErrorCase(name: "code Int32.min", error: RPCError(StatusCode(rawValue: .min), "min")),
        ErrorCase(name: "code Int32.max", error: RPCError(StatusCode(rawValue: .max), "max")),
        ErrorCase(name: "code 99", error: RPCError(StatusCode(rawValue: 99), "future")),
        ErrorCase(name: "code 0 with a message", error: RPCError(.ok, "odd but representable")),
        ErrorCase(name: "code 0, empty message", error: RPCError(.ok, "")),
    ]

@Suite struct ResponseFrameTests {
    @Test(arguments: [0, 1, 127, 128, 300, 16_384, 100_000])
    func okFrameCarriesThePayloadAndLeavesStatusOut(payloadSize: Int) throws {
        let payload = patternBytes(payloadSize, seed: 5)
        var out = ByteBuffer()
        out.writeResponseFrame(streamID: 0x0102_0305, payload: ByteBuffer(bytes: payload))
        let (header, body) = splitFrame(out)
        #expect(header == frameHeader(length: UInt32(body.count), streamID: 0x0102_0305, type: 0x02))

        let decoded = try Ttrpc_Response(serializedBytes: body)
        #expect(!decoded.hasStatus)
        #expect(decoded.payload == Data(payload))
        let expected: [UInt8] = try Ttrpc_Response.with { $0.payload = Data(payload) }.serializedBytes()
        #expect(body == expected)
    }

    @Test func okFrameWithAnEmptyPayloadIsAHeaderOnly() {
        var out = ByteBuffer()
        out.writeResponseFrame(streamID: 3, payload: ByteBuffer())
        #expect(readable(out) == [0, 0, 0, 0, 0, 0, 0, 3, 0x02, 0x00])
    }

    @Test func okFrameBytesAreExact() {
        var out = ByteBuffer()
        out.writeResponseFrame(streamID: 1, payload: ByteBuffer(bytes: [0xAB, 0xCD]))
        #expect(readable(out) == [0, 0, 0, 4, 0, 0, 0, 1, 0x02, 0x00, 0x12, 0x02, 0xAB, 0xCD])
    }

    @Test(arguments: responseErrorCases)
    func errorFrameCarriesTheStatusAndNoPayload(_ testCase: ErrorCase) throws {
        var out = ByteBuffer()
        out.writeResponseFrame(streamID: 0xFFFF_FFFF, error: testCase.error)
        let (header, body) = splitFrame(out)
        #expect(header == frameHeader(length: UInt32(body.count), streamID: 0xFFFF_FFFF, type: 0x02))

        let decoded = try Ttrpc_Response(serializedBytes: body)
        #expect(decoded.hasStatus)
        #expect(decoded.status.code == testCase.error.code.rawValue)
        #expect(decoded.status.message == testCase.error.message)
        #expect(decoded.status.details.isEmpty)
        #expect(decoded.payload.isEmpty)
        #expect(decoded.unknownFields.data.isEmpty)
        let expected: [UInt8] = try Ttrpc_Response.with {
            $0.status = Ttrpc_Status.with {
                $0.code = testCase.error.code.rawValue
                $0.message = testCase.error.message
            }
        }.serializedBytes()
        #expect(body == expected)
    }

    @Test(arguments: responseErrorCases.filter { $0.error.code != .ok })
    func errorFrameDecodesBackToTheSameError(_ testCase: ErrorCase) throws {
        var out = ByteBuffer()
        out.writeResponseFrame(streamID: 9, error: testCase.error)
        out.moveReaderIndex(forwardBy: FrameLimits.headerSize)
        #expect(try ResponseEnvelope(decoding: out) == ResponseEnvelope(error: testCase.error))
    }

    @Test func errorFrameBytesAreExact() {
        var out = ByteBuffer()
        out.writeResponseFrame(streamID: 5, error: RPCError(.resourceExhausted, "big"))
        // status { code: 8, message: "big" }
        #expect(readable(out) == [0, 0, 0, 9, 0, 0, 0, 5, 0x02, 0x00, 0x0A, 0x07, 0x08, 0x08, 0x12, 0x03, 0x62, 0x69, 0x67])
    }

    @Test func framesAppendAfterExistingBytesAndDecodeInOrder() throws {
        var out = ByteBuffer(bytes: [0xEE])
        out.writeResponseFrame(streamID: 1, payload: ByteBuffer(bytes: [1, 2, 3]))
        out.writeResponseFrame(streamID: 3, error: RPCError(.unimplemented, "method Nope"))
        #expect(out.readInteger(as: UInt8.self) == 0xEE)

        var decoder = FrameDecoder()
        guard case .frame(let first)? = try decoder.decode(buffer: &out),
            case .frame(let second)? = try decoder.decode(buffer: &out)
        else {
            Issue.record("expected two frames")
            return
        }
        #expect(out.readableBytes == 0)
        #expect(first.streamID == 1 && first.type == .response && first.flags == [])
        #expect(try ResponseEnvelope(decoding: first.payload) == ResponseEnvelope(payload: ByteBuffer(bytes: [1, 2, 3])))
        #expect(second.streamID == 3 && second.type == .response && second.flags == [])
        #expect(
            try ResponseEnvelope(decoding: second.payload) == ResponseEnvelope(error: RPCError(.unimplemented, "method Nope")))
    }
}
