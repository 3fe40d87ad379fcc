import CoopWire
import NIOCore
import Testing

@Suite struct FrameTests {
    @Test func frameHeaderIsLengthStreamIDTypeFlagsBigEndian() {
        var buffer = ByteBuffer()
        buffer.writeFrameHeader(length: 0x0102_0304, streamID: 0x0A0B_0C0D, type: .data, flags: [.remoteClosed, .noData])
        #expect(readable(buffer) == [0x01, 0x02, 0x03, 0x04, 0x0A, 0x0B, 0x0C, 0x0D, 0x03, 0x05])
    }

    @Test func frameHeaderDefaultsToNoFlags() {
        var buffer = ByteBuffer()
        buffer.writeFrameHeader(length: 0, streamID: 1, type: .request)
        #expect(readable(buffer) == [0, 0, 0, 0, 0, 0, 0, 1, 0x01, 0x00])
    }

    @Test func writtenFrameIsHeaderThenPayload() {
        var buffer = ByteBuffer(bytes: [0xEE])  // bytes already there are left alone
        buffer.writeFrame(
            Frame(streamID: 7, type: .request, flags: .remoteOpen, payload: ByteBuffer(bytes: patternBytes(300))))
        #expect(readable(buffer) == [0xEE] + frameBytes(streamID: 7, type: 0x01, flags: 0x02, payload: patternBytes(300)))
    }

    @Test func writtenFrameDecodesToItself() throws {
        let frame = Frame(streamID: 9, type: .response, payload: ByteBuffer(bytes: patternBytes(33)))
        var buffer = ByteBuffer()
        buffer.writeFrame(frame)
        var decoder = FrameDecoder()
        #expect(try decoder.decode(buffer: &buffer) == .frame(frame))
    }

    @Test func wireConstantsMatchTheProtocol() {
        #expect(FrameLimits.headerSize == 10)
        #expect(FrameLimits.maxPayloadSize == 4_194_304)
        #expect(MessageType.request.rawValue == 0x01)
        #expect(MessageType.response.rawValue == 0x02)
        #expect(MessageType.data.rawValue == 0x03)
        #expect(FrameFlags.remoteClosed.rawValue == 0x01)
        #expect(FrameFlags.remoteOpen.rawValue == 0x02)
        #expect(FrameFlags.noData.rawValue == 0x04)
    }

    @Test(arguments: [
        (MessageType.request, "request"), (.response, "response"), (.data, "data"),
        (MessageType(rawValue: 0), "type(0)"), (MessageType(rawValue: 0xFF), "type(255)"),
    ])
    func messageTypeDescribesItself(type: MessageType, description: String) {
        #expect(type.description == description)
    }
}
