import NIOCore
import SwiftProtobuf

/// A `ByteBuffer` that swift-protobuf can decode from and encode into directly,
/// so message payloads never pass through `Data` or `[UInt8]`.
public struct ProtobufBytes: SwiftProtobufContiguousBytes {
    public var buffer: ByteBuffer

    public init(_ buffer: ByteBuffer) { self.buffer = buffer }

    public init(repeating: UInt8, count: Int) {
        self.buffer = ByteBuffer(repeating: repeating, count: count)
    }

    public init<S: Sequence>(_ sequence: S) where S.Element == UInt8 {
        self.buffer = ByteBuffer(bytes: sequence)
    }

    public var count: Int { buffer.readableBytes }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try buffer.withUnsafeReadableBytes(body)
    }

    public mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try buffer.withUnsafeMutableReadableBytes(body)
    }
}

extension SwiftProtobuf.Message {
    /// Decodes a message from a buffer without copying it.
    @inlinable
    public init(buffer: ByteBuffer) throws {
        try self.init(serializedBytes: ProtobufBytes(buffer))
    }

    /// Serializes into a new buffer.
    @inlinable
    public func serializedBuffer() throws -> ByteBuffer {
        let bytes: ProtobufBytes = try self.serializedBytes()
        return bytes.buffer
    }
}
