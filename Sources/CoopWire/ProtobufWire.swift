import NIOCore

/// Minimal protobuf wire-format primitives, for the envelope codec on the request path and the hand-written
/// encoders of answers (CoopDaemon's ObservationPageEncoder).
package enum ProtobufWire {
    package static let varint: UInt8 = 0
    package static let fixed64: UInt8 = 1
    package static let lengthDelimited: UInt8 = 2
    package static let fixed32: UInt8 = 5

    @inlinable package static func varintSize(_ value: UInt64) -> Int {
        // 1 byte per started group of 7 bits; 0 still takes one byte.
        (64 - (value | 1).leadingZeroBitCount + 6) / 7
    }
}

extension ByteBuffer {
    /// A field's key: its number and wire type.
    @inlinable package mutating func writeTag(_ field: Int, _ wireType: UInt8) {
        writeVarint(UInt64(field) << 3 | UInt64(wireType))
    }

    @inlinable package mutating func writeVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            self.writeInteger(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        self.writeInteger(UInt8(v))
    }

    /// Reads a varint; nil if truncated or longer than 10 bytes.
    package mutating func readVarint() -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while shift < 64 {
            guard let byte = self.readInteger(as: UInt8.self) else { return nil }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
        return nil
    }

    /// Reads a length-delimited field's bytes as a slice; nil if truncated.
    package mutating func readLengthDelimited() -> ByteBuffer? {
        guard let length = self.readVarint(), length <= UInt64(self.readableBytes) else { return nil }
        return self.readSlice(length: Int(length))
    }

    /// Skips one field's value of the given wire type; false if malformed.
    package mutating func skipField(wireType: UInt8) -> Bool {
        switch wireType {
        case ProtobufWire.varint: return self.readVarint() != nil
        case ProtobufWire.fixed64:
            guard self.readableBytes >= 8 else { return false }
            self.moveReaderIndex(forwardBy: 8)
            return true
        case ProtobufWire.lengthDelimited: return self.readLengthDelimited() != nil
        case ProtobufWire.fixed32:
            guard self.readableBytes >= 4 else { return false }
            self.moveReaderIndex(forwardBy: 4)
            return true
        default: return false  // groups (3, 4) are not used by the envelope and are rejected
        }
    }

    /// The bytes of the first length-delimited field `number` at the top level of this message; nil if absent
    /// or malformed. Reads one field without decoding the whole message.
    package func protobufField(_ number: Int) -> ByteBuffer? {
        var message = self
        while message.readableBytes > 0 {
            guard let key = message.readVarint() else { return nil }
            let wireType = UInt8(key & 7)
            if key >> 3 == UInt64(number), wireType == ProtobufWire.lengthDelimited {
                return message.readLengthDelimited()
            }
            guard message.skipField(wireType: wireType) else { return nil }
        }
        return nil
    }
}

/// Where protobuf fields go: counted (``ProtobufSizer``) or written (``RawProtobufWriter``). The field writers
/// below serve both, so what is sized is what is written.
package protocol ProtobufSink {
    mutating func varint(_ value: UInt64)
    mutating func raw(_ bytes: UnsafeRawBufferPointer)
}

extension ProtobufSink {
    @inlinable package mutating func tag(_ field: Int, _ wireType: UInt8) {
        varint(UInt64(field) << 3 | UInt64(wireType))
    }

    /// int64, int32 and enums alike: a varint of the 64-bit two's complement; nothing for 0.
    @inlinable package mutating func int64(_ field: Int, _ value: Int64) {
        guard value != 0 else { return }
        tag(field, ProtobufWire.varint)
        varint(UInt64(bitPattern: value))
    }

    @inlinable package mutating func bool(_ field: Int, _ value: Bool) {
        int64(field, value ? 1 : 0)
    }

    /// A string field from its UTF-8 bytes; nothing when empty.
    @inlinable package mutating func bytes(_ field: Int, _ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        tag(field, ProtobufWire.lengthDelimited)
        varint(UInt64(bytes.count))
        raw(bytes)
    }

    @inlinable package mutating func string(_ field: Int, _ value: String) {
        guard !value.isEmpty else { return }
        var value = value
        value.withUTF8 { bytes(field, UnsafeRawBufferPointer($0)) }
    }

    /// A packed repeated int64 field; nothing when empty.
    @inlinable package mutating func packed(_ field: Int, _ values: [Int64]) {
        guard !values.isEmpty else { return }
        tag(field, ProtobufWire.lengthDelimited)
        varint(UInt64(values.reduce(0) { $0 + ProtobufWire.varintSize(UInt64(bitPattern: $1)) }))
        for value in values { varint(UInt64(bitPattern: value)) }
    }
}

/// Counts the bytes the fields would take.
package struct ProtobufSizer: ProtobufSink {
    package var count = 0

    @inlinable package init() {}

    @inlinable package mutating func varint(_ value: UInt64) {
        count += ProtobufWire.varintSize(value)
    }

    @inlinable package mutating func raw(_ bytes: UnsafeRawBufferPointer) {
        count += bytes.count
    }
}

/// Writes protobuf fields into memory whose size was computed beforehand: a bounds check per write instead of
/// ByteBuffer's capacity and uniqueness checks per byte.
package struct RawProtobufWriter: ProtobufSink {
    package let buffer: UnsafeMutableRawBufferPointer
    package var offset = 0

    @inlinable package init(_ buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    @inlinable package mutating func varint(_ value: UInt64) {
        precondition(offset + ProtobufWire.varintSize(value) <= buffer.count)
        var v = value
        while v >= 0x80 {
            buffer[offset] = UInt8(truncatingIfNeeded: v) | 0x80
            offset += 1
            v >>= 7
        }
        buffer[offset] = UInt8(v)
        offset += 1
    }

    @inlinable package mutating func raw(_ bytes: UnsafeRawBufferPointer) {
        precondition(offset + bytes.count <= buffer.count)
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        (buffer.baseAddress! + offset).copyMemory(from: source, byteCount: bytes.count)
        offset += bytes.count
    }
}

/// Reads protobuf fields from raw bytes: a bounds check per value instead of ByteBuffer's per byte. Values come
/// out as ranges of the bytes, with ``ByteBuffer``'s reading rules (varints of at most ten bytes, lengths within
/// what is left).
package struct RawProtobufReader {
    package let bytes: UnsafeRawBufferPointer
    package private(set) var offset = 0

    @inlinable package init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    @inlinable package var more: Bool { offset < bytes.count }

    @inlinable package mutating func varint() -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while shift < 64, offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
        return nil
    }

    /// A length-delimited value's range; nil if truncated.
    @inlinable package mutating func lengthDelimited() -> Range<Int>? {
        guard let length = varint(), length <= UInt64(bytes.count - offset) else { return nil }
        let start = offset
        offset += Int(length)
        return start..<offset
    }

    /// Skips one field's value of the given wire type; false if malformed (groups included, as unused).
    @inlinable package mutating func skipField(wireType: UInt8) -> Bool {
        switch wireType {
        case ProtobufWire.varint: return varint() != nil
        case ProtobufWire.fixed64: return skip(8)
        case ProtobufWire.lengthDelimited: return lengthDelimited() != nil
        case ProtobufWire.fixed32: return skip(4)
        default: return false
        }
    }

    @inlinable package mutating func skip(_ n: Int) -> Bool {
        guard bytes.count - offset >= n else { return false }
        offset += n
        return true
    }
}
