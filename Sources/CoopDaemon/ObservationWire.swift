import CoopProto
import CoopStore
import CoopWire
import NIOCore

/// A `ListObservationsResponse` encoded straight from the store: the bytes SwiftProtobuf writes for the mapped
/// messages (fields in number order, defaults left out, `conflicts_with` packed), without building a
/// `Coop_V1_Observation` per row. Mapping and encoding through the generated messages was half the instructions of
/// a listing page; tests compare the encodings byte for byte.
///
/// Rows are added as the store reads them (`CooperationStore.observationRows`), from the database's own bytes,
/// without making an `Observation` (a dozen Strings) each; rows with a breakdown or conflict links, which need
/// parsing, go through the model. A row is written once, through a pointer, its length after it (see
/// ``write(atMost:_:)``); an ``Observation`` is sized first, then written.
package struct ObservationPageEncoder {
    private var out = ByteBuffer()
    /// The ids and source ids of the rows added, for the lookups of sources and claims.
    package private(set) var ids: [Int64] = []
    package private(set) var sourceIDs: [Int64] = []

    package init() {
        out.reserveCapacity(4096)
    }

    package mutating func add(_ row: ObservationRow) {
        let parse = row.withValues { values -> Bool in
            guard values[.breakdown].isEmpty, values[.conflicts].isEmpty else { return true }
            let fields = RowFields(values: values)
            ids.append(values[.id])
            sourceIDs.append(values[.sourceID])
            // At most 23 fields of a tag (≤ 2 bytes) and a varint (≤ 10) or a length (≤ 5) and the bytes.
            var bound = 23 * 12
            for column in RowFields.texts { bound += values[column].count }
            write(atMost: bound) { $0.observation(fields) }
            return false
        }
        if parse { add(row.observation) }
    }

    package mutating func add(_ observation: Observation) {
        ids.append(observation.id)
        sourceIDs.append(observation.sourceID)
        var sizer = ProtobufSizer()
        sizer.observation(observation)
        write(sizer.count) { $0.observation(observation) }
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

    /// Writes one observation field whose body `body` writes in at most `bound` bytes, in one pass: its length is
    /// written after it, in the room a length of `bound` needs, and the body moved up if the length took less.
    /// (Sizing each row first, then writing it, went through every field twice: 4 % of a listing's instructions.)
    private mutating func write(atMost bound: Int, _ body: (inout RawProtobufWriter) -> Void) {
        let reserved = ProtobufWire.varintSize(UInt64(bound))
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: 1 + reserved + bound) { buffer in
            var writer = RawProtobufWriter(UnsafeMutableRawBufferPointer(rebasing: buffer[(1 + reserved)...]))
            body(&writer)
            let size = writer.offset
            precondition(size <= bound, "observation larger than its bound")
            let lengthSize = ProtobufWire.varintSize(UInt64(size))
            if lengthSize < reserved {
                (buffer.baseAddress! + 1 + lengthSize).copyMemory(from: buffer.baseAddress! + 1 + reserved, byteCount: size)
            }
            var header = RawProtobufWriter(buffer)
            header.tag(1, ProtobufWire.lengthDelimited)
            header.varint(UInt64(size))
            return 1 + lengthSize + size
        }
    }

    /// The whole answer: the rows, then the page token, sources and claims.
    package consuming func finish(
        nextPageToken: String, sources: [Coop_V1_Source], claimStatements: [Coop_V1_Statement]
    ) throws -> ByteBuffer {
        if !nextPageToken.isEmpty {
            out.writeTag(2, ProtobufWire.lengthDelimited)
            out.writeVarint(UInt64(nextPageToken.utf8.count))
            out.writeString(nextPageToken)
        }
        let embedded = try sources.map { (3, try $0.serializedBuffer()) }
            + claimStatements.map { (4, try $0.serializedBuffer()) }
        for (field, encoded) in embedded {
            out.writeTag(field, ProtobufWire.lengthDelimited)
            out.writeVarint(UInt64(encoded.readableBytes))
            out.writeImmutableBuffer(encoded)
        }
        return out
    }
}

