import CoopProto
import CoopTestSupport
import CoopWire
import Foundation
import NIOCore
import SwiftProtobuf
import Testing

/// A named request envelope, so a failing table row says which one it was.
struct RequestCase: Sendable, CustomTestStringConvertible {
    var name: String
    var envelope: RequestEnvelope
    var testDescription: String { name }
}

private func echoPayload(_ data: [UInt8]) -> ByteBuffer {
    // A real request payload: a serialized coop.v1.EchoRequest.
    let message = Coop_V1_EchoRequest.with { $0.data = Data(data) }
    return ByteBuffer(bytes: try! message.serializedBytes() as [UInt8])
}

let requestCases: [RequestCase] = [
    RequestCase(name: "empty", envelope: RequestEnvelope(service: "", method: "", payload: ByteBuffer())),
    RequestCase(
        name: "service and method only",
        envelope: RequestEnvelope(service: "coop.v1.Diagnostics", method: "GetServerInfo", payload: ByteBuffer())),
    RequestCase(
        name: "every field, metadata with a repeated key",
        envelope: RequestEnvelope(
            service: "coop.v1.Diagnostics", method: "Echo", payload: echoPayload([1, 2, 3]),
            timeoutNanos: 1_500_000_000,
            metadata: [
                MetadataEntry(key: "trace-id", value: "abc"), MetadataEntry(key: "x", value: "1"),
                MetadataEntry(key: "trace-id", value: "def"), MetadataEntry(key: "x", value: "1"),
            ])),
    RequestCase(
        name: "timeout -1",
        envelope: RequestEnvelope(service: "s", method: "m", payload: ByteBuffer(), timeoutNanos: -1)),
    RequestCase(
        name: "timeout Int64.min",
        envelope: RequestEnvelope(service: "s", method: "m", payload: ByteBuffer(), timeoutNanos: .min)),
    RequestCase(
        name: "timeout Int64.max",
        envelope: RequestEnvelope(service: "s", method: "m", payload: ByteBuffer(), timeoutNanos: .max)),
    RequestCase(
        name: "empty metadata keys and values",
        envelope: RequestEnvelope(
            service: "s", method: "m", payload: ByteBuffer(),
            metadata: [
                MetadataEntry(key: "", value: ""), MetadataEntry(key: "k", value: ""),
                MetadataEntry(key: "", value: "v"),
            ])),
    RequestCase(
        name: "lengths needing multi-byte varints",
        envelope: RequestEnvelope(
            service: String(repeating: "s", count: 128), method: String(repeating: "m", count: 300),
            payload: ByteBuffer(bytes: patternBytes(100_000)), timeoutNanos: 127,
            metadata: [MetadataEntry(key: String(repeating: "k", count: 200), value: String(repeating: "v", count: 20_000))])),
    RequestCase(
        name: "non-ASCII strings",
        envelope: RequestEnvelope(
            service: "coop.v1.Coöperation", method: "Grüße", payload: echoPayload([]),
            metadata: [MetadataEntry(key: "名前", value: "😀")])),
]

@Suite struct RequestEnvelopeTests {
    // MARK: decoding what the generated code writes

    @Test(arguments: requestCases)
    func decodesWhatTheGeneratedRequestSerializes(_ testCase: RequestCase) throws {
        let bytes: [UInt8] = try Ttrpc_Request(testCase.envelope).serializedBytes()
        let decoded = try RequestEnvelope(decoding: ByteBuffer(bytes: bytes))
        #expect(decoded == testCase.envelope)
    }

    @Test func decodesASampleRequestToExactValues() throws {
        let generated = Ttrpc_Request.with {
            $0.service = "coop.v1.Diagnostics"
            $0.method = "Echo"
            $0.payload = Data([0x0A, 0x02, 0x68, 0x69])
            $0.timeoutNano = -42
            $0.metadata = [
                Ttrpc_KeyValue.with { $0.key = "a"; $0.value = "1" },
                Ttrpc_KeyValue.with { $0.key = "a"; $0.value = "2" },
            ]
        }
        let decoded = try RequestEnvelope(decoding: ByteBuffer(bytes: try generated.serializedBytes() as [UInt8]))
        #expect(decoded.service == "coop.v1.Diagnostics")
        #expect(decoded.method == "Echo")
        #expect(readable(decoded.payload) == [0x0A, 0x02, 0x68, 0x69])
        #expect(decoded.timeoutNanos == -42)
        #expect(decoded.metadata == [MetadataEntry(key: "a", value: "1"), MetadataEntry(key: "a", value: "2")])
        #expect(try Coop_V1_EchoRequest(buffer: decoded.payload).data == Data("hi".utf8))
    }

    @Test func emptyBytesDecodeToDefaults() throws {
        let decoded = try RequestEnvelope(decoding: ByteBuffer())
        #expect(decoded == RequestEnvelope(service: "", method: "", payload: ByteBuffer(), timeoutNanos: 0, metadata: []))
    }

