import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One metadata pair of a call. Keys may repeat.
public struct MetadataEntry: Hashable, Sendable {
    public var key: String
    public var value: String
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// Why an envelope did not decode.
public struct EnvelopeError: Error, Hashable, Sendable, CustomStringConvertible {
    public var reason: String
    /// The envelope is well formed but carries more metadata than ``MetadataLimits`` allow
    /// (RESOURCE_EXHAUSTED rather than INVALID_ARGUMENT).
    public var isOverLimit: Bool
    public init(_ reason: String, isOverLimit: Bool = false) {
        self.reason = reason
        self.isOverLimit = isOverLimit
    }
    public var description: String { reason }
}

/// How much metadata one request may carry, like gRPC's header-list limit: decoding stops at the
/// first entry over a limit, so an envelope stuffed with entries costs no more than the limit to refuse.
public struct MetadataLimits: Sendable, Hashable {
    /// Entries (key-value pairs; keys may repeat).
    public var maxEntries: Int
    /// Encoded bytes of all entries together.
    public var maxBytes: Int

    public init(maxEntries: Int = 128, maxBytes: Int = 16 << 10) {
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
    }

    /// What ``ServerLimits`` applies unless told otherwise.
    public static let defaults = MetadataLimits()
    /// No limit: for decoding envelopes the caller already trusts.
    public static let unlimited = MetadataLimits(maxEntries: .max, maxBytes: .max)
}

/// ttrpc's `Request` message (Proto/ttrpc/ttrpc.proto), decoded by hand on the request path so
/// that the payload stays a slice of the frame and nothing is copied.
public struct RequestEnvelope: Sendable, Equatable {
    public var service: String
    public var method: String
    public var payload: ByteBuffer
    /// Time left to the caller's deadline in nanoseconds; 0 means none.
    public var timeoutNanos: Int64
    public var metadata: [MetadataEntry]

    public init(
        service: String, method: String, payload: ByteBuffer, timeoutNanos: Int64 = 0,
        metadata: [MetadataEntry] = []
    ) {
        self.service = service
        self.method = method
        self.payload = payload
        self.timeoutNanos = timeoutNanos
        self.metadata = metadata
    }

    /// Decodes an envelope with proto3 rules: unknown fields are skipped, a repeated scalar keeps its last value.
    /// Metadata over `metadataLimits` throws an error with `isOverLimit` set, before the rest is decoded.
    public init(decoding bytes: ByteBuffer, metadataLimits: MetadataLimits = .unlimited) throws(EnvelopeError) {
        let head = try RequestHead(decoding: bytes, metadataLimits: metadataLimits)
        self.init(
            service: try head.serviceName(), method: try head.methodName(), payload: head.payload,
            timeoutNanos: head.timeoutNanos, metadata: head.metadata)
    }

    fileprivate static func decodeKeyValue(_ bytes: ByteBuffer) throws(EnvelopeError) -> MetadataEntry {
        var buffer = bytes
        var entry = MetadataEntry(key: "", value: "")
        while buffer.readableBytes > 0 {
            guard let tag = buffer.readVarint() else { throw EnvelopeError("truncated metadata tag") }
            let wireType = UInt8(truncatingIfNeeded: tag & 7)
            switch (tag >> 3, wireType) {
            case (1, ProtobufWire.lengthDelimited):
                guard let s = buffer.readLengthDelimited() else { throw EnvelopeError("truncated metadata key") }
                entry.key = try Self.utf8(s, "metadata key")
            case (2, ProtobufWire.lengthDelimited):
                guard let s = buffer.readLengthDelimited() else { throw EnvelopeError("truncated metadata value") }
                entry.value = try Self.utf8(s, "metadata value")
            default:
                guard tag >> 3 != 0, buffer.skipField(wireType: wireType) else {
                    throw EnvelopeError("malformed metadata field")
                }
            }
        }
        return entry
    }

    /// proto3 strings must be UTF-8; like Go and swift-protobuf, anything else rejects the envelope.
    private static func utf8(_ bytes: ByteBuffer, _ field: String) throws(EnvelopeError) -> String {
        try bytes.withUnsafeReadableBytes { bytes throws(EnvelopeError) in try Self.utf8(bytes, field) }
    }

