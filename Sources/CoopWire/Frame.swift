import NIOCore

/// The kind of a ttrpc frame (byte 8 of the header).
public struct MessageType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Client → server: opens a stream and carries the request envelope.
    public static let request = MessageType(rawValue: 0x01)
    /// Server → client: ends a stream with a response envelope.
    public static let response = MessageType(rawValue: 0x02)
    /// Either way: a streamed message (ttrpc 1.2).
    public static let data = MessageType(rawValue: 0x03)

    public var description: String {
        switch self {
        case .request: "request"
        case .response: "response"
        case .data: "data"
        default: "type(\(rawValue))"
        }
    }
}

/// Per-type flag bits (byte 9 of the header).
public struct FrameFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The sender will send nothing more on this stream.
    public static let remoteClosed = FrameFlags(rawValue: 0x01)
    /// On a Request: data frames follow (client or bidirectional streaming).
    public static let remoteOpen = FrameFlags(rawValue: 0x02)
    /// On a Data frame: carries no message (only ends the stream).
    public static let noData = FrameFlags(rawValue: 0x04)
}

/// One ttrpc frame. The payload is a slice of the buffer it was read from: no copy.
public struct Frame: Sendable, Equatable {
    public var streamID: UInt32
    public var type: MessageType
    public var flags: FrameFlags
    public var payload: ByteBuffer

    public init(streamID: UInt32, type: MessageType, flags: FrameFlags = [], payload: ByteBuffer) {
        self.streamID = streamID
        self.type = type
        self.flags = flags
        self.payload = payload
    }
}

/// Limits and sizes fixed by the ttrpc wire format.
public enum FrameLimits {
    /// Bytes in a frame header: length (4), stream id (4), type (1), flags (1).
    public static let headerSize = 10
    /// Largest payload a peer may send or accept (4 MiB), as in Go ttrpc.
    public static let maxPayloadSize = 4 << 20
}

extension ByteBuffer {
    /// Appends a frame header; the caller writes exactly `length` payload bytes after it.
    @inlinable
    public mutating func writeFrameHeader(length: Int, streamID: UInt32, type: MessageType, flags: FrameFlags = []) {
        // One 8-byte store plus two bytes: cheaper than four separate integer writes.
        self.writeMultipleIntegers(UInt32(truncatingIfNeeded: length), streamID, type.rawValue, flags.rawValue)
    }

    /// Appends a whole frame.
    @inlinable
    public mutating func writeFrame(_ frame: Frame) {
        self.writeFrameHeader(
            length: frame.payload.readableBytes, streamID: frame.streamID, type: frame.type, flags: frame.flags)
        var payload = frame.payload
        self.writeBuffer(&payload)
    }
}

extension RawProtobufWriter {
    /// A frame header, as ``NIOCore/ByteBuffer/writeFrameHeader(length:streamID:type:flags:)`` writes it.
    @inlinable package mutating func frameHeader(
        length: Int, streamID: UInt32, type: MessageType, flags: FrameFlags = []
    ) {
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: length).bigEndian) { raw($0) }
        withUnsafeBytes(of: streamID.bigEndian) { raw($0) }
        withUnsafeBytes(of: type.rawValue) { raw($0) }
        withUnsafeBytes(of: flags.rawValue) { raw($0) }
    }
}
