import CoopProto
import CoopWire
import Foundation
import NIOCore
import SwiftProtobuf

// Helpers shared by the CoopWire tests. Frames and envelopes are written out by hand or by the
// generated swift-protobuf types, never by the code under test, so each test has an independent oracle.

/// A ttrpc frame header written byte by byte (big-endian length and stream id, then type and flags).
func frameHeader(length: UInt32, streamID: UInt32, type: UInt8, flags: UInt8 = 0) -> [UInt8] {
    [
        UInt8(truncatingIfNeeded: length >> 24), UInt8(truncatingIfNeeded: length >> 16),
        UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length),
        UInt8(truncatingIfNeeded: streamID >> 24), UInt8(truncatingIfNeeded: streamID >> 16),
        UInt8(truncatingIfNeeded: streamID >> 8), UInt8(truncatingIfNeeded: streamID),
        type, flags,
    ]
}

/// A whole frame written by hand: header then payload.
func frameBytes(streamID: UInt32, type: UInt8, flags: UInt8 = 0, payload: [UInt8]) -> [UInt8] {
    frameHeader(length: UInt32(payload.count), streamID: streamID, type: type, flags: flags) + payload
}

/// `count` bytes that are not all alike, so a misplaced slice cannot compare equal by accident.
func patternBytes(_ count: Int, seed: UInt8 = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
}

func readable(_ buffer: ByteBuffer) -> [UInt8] {
    Array(buffer.readableBytesView)
}

extension RequestEnvelope {
    /// The envelope the generated message describes.
    init(_ generated: Ttrpc_Request) {
        self.init(
            service: generated.service, method: generated.method, payload: ByteBuffer(bytes: generated.payload),
            timeoutNanos: generated.timeoutNano,
            metadata: generated.metadata.map { MetadataEntry(key: $0.key, value: $0.value) })
    }
}

extension Ttrpc_Request {
    /// The generated message describing `envelope`.
    init(_ envelope: RequestEnvelope) {
        self.init()
        self.service = envelope.service
        self.method = envelope.method
        self.payload = Data(envelope.payload.readableBytesView)
        self.timeoutNano = envelope.timeoutNanos
        self.metadata = envelope.metadata.map { entry in
            Ttrpc_KeyValue.with {
                $0.key = entry.key
                $0.value = entry.value
            }
        }
    }
}

extension ResponseEnvelope {
    /// The envelope the generated message describes: a missing status or code 0 is OK.
    init(_ generated: Ttrpc_Response) {
        self.init(payload: ByteBuffer(bytes: generated.payload))
        if generated.hasStatus, generated.status.code != 0 {
            self.error = RPCError(StatusCode(rawValue: generated.status.code), generated.status.message)
        }
    }
}

/// Splits one encoded frame into its 10 header bytes and the rest.
func splitFrame(_ buffer: ByteBuffer) -> (header: [UInt8], body: [UInt8]) {
    let all = readable(buffer)
    return (Array(all.prefix(10)), Array(all.dropFirst(10)))
}