    fileprivate static func utf8(_ bytes: UnsafeRawBufferPointer, _ field: String) throws(EnvelopeError) -> String {
        // ASCII, nearly every name and key, needs no validation; String(validating:) is generic and not
        // specialised for raw buffers, which made it a tenth of an Echo call's decoding.
        let ascii = bytes.allSatisfy { $0 < 0x80 }
        if ascii { return String(decoding: bytes.assumingMemoryBound(to: UInt8.self), as: UTF8.self) }
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw EnvelopeError("\(field) is not valid UTF-8")
        }
        return s
    }

    /// Appends the encoded envelope (proto3: default values are left out).
    public func encode(into out: inout ByteBuffer) {
        out.writeStringField(1, self.service)
        out.writeStringField(2, self.method)
        if self.payload.readableBytes > 0 {
            out.writeBytesField(3, self.payload)
        }
        if self.timeoutNanos != 0 {
            out.writeInteger(UInt8(4 << 3 | ProtobufWire.varint))
            out.writeVarint(UInt64(bitPattern: self.timeoutNanos))
        }
        for entry in self.metadata {
            let size = Self.fieldSize(entry.key.utf8.count) + Self.fieldSize(entry.value.utf8.count)
            out.writeInteger(UInt8(5 << 3 | ProtobufWire.lengthDelimited))
            out.writeVarint(UInt64(size))
            out.writeStringField(1, entry.key)
            out.writeStringField(2, entry.value)
        }
    }

    /// Bytes a length-delimited field of `n` bytes takes with its one-byte tag; 0 when omitted.
    private static func fieldSize(_ n: Int) -> Int {
        n == 0 ? 0 : 1 + ProtobufWire.varintSize(UInt64(n)) + n
    }
}

/// A request envelope as the server reads it: the service and method names stay where they lie in the frame,
/// so that the server can match them against its routes byte for byte and a known method costs no String,
/// no UTF-8 validation and no hashing. Decodes with the rules and errors of ``RequestEnvelope``, except that
/// a name that is not UTF-8 is found only when the name is asked for.
public struct RequestHead: Sendable {
    /// The envelope's bytes; the names are ranges of its readable bytes.
    public let bytes: ByteBuffer
    /// Where the service name lies, as offsets from the first readable byte of ``bytes``.
    public let serviceRange: Range<Int>
    /// Where the method name lies, as offsets from the first readable byte of ``bytes``.
    public let methodRange: Range<Int>
    public let payload: ByteBuffer
    /// Time left to the caller's deadline in nanoseconds; 0 means none.
    public let timeoutNanos: Int64
    public let metadata: [MetadataEntry]

    public init(decoding bytes: ByteBuffer, metadataLimits: MetadataLimits = .unlimited) throws(EnvelopeError) {
        // One pass over the raw bytes (ByteBuffer's reads check bounds and ownership at every byte: that was a
        // tenth of an Echo call), fields found as offsets; the payload becomes a slice once, at the end.
        // Decoded into locals and stored once: assigning the fields one by one made the compiler copy the
        // whole value (three references) through its value witnesses.
        var serviceRange = 0..<0
        var methodRange = 0..<0
        var payloadRange = 0..<0
        var timeout: Int64 = 0
        var metadata: [MetadataEntry] = []
        try bytes.withUnsafeReadableBytes { raw throws(EnvelopeError) in
            var reader = RawProtobufReader(raw)
            var metadataBytes = 0
            while reader.more {
                guard let tag = reader.varint() else { throw EnvelopeError("truncated field tag") }
                let field = tag >> 3
                let wireType = UInt8(truncatingIfNeeded: tag & 7)
                switch (field, wireType) {
                case (1, ProtobufWire.lengthDelimited):
                    guard let r = reader.lengthDelimited() else { throw EnvelopeError("truncated service") }
                    // A repeated field's last value counts, but an earlier one must be UTF-8 too (as for every
                    // decoder of proto3 strings).
                    if !serviceRange.isEmpty {
                        _ = try RequestEnvelope.utf8(UnsafeRawBufferPointer(rebasing: raw[serviceRange]), "service")
                    }
                    serviceRange = r
                case (2, ProtobufWire.lengthDelimited):
                    guard let r = reader.lengthDelimited() else { throw EnvelopeError("truncated method") }
                    if !methodRange.isEmpty {
                        _ = try RequestEnvelope.utf8(UnsafeRawBufferPointer(rebasing: raw[methodRange]), "method")
                    }
                    methodRange = r
                case (3, ProtobufWire.lengthDelimited):
                    guard let r = reader.lengthDelimited() else { throw EnvelopeError("truncated payload") }
                    payloadRange = r
                case (4, ProtobufWire.varint):
                    guard let v = reader.varint() else { throw EnvelopeError("truncated timeout_nano") }
                    timeout = Int64(bitPattern: v)
                case (5, ProtobufWire.lengthDelimited):
                    guard let r = reader.lengthDelimited() else { throw EnvelopeError("truncated metadata") }
                    metadataBytes += r.count
                    guard metadata.count < metadataLimits.maxEntries, metadataBytes <= metadataLimits.maxBytes
                    else {
                        throw EnvelopeError(
                            "request metadata exceeds the limit of \(metadataLimits.maxEntries) entries "
                                + "or \(metadataLimits.maxBytes) bytes", isOverLimit: true)
                    }
                    metadata.append(try RequestEnvelope.decodeKeyValue(
                        bytes.getSlice(at: bytes.readerIndex + r.lowerBound, length: r.count)!))
                case (0, _):
                    throw EnvelopeError("field number 0")
                default:
                    guard reader.skipField(wireType: wireType) else { throw EnvelopeError("malformed field \(field)") }
                }
            }
        }
        self.bytes = bytes
        self.serviceRange = serviceRange
        self.methodRange = methodRange
        self.payload = bytes.getSlice(at: bytes.readerIndex + payloadRange.lowerBound, length: payloadRange.count)!
        self.timeoutNanos = timeout
        self.metadata = metadata
    }

