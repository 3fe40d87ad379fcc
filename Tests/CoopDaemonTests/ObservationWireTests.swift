import CoopProto
import CoopStore
import CoopWire
import Foundation
import NIOCore
import SwiftProtobuf
import Testing

@testable import CoopDaemon
import CoopServer

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
            let statements: [Coop_V1_Statement] = sources.isEmpty ? [] : [
                .with { $0.id = 3; $0.speaker.name = "Dao Ngoc Dung"; $0.speaker.nativeName = "Đào Ngọc Dung"; $0.claimObservationID = 42 },
                .with { $0.id = 9; $0.text = "About 345,000"; $0.conflictsWith = [1, 2] },
            ]
            var reference = Coop_V1_ListObservationsResponse()
            reference.observations = items.map(Coop_V1_Observation.init)
            reference.nextPageToken = token
            reference.sources = sources
            reference.claimStatements = statements
            let expected = try reference.serializedBuffer()
            let encoded = try pageOfObservations(
                items, nextPageToken: token, sources: sources, claimStatements: statements)
            #expect(Array(encoded.readableBytesView) == Array(expected.readableBytesView))
            #expect(try Coop_V1_ListObservationsResponse(buffer: encoded) == reference)
        }
    }

    /// Every field the .proto gives an observation is carried by the model, its mapping and the hand-written
    /// encoders: the richest sample, mapped, sets every one. A field added to the .proto and not carried fails here.
    @Test func everyFieldOfTheProtoObservationIsCarried() throws {
        let declared = Self.fieldNumbers(of: Coop_V1_Observation.self)
        #expect(declared == Set(1...23), "coop.v1.Observation's fields changed: carry the new ones, then update this set")
        let full = Self.observations[1]
        var present: Set<Int> = []
        var bytes = try Coop_V1_Observation(full).serializedBytes() as [UInt8]
        while !bytes.isEmpty {
            let (key, rest) = Self.varint(bytes)
            present.insert(Int(key >> 3))
            switch key & 7 {
            case 0: bytes = Self.varint(rest).rest
            case 2:
                let (length, tail) = Self.varint(rest)
                bytes = Array(tail.dropFirst(Int(length)))
            default: Issue.record("unexpected wire type in \(key)"); return
            }
        }
        #expect(present == declared, "not carried: \(declared.subtracting(present).sorted())")
        // And the hand-written encoder writes every one of them.
        let page = try pageOfObservations([full], nextPageToken: "", sources: [])
        #expect(try Coop_V1_ListObservationsResponse(buffer: page).observations == [Coop_V1_Observation(full)])
    }

    /// The field numbers a message declares: a number it does not declare decodes into its unknown fields
    /// whatever its wire type; a declared one is read (or refused) as a varint or as length-delimited.
    static func fieldNumbers<M: SwiftProtobuf.Message>(of type: M.Type) -> Set<Int> {
        Set((1...200).filter { number in
            [varintBytes(UInt64(number << 3)) + [1], varintBytes(UInt64(number << 3 | 2)) + [1, 0x61]].contains { bytes in
                guard let decoded = try? M(serializedBytes: bytes) else { return true }
                return decoded.unknownFields.data.isEmpty
            }
        })
    }

    static func varintBytes(_ value: UInt64) -> [UInt8] {
        var value = value
        var out: [UInt8] = []
        while value >= 0x80 {
            out.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        return out + [UInt8(value)]
    }

    static func varint(_ bytes: [UInt8]) -> (value: UInt64, rest: [UInt8]) {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return (value, Array(bytes[(index + 1)...])) }
            shift += 7
        }
        return (value, [])
    }
}

