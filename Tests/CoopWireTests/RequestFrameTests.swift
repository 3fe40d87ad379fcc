import CoopProto
import CoopWire
import Foundation
import NIOCore
import SwiftProtobuf
import Testing

@Suite struct RequestFrameTests {
    @Test(arguments: requestCases)
    func requestFrameHeaderCountsTheEnvelopeThatFollows(_ testCase: RequestCase) throws {
        var out = ByteBuffer()
        out.writeRequestFrame(streamID: 0x0000_0101, envelope: testCase.envelope)
        let (header, body) = splitFrame(out)
        #expect(header == frameHeader(length: UInt32(body.count), streamID: 0x0000_0101, type: 0x01, flags: 0))
        let expected: [UInt8] = try Ttrpc_Request(testCase.envelope).serializedBytes()
        #expect(body == expected)
        #expect(try RequestEnvelope(Ttrpc_Request(serializedBytes: body)) == testCase.envelope)
    }

    @Test(arguments: [FrameFlags(), .remoteClosed, .remoteOpen])
    func requestFrameCarriesItsFlags(flags: FrameFlags) {
        var out = ByteBuffer()
        out.writeRequestFrame(
            streamID: 7, flags: flags, envelope: RequestEnvelope(service: "s", method: "m", payload: ByteBuffer()))
        #expect(
            readable(out) == [0, 0, 0, 6, 0, 0, 0, 7, 0x01, flags.rawValue, 0x0A, 0x01, 0x73, 0x12, 0x01, 0x6D])
    }

    @Test func emptyEnvelopeGivesAHeaderOnlyFrame() {
        var out = ByteBuffer()
        out.writeRequestFrame(streamID: 1, envelope: RequestEnvelope(service: "", method: "", payload: ByteBuffer()))
        #expect(readable(out) == [0, 0, 0, 0, 0, 0, 0, 1, 0x01, 0x00])
    }

    @Test func lengthIsPatchedInPlaceWhenAppendingToABufferThatHoldsFrames() throws {
        // The length is written after the envelope, at the header's position: with bytes already
        // in the buffer (and already read), it must still land in this frame's header.
        var out = ByteBuffer(bytes: [0xEE, 0xEE, 0xEE])
        out.moveReaderIndex(forwardBy: 2)
        let first = RequestEnvelope(
            service: "coop.v1.Diagnostics", method: "Echo", payload: ByteBuffer(bytes: patternBytes(200)))
        let second = RequestEnvelope(
            service: "grpc.health.v1.Health", method: "Check", payload: ByteBuffer(), timeoutNanos: 1_000,
            metadata: [MetadataEntry(key: "k", value: "v")])
        out.writeRequestFrame(streamID: 1, envelope: first)
        out.writeRequestFrame(streamID: 3, flags: .remoteOpen, envelope: second)
        #expect(out.readInteger(as: UInt8.self) == 0xEE)

        var decoder = FrameDecoder()
        guard case .frame(let frame1)? = try decoder.decode(buffer: &out),
            case .frame(let frame2)? = try decoder.decode(buffer: &out)
        else {
            Issue.record("expected two frames")
            return
        }
        #expect(out.readableBytes == 0)
        #expect(frame1.streamID == 1 && frame1.type == .request && frame1.flags == [])
        #expect(try RequestEnvelope(decoding: frame1.payload) == first)
        #expect(frame2.streamID == 3 && frame2.type == .request && frame2.flags == .remoteOpen)
        #expect(try RequestEnvelope(decoding: frame2.payload) == second)
    }
}
