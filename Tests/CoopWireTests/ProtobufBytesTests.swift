import CoopProto
import CoopWire
import Foundation
import NIOCore
import SwiftProtobuf
import Testing

@Suite struct ProtobufBytesTests {
    @Test func messageRoundTripsThroughAByteBuffer() throws {
        let message = Coop_V1_EchoRequest.with { $0.data = Data(0...255) }
        let buffer = try message.serializedBuffer()
        let expected: [UInt8] = try message.serializedBytes()
        #expect(readable(buffer) == expected)
        #expect(buffer.readableBytes == 259)  // tag, 2-byte length, 256 bytes
        #expect(try Coop_V1_EchoRequest(buffer: buffer) == message)
    }

    @Test func messageWithNestedAndRepeatedFieldsRoundTrips() throws {
        let message = Ttrpc_Request.with {
            $0.service = "coop.v1.Diagnostics"
            $0.method = "GetServerInfo"
            $0.payload = Data(patternBytes(1000))
            $0.timeoutNano = -1
            $0.metadata = [Ttrpc_KeyValue.with { $0.key = "a"; $0.value = "b" }, Ttrpc_KeyValue.with { $0.key = "a" }]
        }
        #expect(try Ttrpc_Request(buffer: message.serializedBuffer()) == message)
    }

    @Test func emptyMessageSerializesToAnEmptyBuffer() throws {
        #expect(try Coop_V1_GetServerInfoRequest().serializedBuffer().readableBytes == 0)
        #expect(try Coop_V1_EchoRequest(buffer: ByteBuffer()) == Coop_V1_EchoRequest())
    }

    @Test func decodingReadsOnlyTheReadableBytes() throws {
        // Bytes before the reader index (already read: a frame header, say) are not part of the message.
        var buffer = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF])
        buffer.writeBytes(try Coop_V1_EchoRequest.with { $0.data = Data([1, 2]) }.serializedBytes() as [UInt8])
        buffer.moveReaderIndex(forwardBy: 3)
        #expect(try Coop_V1_EchoRequest(buffer: buffer).data == Data([1, 2]))

        // A payload slice: bytes after it belong to the next frame.
        buffer.writeBytes([0xFF, 0xFF])
        let payload = buffer.getSlice(at: buffer.readerIndex, length: 4)!
        #expect(try Coop_V1_EchoRequest(buffer: payload).data == Data([1, 2]))
    }

    @Test func malformedBytesThrow() {
        #expect(throws: BinaryDecodingError.self) {
            try Coop_V1_EchoRequest(buffer: ByteBuffer(bytes: [0x0A, 0x05, 0x01]))
        }
    }

    @Test func protobufBytesInitialisersProduceTheirBytes() {
        #expect(ProtobufBytes(repeating: 7, count: 3).count == 3)
        #expect(readable(ProtobufBytes(repeating: 7, count: 3).buffer) == [7, 7, 7])
        #expect(readable(ProtobufBytes([1, 2, 3]).buffer) == [1, 2, 3])
        #expect(ProtobufBytes(ByteBuffer(bytes: [4, 5])).count == 2)
        var bytes = ProtobufBytes([1, 2, 3])
        bytes.withUnsafeMutableBytes { $0[1] = 9 }
        #expect(bytes.withUnsafeBytes { Array($0) } == [1, 9, 3])
    }
}