/// Each service serves exactly the methods its .proto declares, each registered by its generated type.
@Suite struct ServiceMethodTests {
    @Test func aServiceMissingOrAddingAMethodOfItsProtoIsRefused() throws {
        var diagnostics = ServiceDefinition(name: Coop_V1_DiagnosticsMethods.service)
        try diagnostics.addInline(Coop_V1_DiagnosticsMethods.Echo.self) { request, _ in
            Coop_V1_EchoResponse.with { $0.data = request.data }
        }
        #expect(throws: RPCError.self) { try diagnostics.requireExactly(Coop_V1_DiagnosticsMethods.names) }
        try diagnostics.addInline(Coop_V1_DiagnosticsMethods.GetServerInfo.self) { _, _ in Coop_V1_ServerInfo() }
        #expect(throws: RPCError.self) { try diagnostics.requireExactly(Coop_V1_DiagnosticsMethods.names) }
        try diagnostics.addInline(Coop_V1_DiagnosticsMethods.GetMetrics.self) { _, _ in Coop_V1_Metrics() }
        try diagnostics.requireExactly(Coop_V1_DiagnosticsMethods.names)
        try diagnostics.addInline("Extra") { (_: Coop_V1_EchoRequest, _) in Coop_V1_EchoResponse() }
        #expect(throws: RPCError.self) { try diagnostics.requireExactly(Coop_V1_DiagnosticsMethods.names) }

        // Another service's method, or a stream registered as unary, is refused at registration.
        #expect(throws: RPCError.self) {
            try diagnostics.addInline(Coop_V1_CooperationMethods.ListCountries.self) { _, _ in .init() }
        }
        var cooperation = ServiceDefinition(name: Coop_V1_CooperationMethods.service)
        #expect(throws: RPCError.self) {
            try cooperation.addUnary(Coop_V1_CooperationMethods.WatchChanges.self) { _, _ in .init() }
        }
    }

    @Test func theGeneratedTablesListEveryRPCOfTheProtos() throws {
        // From Proto/coop/v1/*.proto, as protoc reads them (see Proto/methods.py).
        #expect(Coop_V1_CooperationMethods.names.count == 22)
        #expect(Coop_V1_CooperationMethods.WatchChanges.serverStreaming)
        #expect(Coop_V1_DiagnosticsMethods.names == ["Echo", "GetServerInfo", "GetMetrics"])
        #expect(Grpc_Health_V1_HealthMethods.names == ["Check", "Watch"])
    }
}

