import CoopProto
import CoopStore
import CoopWire
import NIOCore
import Testing

import CoopDaemon

/// ListObservations answers are encoded by hand; they must be the bytes SwiftProtobuf writes for the
/// mapped messages, so every client decodes them as it would any other answer.
@Suite struct ObservationWireTests {
    static let observations: [Observation] = {
        var plain = Observation(
            id: 42, indicator: "JP_MHLW_FOREIGN_WORKERS", origin: "VN", destination: "JP", periodStart: "2023-10-31",
            periodEnd: "2023-10-31", value: 518_364, sourceID: 7, vintage: "2024-01-26")
        plain.recordedSequence = 99
        var full = plain
        full.id = 1 << 40
        full.breakdown = [Dimension(key: "sex", value: "F"), Dimension(key: "status_of_residence", value: "TITP")]
        full.valueHigh = 600_000
        full.unitMultiplier = 15
        full.unit = "persons"
        full.qualifier = .asWorded
        full.status = .lowReliability
        full.locator = String(repeating: "long locator ", count: 20)
        full.supersedesID = 3
        full.supersededByID = 300
        full.conflictsWith = [1, 127, 128, 16_384, Int64.max]
        full.note = "Đào Ngọc Dung: \"hơn 345.000\" — 日本"
        full.retracted = true
        full.retractionReason = "typo"
        var odd = Observation(
            indicator: "X", origin: "_T", destination: "JP", periodStart: "2020", periodEnd: "2021", value: -1)
        odd.unitMultiplier = -2
        odd.qualifier = .unspecified
        odd.status = .unspecified
        odd.recordedSequence = Int64.min
        let empty = Observation(indicator: "", origin: "", destination: "", periodStart: "", periodEnd: "", value: 0)
        return [plain, full, odd, empty]
    }()

    @Test(arguments: [0, 1, 2, 4])
    func handEncodedPagesAreWhatSwiftProtobufWrites(count: Int) throws {
        let items = Array(Self.observations.prefix(count))
        for (token, sources) in [("", [Coop_V1_Source]()), ("eyJsIjoib2JzZXJ2YXRpb25zIn0", [
            .with { $0.id = 7; $0.title = "Foreign workers report"; $0.publisher = "MHLW" },
            .with { $0.id = 8; $0.title = "Đề án" },
        ])] {
            var reference = Coop_V1_ListObservationsResponse()
            reference.observations = items.map(Coop_V1_Observation.init)
            reference.nextPageToken = token
            reference.sources = sources
            let expected = try reference.serializedBuffer()
            let encoded = try ObservationWire.listObservationsResponse(items, nextPageToken: token, sources: sources)
            #expect(Array(encoded.readableBytesView) == Array(expected.readableBytesView))
            #expect(try Coop_V1_ListObservationsResponse(buffer: encoded) == reference)
        }
    }
}