    /// Whether the request names this service and method, given as UTF-8: a byte comparison.
    public func names(service: [UInt8], method: [UInt8]) -> Bool {
        guard serviceRange.count == service.count, methodRange.count == method.count else { return false }
        return bytes.withUnsafeReadableBytes { all in
            Self.equal(all, serviceRange, service) && Self.equal(all, methodRange, method)
        }
    }

    private static func equal(_ all: UnsafeRawBufferPointer, _ range: Range<Int>, _ name: [UInt8]) -> Bool {
        guard !range.isEmpty, let base = all.baseAddress else { return range.isEmpty }
        return name.withUnsafeBytes { memcmp(base + range.lowerBound, $0.baseAddress!, range.count) } == 0
    }

    /// The service name; throws if it is not UTF-8.
    public func serviceName() throws(EnvelopeError) -> String { try Self.name(of: bytes, serviceRange, "service") }

    /// The method name; throws if it is not UTF-8.
    public func methodName() throws(EnvelopeError) -> String { try Self.name(of: bytes, methodRange, "method") }

    private static func name(of bytes: ByteBuffer, _ range: Range<Int>, _ field: String) throws(EnvelopeError)
        -> String
    {
        guard !range.isEmpty else { return "" }
        return try bytes.withUnsafeReadableBytes { all throws(EnvelopeError) in
            try RequestEnvelope.utf8(UnsafeRawBufferPointer(rebasing: all[range]), field)
        }
    }
}

/// ttrpc's `Response` message: either OK with a payload, or an error status without one.
public struct ResponseEnvelope: Sendable, Equatable {
    /// nil means OK.
    public var error: RPCError?
    public var payload: ByteBuffer

    public init(payload: ByteBuffer) {
        self.error = nil
        self.payload = payload
    }

    public init(error: RPCError) {
        self.error = error
        self.payload = ByteBuffer()
    }