/// Pages encoded from the store's rows as they are read are the bytes of the same page encoded from its
/// observations, on the shipped data plus rows with every kind of field (breakdowns, conflicts, revisions,
/// retractions, escapes).
@Suite struct ObservationPageEncoderTests {
    @Test func pagesEncodedFromRowsAreThePagesEncodedFromObservations() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(path: directory.appendingPathComponent("coop.sqlite").path)
        defer { try? store.close() }
        try await store.importSeedIfNeeded(progress: { _ in })
        let sourceID = try store.sources(page: PageRequest(size: 1)).items[0].id
        func write(_ id: String) -> WriteContext { WriteContext(requestID: id, writerUID: 1000) }
        _ = try await store.putIndicator(
            Indicator(
                code: "TEST_BY_SEX", name: "Test", measure: .stock, unit: "persons", periodBasis: .asOfDate,
                breakdownDimensions: ["sex", "status"]), write("rows-0"))
        let added = try await store.addObservations([
            Observation(
                indicator: "TEST_BY_SEX", origin: "VN", destination: "JP",
                breakdown: [Dimension(key: "sex", value: "F"), Dimension(key: "status", value: "x;y=z%")],
                periodStart: "2031-10-31", periodEnd: "2031-10-31", value: 12, unit: "persons", qualifier: .atLeast,
                status: .provisional, sourceID: sourceID, locator: "p. 3", vintage: "2032-01-31",
                note: "Đào Ngọc Dung — 日本 \"quoted\""),
            Observation(
                indicator: "JP_MHLW_FOREIGN_WORKERS", origin: "VN", destination: "JP", periodStart: "2031-10-31",
                periodEnd: "2031-10-31", value: 13, valueHigh: 20, unitMultiplier: 3, unit: "persons",
                qualifier: .asWorded, sourceID: sourceID, vintage: "2032-01-31"),
            Observation(
                indicator: "JP_MHLW_FOREIGN_WORKERS", origin: "VN", destination: "JP", periodStart: "2031-11-30",
                periodEnd: "2031-11-30", value: 14, unit: "persons", sourceID: sourceID, vintage: "2032-01-31"),
            // Rows whose encoded length takes one, two and three bytes, and two where the room kept for the length
            // (from an upper bound on the row's size) is more than the length takes.
            Observation(
                indicator: "TEST_BY_SEX", origin: "VN", destination: "JP", periodStart: "2031-12",
                periodEnd: "2031-12", value: 1, sourceID: sourceID),
            Observation(
                indicator: "TEST_BY_SEX", origin: "VN", destination: "JP", periodStart: "2032-01",
                periodEnd: "2032-01", value: 2, sourceID: sourceID, note: String(repeating: "n", count: 60)),
            Observation(
                indicator: "TEST_BY_SEX", origin: "VN", destination: "JP", periodStart: "2032-02",
                periodEnd: "2032-02", value: 3, sourceID: sourceID, note: String(repeating: "ư", count: 8_150)),
            Observation(
                indicator: "TEST_BY_SEX", origin: "VN", destination: "JP", periodStart: "2032-03",
                periodEnd: "2032-03", value: 4, sourceID: sourceID, note: String(repeating: "x", count: 20_000)),
        ], write("rows-1"))
        _ = try await store.linkConflict(added[1].id, with: added[2].id, note: "differ", write("rows-2"))
        var revision = added[2]
        revision.id = 0
        revision.recordedSequence = 0
        revision.conflictsWith = []
        revision.value = 15
        revision.vintage = "2032-02-28"
        _ = try await store.reviseObservation(supersedes: added[2].id, revision: revision, write("rows-3"))
        _ = try await store.retractObservation(added[0].id, reason: "typo", write("rows-4"))

        var queries: [ObservationQuery] = []
        for pageSize in [1, 7, 100, 1000] {
            var everything = ObservationQuery()
            everything.anyBreakdown = true
            everything.includeSuperseded = true
            everything.includeRetracted = true
            everything.includeClaims = true
            everything.includeConflicts = true
            everything.page = PageRequest(size: pageSize)
            queries.append(everything)
            var latest = ObservationQuery()
            latest.origin = "VN"
            latest.destination = "JP"
            latest.page = PageRequest(size: pageSize)
            queries.append(latest)
        }
        var pages = 0
        for var query in queries {
            // Every page of the listing, following its tokens.
            while true {
                let page = try store.observations(query)
                let expected = try pageOfObservations(
                    page.items, nextPageToken: page.nextToken, sources: [])
                var encoder = ObservationPageEncoder()
                let (token, _) = try store.observationRows(query, claims: false) { encoder.add($0) }
                #expect(token == page.nextToken)
                #expect(encoder.ids == page.items.map(\.id))
                #expect(encoder.sourceIDs == page.items.map(\.sourceID))
                let actual = try encoder.finish(nextPageToken: token, sources: [], claimStatements: [])
                #expect(actual == expected, "page \(pages) of a query")
                pages += 1
                if token.isEmpty || pages > 400 { break }
                query.page.token = token
            }
        }
        #expect(pages > 20)
    }
}

/// A page encoded from observations (the model path of ``ObservationPageEncoder``).
func pageOfObservations(
    _ observations: [Observation], nextPageToken: String, sources: [Coop_V1_Source],
    claimStatements: [Coop_V1_Statement] = []
) throws -> ByteBuffer {
    var encoder = ObservationPageEncoder()
    for observation in observations { encoder.add(observation) }
    return try encoder.finish(nextPageToken: nextPageToken, sources: sources, claimStatements: claimStatements)
}
