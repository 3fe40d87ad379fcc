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
        let rows = zip(sizes, sizes.map { 1 + ProtobufWire.varintSize(UInt64($0)) }).reduce(0) { $0 + $1.0 + $1.1 }
        // The rows' exact size is known: written through a pointer, without a capacity check per byte.
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: rows) { buffer in
            var writer = RawProtobufWriter(buffer)
            for (observation, size) in zip(observations, sizes) {
                writer.tag(1, ProtobufWire.lengthDelimited)
                writer.varint(UInt64(size))
                writer.observation(observation)
            }
            precondition(writer.offset == rows, "observation sizes disagree with what was written")
            return rows
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
        let count = size(o)
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { buffer in
            var writer = RawProtobufWriter(buffer)
            writer.observation(o)
            precondition(writer.offset == count, "observation size disagrees with what was written")
            return count
        }
    }

    static func enumNumber(_ qualifier: Qualifier) -> Int {
        (protoEnum(qualifier) as Coop_V1_Qualifier).rawValue
    }

    static func enumNumber(_ status: ObservationStatus) -> Int {
        (protoEnum(status) as Coop_V1_ObservationStatus).rawValue
    }

    static func tagSize(_ field: Int) -> Int { field < 16 ? 1 : 2 }

    static func int64Size(_ field: Int, _ value: Int64) -> Int {
        value == 0 ? 0 : tagSize(field) + ProtobufWire.varintSize(UInt64(bitPattern: value))
    }

    fileprivate static func stringSize(_ field: Int, _ value: String) -> Int {
        let count = value.utf8.count
        return count == 0 ? 0 : tagSize(field) + ProtobufWire.varintSize(UInt64(count)) + count
    }

    fileprivate static func packedSize(_ values: [Int64]) -> Int {
        values.reduce(0) { $0 + ProtobufWire.varintSize(UInt64(bitPattern: $1)) }
    }

}

/// Field writers over CoopWire's varint and tag primitives.
extension ByteBuffer {
    fileprivate mutating func writeString(_ field: Int, _ value: String) {
        guard !value.isEmpty else { return }
        writeTag(field, ProtobufWire.lengthDelimited)
        writeVarint(UInt64(value.utf8.count))
        writeString(value)
    }
}

/// Writes protobuf fields into memory whose size was computed beforehand: a bounds check per write instead of
/// ByteBuffer's capacity and uniqueness checks per byte.
struct RawProtobufWriter {
    let buffer: UnsafeMutableRawBufferPointer
    var offset = 0

    init(_ buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    mutating func varint(_ value: UInt64) {
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

    mutating func tag(_ field: Int, _ wireType: UInt8) {
        varint(UInt64(field) << 3 | UInt64(wireType))
    }

    /// int64, int32 and enums alike; nothing for 0.
    mutating func int64(_ field: Int, _ value: Int64) {
        guard value != 0 else { return }
        tag(field, ProtobufWire.varint)
        varint(UInt64(bitPattern: value))
    }

    mutating func string(_ field: Int, _ value: String) {
        guard !value.isEmpty else { return }
        var value = value
        value.withUTF8 { bytes(field, UnsafeRawBufferPointer($0)) }
    }

    /// A string field from its UTF-8 bytes; nothing when empty.
    mutating func bytes(_ field: Int, _ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        tag(field, ProtobufWire.lengthDelimited)
        varint(UInt64(bytes.count))
        precondition(offset + bytes.count <= buffer.count)
        UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<offset + bytes.count]).copyMemory(from: bytes)
        offset += bytes.count
    }

    mutating func observation(_ o: Observation) {
        int64(1, o.id)
        string(2, o.indicator)
        string(3, o.origin)
        string(4, o.destination)
        for d in o.breakdown {
            tag(5, ProtobufWire.lengthDelimited)
            varint(UInt64(ObservationWire.stringSize(1, d.key) + ObservationWire.stringSize(2, d.value)))
            string(1, d.key)
            string(2, d.value)
        }
        string(6, o.periodStart)
        string(7, o.periodEnd)
        int64(8, o.value)
        int64(9, o.valueHigh)
        int64(10, Int64(o.unitMultiplier))
        string(11, o.unit)
        int64(12, Int64(ObservationWire.enumNumber(o.qualifier)))
        int64(13, Int64(ObservationWire.enumNumber(o.status)))
        int64(14, o.sourceID)
        string(15, o.locator)
        string(16, o.vintage)
        int64(17, o.supersedesID)
        int64(18, o.supersededByID)
        if !o.conflictsWith.isEmpty {
            tag(19, ProtobufWire.lengthDelimited)
            varint(UInt64(ObservationWire.packedSize(o.conflictsWith)))
            for id in o.conflictsWith { varint(UInt64(bitPattern: id)) }
        }
        string(20, o.note)
        if o.retracted {
            tag(21, ProtobufWire.varint)
            varint(1)
        }
        string(22, o.retractionReason)
        int64(23, o.recordedSequence)
    }
}

