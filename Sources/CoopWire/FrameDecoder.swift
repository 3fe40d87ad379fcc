import NIOCore

/// What the frame decoder produces: a frame, or notice that one was too large and is being skipped.
public enum InboundFrame: Sendable, Equatable {
    case frame(Frame)
    /// A frame longer than the limit. Its payload is discarded as it arrives, and the
    /// connection stays usable: the peer should be answered RESOURCE_EXHAUSTED on `streamID`.
    case oversized(streamID: UInt32, type: MessageType, length: Int)
}

/// Splits a byte stream into ttrpc frames.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +---------------------------------------------------------------+
/// |                 payload length (uint32, big endian)           |
/// +---------------------------------------------------------------+
/// |                    stream id (uint32, big endian)             |
/// +---------------+---------------+-------------------------------+
/// |  message type |     flags     |  payload (length bytes) ...   |
/// +---------------+---------------+-------------------------------+
/// ```
///
/// Frames come out as slices of the input buffer, so decoding copies nothing.
public struct FrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = InboundFrame

    /// Largest payload accepted; longer frames are reported as ``InboundFrame/oversized(streamID:type:length:)``.
    public let maxPayloadSize: Int
    /// Payload bytes of an oversized frame still to be thrown away.
    public private(set) var bytesToSkip: Int = 0

    public init(maxPayloadSize: Int = FrameLimits.maxPayloadSize) {
        self.maxPayloadSize = maxPayloadSize
    }

    /// True while a frame has begun but not yet fully arrived (including one being skipped).
    /// `buffered` is the count of unconsumed input bytes the caller holds.
    public func isMidFrame(buffered: Int) -> Bool {
        self.bytesToSkip > 0 || buffered > 0
    }

    /// How many more bytes `buffer` needs to end where a frame ends: 0 when it does, or when what it ends with
    /// is being skipped (an oversized frame). While the last frame's header is incomplete, the count completes
    /// the header only; ask again once it is in.
    public func bytesMissing(in buffer: ByteBuffer) -> Int {
        var offset = buffer.readerIndex + min(self.bytesToSkip, buffer.readableBytes)
        let end = buffer.writerIndex
        while offset < end {
            guard end - offset >= FrameLimits.headerSize else { return FrameLimits.headerSize - (end - offset) }
            let length = Int(buffer.getInteger(at: offset, as: UInt32.self)!)
            let frameEnd = offset + FrameLimits.headerSize + length
            if frameEnd > end { return length > self.maxPayloadSize ? 0 : frameEnd - end }
            offset = frameEnd
        }
        return 0
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> InboundFrame? {
        // Skipping first: the bytes of an oversized frame must never be read as a header.
        if self.bytesToSkip > 0 {
            let n = min(self.bytesToSkip, buffer.readableBytes)
            buffer.moveReaderIndex(forwardBy: n)
            self.bytesToSkip -= n
            if self.bytesToSkip > 0 { return nil }
        }

        guard
            let (length, streamID, type, flags) = buffer.getMultipleIntegers(
                at: buffer.readerIndex, as: (UInt32, UInt32, UInt8, UInt8).self)
        else { return nil }

        // Check the limit as soon as the header is in, before waiting for (or buffering) the payload,
        // so a hostile length can never make us allocate it.
        let payloadLength = Int(length)
        if payloadLength > self.maxPayloadSize {
            buffer.moveReaderIndex(forwardBy: FrameLimits.headerSize)
            let n = min(payloadLength, buffer.readableBytes)
            buffer.moveReaderIndex(forwardBy: n)
            self.bytesToSkip = payloadLength - n
            return .oversized(streamID: streamID, type: MessageType(rawValue: type), length: payloadLength)
        }

        guard buffer.readableBytes >= FrameLimits.headerSize + payloadLength else { return nil }
        buffer.moveReaderIndex(forwardBy: FrameLimits.headerSize)
        let payload = buffer.readSlice(length: payloadLength)!
        return .frame(
            Frame(streamID: streamID, type: MessageType(rawValue: type), flags: FrameFlags(rawValue: flags), payload: payload))
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> InboundFrame? {
        // A truncated frame at EOF is dropped: the peer is gone, there is nobody to answer.
        try self.decode(buffer: &buffer)
    }
}
