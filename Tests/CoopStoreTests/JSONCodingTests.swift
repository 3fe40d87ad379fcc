@testable import CoopStore
import Foundation
import Testing

/// The hand-written observation JSON must be what JSONEncoder writes (the change log and stored request
/// results hold it) and must read back to the same value.
@Suite struct JSONCodingTests {
    static let samples: [Observation] = {
        var plain = Observation(
            id: 42, indicator: "JP_MHLW_FOREIGN_WORKERS", origin: "VN", destination: "JP", periodStart: "2023-10-31",
            periodEnd: "2023-10-31", value: 518_364, sourceID: 7, vintage: "2024-01-26")
        plain.recordedSequence = 99
        var full = plain
        full.breakdown = [Dimension(key: "status_of_residence", value: "TITP"), Dimension(key: "sex", value: "F")]
        full.valueHigh = 600_000
        full.unitMultiplier = 3
        full.unit = "persons"
        full.qualifier = .atLeast
        full.status = .lowReliability
        full.locator = "p. 12, table 3 / \"row\" 4 \\ note"
        full.supersedesID = 3
        full.supersededByID = 9
        full.conflictsWith = [1, 2, 12_345_678_901]
        full.note = "Đào Ngọc Dung said \"hơn 345.000\" — 日本"
        full.retracted = true
        full.retractionReason = "typo"
        var negative = plain
        negative.id = -1
        negative.value = Int64.max
        return [plain, full, negative]
    }()

    /// The lists of `IN (SELECT value FROM json_each(?))` (and an indicator's stored breakdown dimensions).
    @Test func jsonArraysAreWhatJSONEncoderWrites() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let texts: [[String]] = [
            [], ["JP_MHLW_FOREIGN_WORKERS"], ["a\"b", "back\\slash", "tab\tnew\nline\r", "\u{1}\u{1F}\u{8}\u{C}", "a/b",
                                           "Đào Ngọc Dung — 日本", ""],
        ]
        for list in texts {
            #expect(jsonArray(list) == String(decoding: try encoder.encode(list), as: UTF8.self))
        }
        for list: [Int64] in [[], [0], [1, -2, Int64.max, Int64.min]] {
            #expect(jsonArray(list) == String(decoding: try encoder.encode(list), as: UTF8.self))
        }
    }

    @Test(arguments: samples)
    func observationJSONIsWhatJSONEncoderWrites(_ observation: Observation) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let reference = String(decoding: try encoder.encode(observation), as: UTF8.self)
        #expect(JSONCoding.encode(observation) == reference)
        #expect(try JSONCoding.encode([observation, observation]) == "[\(reference),\(reference)]")
    }

    @Test func controlCharactersReadBackUnchanged() throws {
        var observation = Self.samples[0]
        observation.note = "tab\there\nnew line\r\u{8}\u{c}\u{1}\u{1f}end"
        observation.breakdown = [Dimension(key: "k\u{0}", value: "v\u{7f}")]
        let json = JSONCoding.encode(observation)
        #expect(try JSONCoding.decode(Observation.self, from: json) == observation)
    }
}