extension ProtobufSink {
    /// A `coop.v1.Dimension` message field.
    mutating func dimension(_ field: Int, _ dimension: Dimension) {
        var sizer = ProtobufSizer()
        sizer.string(1, dimension.key)
        sizer.string(2, dimension.value)
        tag(field, ProtobufWire.lengthDelimited)
        varint(UInt64(sizer.count))
        string(1, dimension.key)
        string(2, dimension.value)
    }

    /// The fields of a `coop.v1.Observation`.
    mutating func observation(_ o: Observation) {
        int64(1, o.id)
        string(2, o.indicator)
        string(3, o.origin)
        string(4, o.destination)
        for d in o.breakdown { dimension(5, d) }
        string(6, o.periodStart)
        string(7, o.periodEnd)
        int64(8, o.value)
        int64(9, o.valueHigh)
        int64(10, Int64(o.unitMultiplier))
        string(11, o.unit)
        int64(12, Int64((protoEnum(o.qualifier) as Coop_V1_Qualifier).rawValue))
        int64(13, Int64((protoEnum(o.status) as Coop_V1_ObservationStatus).rawValue))
        int64(14, o.sourceID)
        string(15, o.locator)
        string(16, o.vintage)
        int64(17, o.supersedesID)
        int64(18, o.supersededByID)
        packed(19, o.conflictsWith)
        string(20, o.note)
        bool(21, o.retracted)
        string(22, o.retractionReason)
        int64(23, o.recordedSequence)
    }

    /// The same fields from a row without breakdown and conflict links, as the model would read it.
    mutating func observation(_ row: RowFields) {
        let v = row.values
        int64(1, v[.id])
        bytes(2, v[.indicator])
        bytes(3, v[.origin])
        bytes(4, v[.destination])
        bytes(6, v[.periodStart])
        bytes(7, v[.periodEnd])
        int64(8, v[.value])
        int64(9, v[.valueHigh])
        // The model reads the multiplier as an Int32.
        int64(10, Int64(Int32(truncatingIfNeeded: v[.unitMultiplier])))
        bytes(11, v[.unit])
        int64(12, row.qualifier)
        int64(13, row.status)
        int64(14, v[.sourceID])
        bytes(15, v[.locator])
        bytes(16, v[.vintage])
        int64(17, v[.supersedesID])
        int64(18, v[.supersededByID])
        bytes(20, v[.note])
        bool(21, v[.retracted] != 0)
        bytes(22, v[.retractionReason])
        int64(23, v[.recordedSequence])
    }
}

/// A row's columns with its enums already mapped to their proto numbers.
struct RowFields {
    /// The text columns written as they are (their bytes bound a row's encoded size).
    static let texts: [ObservationRow.Text] = [
        .indicator, .origin, .destination, .periodStart, .periodEnd, .unit, .locator, .vintage, .note, .retractionReason,
    ]

    let values: ObservationRowValues
    let qualifier: Int64
    let status: Int64

    init(values: ObservationRowValues) {
        self.values = values
        qualifier = EnumNumbers.number(values[.qualifier], EnumNumbers.qualifiers)
        status = EnumNumbers.number(values[.status], EnumNumbers.statuses)
    }
}

/// The proto numbers of the stored qualifier and status texts, read from their bytes (as the model maps them:
/// unknown text is unspecified).
enum EnumNumbers {
    static let qualifiers: [([UInt8], Int64)] = Qualifier.allCases.map {
        (Array($0.rawValue.utf8), Int64((protoEnum($0) as Coop_V1_Qualifier).rawValue))
    }
    static let statuses: [([UInt8], Int64)] = ObservationStatus.allCases.map {
        (Array($0.rawValue.utf8), Int64((protoEnum($0) as Coop_V1_ObservationStatus).rawValue))
    }

    static func number(_ bytes: UnsafeRawBufferPointer, _ table: [([UInt8], Int64)]) -> Int64 {
        for (text, number) in table where text.count == bytes.count && text.elementsEqual(bytes) {
            return number
        }
        return table[0].1
    }
}
