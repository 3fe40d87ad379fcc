import CoopProto
import CoopStore
import CoopWire
import NIOCore

/// `ListObservationsResponse` encoded straight from the store's observations: the bytes SwiftProtobuf writes
/// for the mapped messages (fields in number order, defaults left out, `conflicts_with` packed), without
/// building a `Coop_V1_Observation` per row. Mapping and encoding through the generated messages was half
/// the instructions of a listing page; a test compares both encodings byte for byte.
package enum ObservationWire {
    package static func listObservationsResponse(
        _ observations: [Observation], nextPageToken: String, sources: [Coop_V1_Source],
        claimStatements: [Coop_V1_Statement] = []
    ) throws -> ByteBuffer {
        let sizes = observations.map(size)
        var capacity = sizes.reduce(0) { $0 + 1 + ProtobufWire.varintSize(UInt64($1)) + $1 } + 16 + nextPageToken.utf8.count
        let encodedSources = try sources.map { try $0.serializedBuffer() }
        let encodedStatements = try claimStatements.map { try $0.serializedBuffer() }
        capacity += (encodedSources + encodedStatements).reduce(0) {
            $0 + 1 + ProtobufWire.varintSize(UInt64($1.readableBytes)) + $1.readableBytes
        }
        var out = ByteBuffer()
        out.reserveCapacity(capacity)
        for (observation, size) in zip(observations, sizes) {
            out.writeTag(1, ProtobufWire.lengthDelimited)
            out.writeVarint(UInt64(size))
            write(observation, to: &out)
        }
        out.writeString(2, nextPageToken)
        for source in encodedSources {
            out.writeTag(3, ProtobufWire.lengthDelimited)
            out.writeVarint(UInt64(source.readableBytes))
            out.writeImmutableBuffer(source)
        }
        for statement in encodedStatements {
            out.writeTag(4, ProtobufWire.lengthDelimited)
            out.writeVarint(UInt64(statement.readableBytes))
            out.writeImmutableBuffer(statement)
        }
        return out
    }

    /// The encoded size of one observation message (without its own tag and length).
    static func size(_ o: Observation) -> Int {
        var n = 0
        n += int64Size(1, o.id)
        n += stringSize(2, o.indicator) + stringSize(3, o.origin) + stringSize(4, o.destination)
        for d in o.breakdown {
            let inner = stringSize(1, d.key) + stringSize(2, d.value)
            n += 1 + ProtobufWire.varintSize(UInt64(inner)) + inner
        }
        n += stringSize(6, o.periodStart) + stringSize(7, o.periodEnd)
        n += int64Size(8, o.value) + int64Size(9, o.valueHigh) + int64Size(10, Int64(o.unitMultiplier))
        n += stringSize(11, o.unit)
        n += int64Size(12, Int64(enumNumber(o.qualifier))) + int64Size(13, Int64(enumNumber(o.status)))
        n += int64Size(14, o.sourceID) + stringSize(15, o.locator) + stringSize(16, o.vintage)
        // Fields from 16 on take two bytes of tag.
        n += int64Size(17, o.supersedesID) + int64Size(18, o.supersededByID)
        if !o.conflictsWith.isEmpty {
            let packed = packedSize(o.conflictsWith)
            n += 2 + ProtobufWire.varintSize(UInt64(packed)) + packed
        }
        n += stringSize(20, o.note)
        n += o.retracted ? 3 : 0
        n += stringSize(22, o.retractionReason) + int64Size(23, o.recordedSequence)
        return n
    }

    static func write(_ o: Observation, to out: inout ByteBuffer) {
        out.writeInt64(1, o.id)
        out.writeString(2, o.indicator)
        out.writeString(3, o.origin)
        out.writeString(4, o.destination)
        for d in o.breakdown {
            out.writeTag(5, ProtobufWire.lengthDelimited)
            out.writeVarint(UInt64(stringSize(1, d.key) + stringSize(2, d.value)))
            out.writeString(1, d.key)
            out.writeString(2, d.value)
        }
        out.writeString(6, o.periodStart)
        out.writeString(7, o.periodEnd)
        out.writeInt64(8, o.value)
        out.writeInt64(9, o.valueHigh)
        out.writeInt64(10, Int64(o.unitMultiplier))
        out.writeString(11, o.unit)
        out.writeInt64(12, Int64(enumNumber(o.qualifier)))
        out.writeInt64(13, Int64(enumNumber(o.status)))
        out.writeInt64(14, o.sourceID)
        out.writeString(15, o.locator)
        out.writeString(16, o.vintage)
        out.writeInt64(17, o.supersedesID)
        out.writeInt64(18, o.supersededByID)
        if !o.conflictsWith.isEmpty {
            out.writeTag(19, ProtobufWire.lengthDelimited)
            out.writeVarint(UInt64(packedSize(o.conflictsWith)))
            for id in o.conflictsWith { out.writeVarint(UInt64(bitPattern: id)) }
        }
        out.writeString(20, o.note)
        if o.retracted {
            out.writeTag(21, ProtobufWire.varint)
            out.writeVarint(1)
        }
        out.writeString(22, o.retractionReason)
        out.writeInt64(23, o.recordedSequence)
    }

    private static func enumNumber(_ qualifier: Qualifier) -> Int {
        (protoEnum(qualifier) as Coop_V1_Qualifier).rawValue
    }

    private static func enumNumber(_ status: ObservationStatus) -> Int {
        (protoEnum(status) as Coop_V1_ObservationStatus).rawValue
    }

    private static func tagSize(_ field: Int) -> Int { field < 16 ? 1 : 2 }

    private static func int64Size(_ field: Int, _ value: Int64) -> Int {
        value == 0 ? 0 : tagSize(field) + ProtobufWire.varintSize(UInt64(bitPattern: value))
    }

    private static func stringSize(_ field: Int, _ value: String) -> Int {
        let count = value.utf8.count
        return count == 0 ? 0 : tagSize(field) + ProtobufWire.varintSize(UInt64(count)) + count
    }

    private static func packedSize(_ values: [Int64]) -> Int {
        values.reduce(0) { $0 + ProtobufWire.varintSize(UInt64(bitPattern: $1)) }
    }

}

/// Field writers over CoopWire's varint and tag primitives.
extension ByteBuffer {
    /// int64, int32 and enums alike: a varint of the 64-bit two's complement; nothing for 0.
    fileprivate mutating func writeInt64(_ field: Int, _ value: Int64) {
        guard value != 0 else { return }
        writeTag(field, ProtobufWire.varint)
        writeVarint(UInt64(bitPattern: value))
    }

    fileprivate mutating func writeString(_ field: Int, _ value: String) {
        guard !value.isEmpty else { return }
        writeTag(field, ProtobufWire.lengthDelimited)
        writeVarint(UInt64(value.utf8.count))
        writeString(value)
    }
}