/// A `ListObservationsResponse` encoded from the store's rows as they are read (`CooperationStore.observationRows`):
/// the same bytes as ``ObservationWire/listObservationsResponse(_:nextPageToken:sources:claimStatements:)`` of the
/// same observations, without making an `Observation` (a dozen Strings) per row. Rows with a breakdown or conflict
/// links, which need parsing, go through the model.
package struct ObservationPageEncoder {
    private var out = ByteBuffer()
    /// The ids and source ids of the rows added, for the lookups of sources and claims.
    package private(set) var ids: [Int64] = []
    package private(set) var sourceIDs: [Int64] = []

    package init() {
        out.reserveCapacity(4096)
    }

    package mutating func add(_ row: ObservationRow) {
        let model = row.withValues { values -> Bool in
            ids.append(values[.id])
            sourceIDs.append(values[.sourceID])
            guard values[.breakdown].isEmpty, values[.conflicts].isEmpty else { return true }
            let qualifier = EnumNumbers.number(values[.qualifier], EnumNumbers.qualifiers)
            let status = EnumNumbers.number(values[.status], EnumNumbers.statuses)
            let size = Self.size(values, qualifier: qualifier, status: status)
            write(size) { Self.write(values, qualifier: qualifier, status: status, to: &$0) }
            return false
        }
        if model {
            let observation = row.observation
            write(ObservationWire.size(observation)) { $0.observation(observation) }
        }
    }

    /// Writes one observation field (tag, length, then `body`'s `size` bytes) through a pointer.
    private mutating func write(_ size: Int, _ body: (inout RawProtobufWriter) -> Void) {
        let total = 1 + ProtobufWire.varintSize(UInt64(size)) + size
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { buffer in
            var writer = RawProtobufWriter(buffer)
            writer.tag(1, ProtobufWire.lengthDelimited)
            writer.varint(UInt64(size))
            body(&writer)
            precondition(writer.offset == total, "observation size disagrees with what was written")
            return total
        }
    }

    /// The whole answer: the rows, then the page token, sources and claims.
    package consuming func finish(
        nextPageToken: String, sources: [Coop_V1_Source], claimStatements: [Coop_V1_Statement]
    ) throws -> ByteBuffer {
        out.writeString(2, nextPageToken)
        for source in sources {
            let encoded = try source.serializedBuffer()
            out.writeTag(3, ProtobufWire.lengthDelimited)
            out.writeVarint(UInt64(encoded.readableBytes))
            out.writeImmutableBuffer(encoded)
        }
        for statement in claimStatements {
            let encoded = try statement.serializedBuffer()
            out.writeTag(4, ProtobufWire.lengthDelimited)
            out.writeVarint(UInt64(encoded.readableBytes))
            out.writeImmutableBuffer(encoded)
        }
        return out
    }

    private static func textSize(_ field: Int, _ row: ObservationRowValues, _ column: ObservationRow.Text) -> Int {
        let count = row[column].count
        return count == 0 ? 0 : ObservationWire.tagSize(field) + ProtobufWire.varintSize(UInt64(count)) + count
    }

    private static func int64Size(_ field: Int, _ value: Int64) -> Int {
        ObservationWire.int64Size(field, value)
    }

    /// The stored unit multiplier, as the model reads it (an Int32).
    private static func unitMultiplier(_ row: ObservationRowValues) -> Int64 {
        Int64(Int32(truncatingIfNeeded: row[.unitMultiplier]))
    }

    /// The size of a row without breakdown and conflict links, as `ObservationWire.size` counts its observation.
    private static func size(_ row: ObservationRowValues, qualifier: Int64, status: Int64) -> Int {
        var n = int64Size(1, row[.id])
        n += textSize(2, row, .indicator) + textSize(3, row, .origin) + textSize(4, row, .destination)
        n += textSize(6, row, .periodStart) + textSize(7, row, .periodEnd)
        n += int64Size(8, row[.value]) + int64Size(9, row[.valueHigh]) + int64Size(10, unitMultiplier(row))
        n += textSize(11, row, .unit)
        n += int64Size(12, qualifier) + int64Size(13, status)
        n += int64Size(14, row[.sourceID]) + textSize(15, row, .locator) + textSize(16, row, .vintage)
        n += int64Size(17, row[.supersedesID]) + int64Size(18, row[.supersededByID])
        n += textSize(20, row, .note)
        n += row[.retracted] != 0 ? 3 : 0
        n += textSize(22, row, .retractionReason) + int64Size(23, row[.recordedSequence])
        return n
    }

    private static func write(
        _ row: ObservationRowValues, qualifier: Int64, status: Int64, to writer: inout RawProtobufWriter
    ) {
        writer.int64(1, row[.id])
        writer.bytes(2, row[.indicator])
        writer.bytes(3, row[.origin])
        writer.bytes(4, row[.destination])
        writer.bytes(6, row[.periodStart])
        writer.bytes(7, row[.periodEnd])
        writer.int64(8, row[.value])
        writer.int64(9, row[.valueHigh])
        writer.int64(10, unitMultiplier(row))
        writer.bytes(11, row[.unit])
        writer.int64(12, qualifier)
        writer.int64(13, status)
        writer.int64(14, row[.sourceID])
        writer.bytes(15, row[.locator])
        writer.bytes(16, row[.vintage])
        writer.int64(17, row[.supersedesID])
        writer.int64(18, row[.supersededByID])
        writer.bytes(20, row[.note])
        if row[.retracted] != 0 {
            writer.tag(21, ProtobufWire.varint)
            writer.varint(1)
        }
        writer.bytes(22, row[.retractionReason])
        writer.int64(23, row[.recordedSequence])
    }
}

/// The proto numbers of the stored qualifier and status texts, read from their bytes (as the model maps them:
/// unknown text is unspecified).
private enum EnumNumbers {
    static let qualifiers: [([UInt8], Int64)] = Qualifier.allCases.map {
        (Array($0.rawValue.utf8), Int64(ObservationWire.enumNumber($0)))
    }
    static let statuses: [([UInt8], Int64)] = ObservationStatus.allCases.map {
        (Array($0.rawValue.utf8), Int64(ObservationWire.enumNumber($0)))
    }

    static func number(_ bytes: UnsafeRawBufferPointer, _ table: [([UInt8], Int64)]) -> Int64 {
        for (text, number) in table where text.count == bytes.count && text.elementsEqual(bytes) {
            return number
        }
        return table[0].1
    }
}