    @Test func unknownFieldsOfEveryWireTypeAreSkipped() throws {
        var bytes: [UInt8] = [0x0A, 0x03, 0x73, 0x76, 0x63]  // service = "svc"
        bytes += [0x30, 0x96, 0x01]  // field 6, varint 150
        bytes += [0x39, 1, 2, 3, 4, 5, 6, 7, 8]  // field 7, fixed64
        bytes += [0x42, 0x03, 0x0A, 0x01, 0x78]  // field 8, bytes that look like a service field
        bytes += [0x4D, 1, 2, 3, 4]  // field 9, fixed32
        bytes += [0xF8, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]  // field 536870911 (the largest), varint 1
        bytes += [0x12, 0x01, 0x6D]  // method = "m"
        // metadata {key = "k", field 3 varint 5, value = "v", field 4 fixed32}
        bytes += [0x2A, 0x0D, 0x0A, 0x01, 0x6B, 0x18, 0x05, 0x12, 0x01, 0x76, 0x25, 9, 9, 9, 9]

        let decoded = try RequestEnvelope(decoding: ByteBuffer(bytes: bytes))
        #expect(
            decoded
                == RequestEnvelope(
                    service: "svc", method: "m", payload: ByteBuffer(), metadata: [MetadataEntry(key: "k", value: "v")]))
        // The generated code reads the same bytes the same way.
        #expect(decoded == RequestEnvelope(try Ttrpc_Request(serializedBytes: bytes)))
    }

    @Test func laterValueOfARepeatedScalarFieldWins() throws {
        let bytes: [UInt8] = [
            0x0A, 0x01, 0x61, 0x0A, 0x01, 0x62,  // service "a" then "b"
            0x1A, 0x01, 0x01, 0x1A, 0x01, 0x02,  // payload [1] then [2]
            0x20, 0x07, 0x20, 0x09,  // timeout 7 then 9
        ]
        let decoded = try RequestEnvelope(decoding: ByteBuffer(bytes: bytes))
        #expect(decoded == RequestEnvelope(service: "b", method: "", payload: ByteBuffer(bytes: [2]), timeoutNanos: 9))
        #expect(decoded == RequestEnvelope(try Ttrpc_Request(serializedBytes: bytes)))
    }

    @Test func decodedPayloadIsASliceOfTheInputAtTheRightOffset() throws {
        // The input buffer's reader index is not 0: the envelope sits after a frame header's worth of bytes.
        var buffer = ByteBuffer(bytes: patternBytes(10))
        buffer.writeBytes([0x1A, 0x03, 0xDE, 0xAD, 0xBE])
        buffer.moveReaderIndex(forwardBy: 10)
        let decoded = try RequestEnvelope(decoding: buffer)
        #expect(readable(decoded.payload) == [0xDE, 0xAD, 0xBE])
    }

    // MARK: encoding

    @Test(arguments: requestCases)
    func encodingIsByteForByteWhatTheGeneratedRequestSerializes(_ testCase: RequestCase) throws {
        var out = ByteBuffer()
        testCase.envelope.encode(into: &out)
        let expected: [UInt8] = try Ttrpc_Request(testCase.envelope).serializedBytes()
        #expect(readable(out) == expected)
        #expect(try Ttrpc_Request(serializedBytes: readable(out)) == Ttrpc_Request(testCase.envelope))
    }

    @Test(arguments: requestCases)
    func encodeThenDecodeGivesTheSameEnvelope(_ testCase: RequestCase) throws {
        var out = ByteBuffer()
        testCase.envelope.encode(into: &out)
        #expect(try RequestEnvelope(decoding: out) == testCase.envelope)
    }

    @Test func encodedFieldsDecodeWithTheGeneratedRequestToExactValues() throws {
        let envelope = RequestEnvelope(
            service: "coop.v1.Diagnostics", method: "Echo", payload: ByteBuffer(bytes: [9, 8, 7]), timeoutNanos: -5,
            metadata: [MetadataEntry(key: "k", value: "1"), MetadataEntry(key: "k", value: "2")])
        var out = ByteBuffer()
        envelope.encode(into: &out)
        let generated = try Ttrpc_Request(serializedBytes: readable(out))
        #expect(generated.service == "coop.v1.Diagnostics")
        #expect(generated.method == "Echo")
        #expect(generated.payload == Data([9, 8, 7]))
        #expect(generated.timeoutNano == -5)
        #expect(generated.metadata.map(\.key) == ["k", "k"])
        #expect(generated.metadata.map(\.value) == ["1", "2"])
        #expect(generated.unknownFields.data.isEmpty)
    }

    @Test func encodeAppendsAfterExistingBytes() {
        var out = ByteBuffer(bytes: [0xEE, 0xFF])
        RequestEnvelope(service: "s", method: "", payload: ByteBuffer()).encode(into: &out)
        #expect(readable(out) == [0xEE, 0xFF, 0x0A, 0x01, 0x73])
    }

    // MARK: malformed input

    @Test(arguments: [
        ([0x80], "truncated field tag"),
        ([0x0A], "truncated service"),
        ([0x0A, 0x05, 0x61], "truncated service"),
        ([0x12, 0x01], "truncated method"),
        ([0x1A, 0x80], "truncated payload"),
        ([0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], "truncated payload"),
        ([0x20], "truncated timeout_nano"),
        ([0x20, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], "truncated timeout_nano"),
        ([0x2A, 0x03, 0x0A], "truncated metadata"),
        ([0x2A, 0x01, 0x80], "truncated metadata tag"),
        ([0x2A, 0x02, 0x0A, 0x05], "truncated metadata key"),
        ([0x2A, 0x02, 0x12, 0x01], "truncated metadata value"),
        ([0x2A, 0x02, 0x00, 0x00], "malformed metadata field"),
        ([0x2A, 0x01, 0x1B], "malformed metadata field"),
        ([0x00], "field number 0"),
        ([0x02, 0x00], "field number 0"),
        ([0x0B], "malformed field 1"),
        ([0x31, 1, 2, 3, 4, 5, 6, 7], "malformed field 6"),
        ([0x35, 1, 2, 3], "malformed field 6"),
        ([0x36], "malformed field 6"),
        ([0x0A, 0x01, 0x61, 0x3F], "malformed field 7"),
        ([0x0A, 0x02, 0xC3, 0x28], "service is not valid UTF-8"),
        ([0x12, 0x01, 0xFF], "method is not valid UTF-8"),
        // A repeated name's last value counts, but an earlier one must be UTF-8 as well.
        ([0x0A, 0x01, 0xFF, 0x0A, 0x01, 0x41], "service is not valid UTF-8"),
        ([0x12, 0x01, 0xFF, 0x12, 0x01, 0x41], "method is not valid UTF-8"),
        ([0x2A, 0x03, 0x0A, 0x01, 0x80], "metadata key is not valid UTF-8"),
        ([0x2A, 0x04, 0x12, 0x02, 0xED, 0xA0], "metadata value is not valid UTF-8"),
    ] as [([UInt8], String)])
    func malformedBytesThrowTheReason(bytes: [UInt8], reason: String) {
        #expect(throws: EnvelopeError(reason)) {
            try RequestEnvelope(decoding: ByteBuffer(bytes: bytes))
        }
        // The generated decoder rejects them too.
        #expect(throws: (any Error).self) { try Ttrpc_Request(serializedBytes: bytes) }
    }

    @Test func groupFieldsAreRejectedEvenWhenWellFormed() {
        // Groups (wire types 3 and 4) never appear in a ttrpc envelope; the decoder refuses them
        // rather than match start and end tags. The generated decoder would skip this empty group.
        #expect(throws: EnvelopeError("malformed field 6")) {
            try RequestEnvelope(decoding: ByteBuffer(bytes: [0x0A, 0x01, 0x61, 0x33, 0x34]))
        }
    }

    @Test func everyTruncationOfAValidEnvelopeThrowsOrAgreesWithTheGeneratedDecoder() throws {
        let full: [UInt8] = try Ttrpc_Request(requestCases[2].envelope).serializedBytes()
        var decodedPrefixes = 0
        for length in 0..<full.count {
            let prefix = Array(full.prefix(length))
            let ours = Result { () throws(EnvelopeError) in try RequestEnvelope(decoding: ByteBuffer(bytes: prefix)) }
            let generated = Result { try Ttrpc_Request(serializedBytes: prefix) }
            switch (ours, generated) {
            case (.success(let envelope), .success(let message)):
                // A cut between two fields leaves a shorter valid message.
                #expect(envelope == RequestEnvelope(message), "prefix of \(length) bytes")
                decodedPrefixes += 1
            case (.failure, .failure):
                break
            default:
                Issue.record("prefix of \(length) bytes: ours \(ours), generated \(generated)")
            }
        }
        // Field boundaries in that envelope: 0, after service, method, payload, timeout and each of 4 metadata entries.
        #expect(decodedPrefixes == 8)
    }

    @Test func randomBytesNeverCrashAndAgreeWithTheGeneratedDecoderWhenBothAccept() {
        var rng = SplitMix64(seed: 0x7474_7270_63)
        // Bytes drawn mostly from real tags and small lengths, so that many inputs get past the first field.
        let alphabet: [UInt8] = [0x0A, 0x12, 0x1A, 0x20, 0x2A, 0x00, 0x01, 0x02, 0x03, 0x05, 0x61, 0x80, 0xFF, 0x08, 0x10]
        var accepted = 0
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...40, using: &rng)
            let bytes = (0..<count).map { _ in
                Bool.random(using: &rng) ? alphabet.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
            }
            guard let envelope = try? RequestEnvelope(decoding: ByteBuffer(bytes: bytes)) else { continue }
            accepted += 1
            if let message = try? Ttrpc_Request(serializedBytes: bytes) {
                #expect(envelope == RequestEnvelope(message), "input \(bytes)")
            }
        }
        #expect(accepted > 100)
    }
}