    /// Decodes a response; a missing status or code 0 is OK. Status details are skipped.
    public init(decoding bytes: ByteBuffer) throws(EnvelopeError) {
        var buffer = bytes
        var code: Int32 = 0
        var message = ""
        var payload = ByteBuffer()
        while buffer.readableBytes > 0 {
            guard let tag = buffer.readVarint() else { throw EnvelopeError("truncated field tag") }
            let wireType = UInt8(truncatingIfNeeded: tag & 7)
            switch (tag >> 3, wireType) {
            case (1, ProtobufWire.lengthDelimited):
                guard var status = buffer.readLengthDelimited() else { throw EnvelopeError("truncated status") }
                while status.readableBytes > 0 {
                    guard let stag = status.readVarint() else { throw EnvelopeError("truncated status tag") }
                    let swt = UInt8(truncatingIfNeeded: stag & 7)
                    switch (stag >> 3, swt) {
                    case (1, ProtobufWire.varint):
                        guard let v = status.readVarint() else { throw EnvelopeError("truncated status code") }
                        code = Int32(truncatingIfNeeded: v)
                    case (2, ProtobufWire.lengthDelimited):
                        guard let s = status.readLengthDelimited() else {
                            throw EnvelopeError("truncated status message")
                        }
                        message = String(buffer: s)
                    default:
                        guard stag >> 3 != 0, status.skipField(wireType: swt) else {
                            throw EnvelopeError("malformed status field")
                        }
                    }
                }
            case (2, ProtobufWire.lengthDelimited):
                guard let p = buffer.readLengthDelimited() else { throw EnvelopeError("truncated payload") }
                payload = p
            default:
                guard tag >> 3 != 0, buffer.skipField(wireType: wireType) else {
                    throw EnvelopeError("malformed field")
                }
            }
        }
        self.payload = payload
        self.error = code == 0 ? nil : RPCError(StatusCode(rawValue: code), message)
    }
}

extension ByteBuffer {
    /// Appends a whole Response frame carrying `payload` (an OK answer).
    public mutating func writeResponseFrame(streamID: UInt32, payload: ByteBuffer) {
        let n = payload.readableBytes
        let envelopeSize = n == 0 ? 0 : 1 + ProtobufWire.varintSize(UInt64(n)) + n
        let total = FrameLimits.headerSize + envelopeSize
        // One write through a pointer: each of ByteBuffer's own writes checks capacity, uniqueness and exclusive
        // access, and the header, tag and length took five of them per answer.
        self.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { out in
            var writer = RawProtobufWriter(UnsafeMutableRawBufferPointer(rebasing: out[..<total]))
            writer.frameHeader(length: envelopeSize, streamID: streamID, type: .response)
            payload.withUnsafeReadableBytes { writer.bytes(2, $0) }
            return total
        }
    }

    /// Appends a whole Response frame carrying an error status and no payload.
    public mutating func writeResponseFrame(streamID: UInt32, error: RPCError) {
        let message = error.message.utf8.count
        let codeSize = error.code.rawValue == 0 ? 0 : 1 + ProtobufWire.varintSize(UInt64(bitPattern: Int64(error.code.rawValue)))
        let messageSize = message == 0 ? 0 : 1 + ProtobufWire.varintSize(UInt64(message)) + message
        let statusSize = codeSize + messageSize
        let envelopeSize = 1 + ProtobufWire.varintSize(UInt64(statusSize)) + statusSize
        self.writeFrameHeader(length: envelopeSize, streamID: streamID, type: .response)
        self.writeInteger(UInt8(1 << 3 | ProtobufWire.lengthDelimited))
        self.writeVarint(UInt64(statusSize))
        if codeSize > 0 {
            self.writeInteger(UInt8(1 << 3 | ProtobufWire.varint))
            // Negative int32 values are sign-extended to 10 bytes, as protobuf requires.
            self.writeVarint(UInt64(bitPattern: Int64(error.code.rawValue)))
        }
        self.writeStringField(2, error.message)
    }

    /// Appends a whole Request frame.
    public mutating func writeRequestFrame(streamID: UInt32, flags: FrameFlags = [], envelope: RequestEnvelope) {
        let lengthIndex = self.writerIndex
        self.writeFrameHeader(length: 0, streamID: streamID, type: .request, flags: flags)
        let start = self.writerIndex
        envelope.encode(into: &self)
        self.setInteger(UInt32(self.writerIndex - start), at: lengthIndex)
    }

    mutating func writeStringField(_ field: UInt8, _ value: String) {
        let n = value.utf8.count
        guard n > 0 else { return }
        self.writeInteger(field << 3 | ProtobufWire.lengthDelimited)
        self.writeVarint(UInt64(n))
        self.writeString(value)
    }

    mutating func writeBytesField(_ field: UInt8, _ value: ByteBuffer) {
        self.writeInteger(field << 3 | ProtobufWire.lengthDelimited)
        self.writeVarint(UInt64(value.readableBytes))
        var v = value
        self.writeBuffer(&v)
    }
}
