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
