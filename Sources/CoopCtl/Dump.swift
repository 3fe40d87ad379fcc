import CoopClient
import CoopProto
import CoopWire
import Foundation
import SwiftProtobuf

/// Everything a coopd holds, as one JSON document (`export --all`), which `import` restores into an empty coopd:
///
///     {
///     "format": "coopd-dump",
///     "version": 1,
///     "indicators": [ {Indicator}, … ],       by code
///     "sources": [ {Source}, … ],             then every list by id
///     "observations": [ {Observation}, … ],   every vintage, superseded, retracted (with reason) and claims
///     "conflicts": [ {"observation_id": A, "conflicts_with_id": B, "note": "…"}, … ],   A < B
///     "events": [ {Event}, … ],
///     "agreements": [ {Agreement}, … ],
///     "statements": [ {Statement}, … ],
///     "relationships": [ {Relationship}, … ]  by pair
///     }
///
/// one entity per line, each in the JSON mapping `--json` prints. What coopd assigns and cannot be given back
/// (`recorded_sequence`, the change log, times) is left out. Ids are the dump's own: each kind numbered 1, 2, 3…
/// in the order of coopd's ids, every reference renumbered alike. An import stores each kind in that order, so
/// coopd's new ids keep it and a second export is byte for byte the first, whatever ids the importing coopd
/// hands out (gaps, or a store that was not new); coopd's own ids would match only into a store that never
/// used one.
struct Dump {
    static let format = "coopd-dump"
    static let version = 1

    var indicators: [Coop_V1_Indicator] = []
    var sources: [Coop_V1_Source] = []
    var observations: [Coop_V1_Observation] = []
    /// `observation_id` < `conflicts_with_id`; `request_id` unused.
    var conflicts: [Coop_V1_LinkConflictRequest] = []
    var events: [Coop_V1_Event] = []
    var agreements: [Coop_V1_Agreement] = []
    var statements: [Coop_V1_Statement] = []
    var relationships: [Coop_V1_Relationship] = []

    var isEmpty: Bool {
        indicators.isEmpty && sources.isEmpty && observations.isEmpty && events.isEmpty && agreements.isEmpty
            && statements.isEmpty && relationships.isEmpty
    }

    /// "17 indicators, 60 sources, …".
    var counts: String {
        [
            (indicators.count, "indicators"), (sources.count, "sources"), (observations.count, "observations"),
            (conflicts.count, "conflict links"), (events.count, "events"), (agreements.count, "agreements"),
            (statements.count, "statements"), (relationships.count, "relationships"),
        ].map { "\($0.0) \($0.1)" }.joined(separator: ", ")
    }

    // MARK: Text

    func encoded() throws -> String {
        func list(_ name: String, _ items: [some SwiftProtobuf.Message]) throws -> String {
            let lines = try items.map { try JSONOutput.message($0) }
            let body = lines.isEmpty ? "" : "\n" + lines.joined(separator: ",\n") + "\n"
            return "\(JSONOutput.quote(name)): [\(body)]"
        }
        let parts = [
            "\"format\": \(JSONOutput.quote(Self.format))", "\"version\": \(Self.version)",
            try list("indicators", indicators), try list("sources", sources), try list("observations", observations),
            try list("conflicts", conflicts), try list("events", events), try list("agreements", agreements),
            try list("statements", statements), try list("relationships", relationships),
        ]
        return "{\n" + parts.joined(separator: ",\n") + "\n}\n"
    }

    /// The dump in `text`, or nil when it is JSON of another kind (no `"format": "coopd-dump"`).
    static func decode(_ text: String) throws -> Dump? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            object["format"] as? String == format
        else { return nil }
        guard object["version"] as? Int == version else {
            let given = object["version"].map { "version \($0)" } ?? "no version"
            throw CtlError.invalidInput("this coopctl reads \(format) version \(version), not \(given)")
        }
        // Entities through the protobuf JSON decoder (exact 64-bit numbers, enums by name), list by list: the
        // response messages have fields of the same names and skip the rest of the document.
        var dump = Dump()
        do {
            let options = JSONOutput.decodingOptions
            let observations = try Coop_V1_ListObservationsResponse(jsonString: text, options: options)
            dump.observations = observations.observations
            dump.sources = observations.sources
            dump.indicators = try Coop_V1_ListIndicatorsResponse(jsonString: text, options: options).indicators
            dump.events = try Coop_V1_ListEventsResponse(jsonString: text, options: options).events
            dump.agreements = try Coop_V1_ListAgreementsResponse(jsonString: text, options: options).agreements
            dump.statements = try Coop_V1_ListStatementsResponse(jsonString: text, options: options).statements
            dump.relationships = try Coop_V1_ListRelationshipsResponse(jsonString: text, options: options).relationships
            dump.conflicts = try (object["conflicts"] as? [Any] ?? []).map { item in
                try Coop_V1_LinkConflictRequest(
                    jsonUTF8Data: try JSONSerialization.data(withJSONObject: item), options: options)
            }
        } catch {
            throw CtlError.invalidInput("the \(format) document does not decode: \(error)")
        }
        return dump
    }

    // MARK: Reading coopd

    /// Everything `client` serves, renumbered (see the type's comment).
    static func fetch(_ client: CoopClient, _ options: CallOptions) async throws -> Dump {
        var dump = Dump()
        dump.indicators = try await client.listIndicators(options: options).sorted { $0.code < $1.code }
        dump.sources = try await allSources(client, options).sorted { $0.id < $1.id }
        dump.observations = try await client.allObservations(
            .with {
                $0.anyBreakdown = true
                $0.includeSuperseded = true
                $0.includeRetracted = true
                $0.includeClaims = true
                $0.pageSize = 1000
            }, options: options
        ).sorted { $0.id < $1.id }
        dump.events = try await allPages(Coop_V1_ListEventsRequest.with { $0.pageSize = 1000 }) {
            try await client.listEvents($0, options: options)
        }.sorted { $0.id < $1.id }
        dump.agreements = try await allPages(Coop_V1_ListAgreementsRequest.with { $0.pageSize = 1000 }) {
            try await client.listAgreements($0, options: options)
        }.sorted { $0.id < $1.id }
        dump.statements = try await allPages(Coop_V1_ListStatementsRequest.with { $0.pageSize = 1000 }) {
            try await client.listStatements($0, options: options)
        }.sorted { $0.id < $1.id }
        dump.relationships = try await client.listRelationships(options: options)
        let notes = try await conflictNotes(dump.observations, client, options)
        dump.conflicts = notes.keys.sorted { ($0.low, $0.high) < ($1.low, $1.high) }.map { pair in
            .with {
                $0.observationID = pair.low
                $0.conflictsWithID = pair.high
                $0.note = notes[pair]!
            }
        }
        return try dump.renumbered()
    }

    struct Pair: Hashable {
        var low: Int64
        var high: Int64
    }

    /// The note of every conflict link among `observations`. Listings show only the links; each note is in the
    /// change-log entry that made the link (kind "conflict", key "LOW:HIGH", summary "observations A and B
    /// conflict: NOTE"), so the log is read from the earliest sequence one could have (after both observations
    /// were recorded) until every link is seen.
    static func conflictNotes(
        _ observations: [Coop_V1_Observation], _ client: CoopClient, _ options: CallOptions
    ) async throws -> [Pair: String] {
        let recorded = Dictionary(observations.map { ($0.id, $0.recordedSequence) }, uniquingKeysWith: { a, _ in a })
        var pending = Set<Pair>()
        for o in observations {
            for other in o.conflictsWith where recorded[other] != nil {
                pending.insert(Pair(low: min(o.id, other), high: max(o.id, other)))
            }
        }
        guard !pending.isEmpty else { return [:] }
        let start = pending.map { max(recorded[$0.low]!, recorded[$0.high]!) }.min()! + 1
        var notes: [Pair: String] = [:]
        do {
            for try await change in try client.watchChanges(fromSequence: max(start, 1), options: options)
            where change.entityKind == "conflict" {
                let ids = change.entityKey.split(separator: ":").compactMap { Int64($0) }
                guard ids.count == 2, let pair = pending.remove(Pair(low: ids[0], high: ids[1])) else { continue }
                notes[pair] = note(fromSummary: change.summary)
                if pending.isEmpty { return notes }
            }
        } catch let error as RPCError where error.code == .deadlineExceeded {
            throw CtlError(
                .unavailable,
                "the change log did not show the notes of \(pending.count) conflict links in time (raise --timeout)")
        }
        throw CtlError(.failure, "the change log ended without the notes of \(pending.count) conflict links")
    }

    /// "observations 12 and 40 conflict: scope differs" → "scope differs"; "" without a note.
    static func note(fromSummary summary: String) -> String {
        guard let range = summary.range(of: " conflict") else { return "" }
        let rest = summary[range.upperBound...]
        return rest.hasPrefix(": ") ? String(rest.dropFirst(2)) : ""
    }

    /// Each kind numbered 1, 2, 3… in its order, references renumbered alike, `recorded_sequence` cleared.
    func renumbered() throws -> Dump {
        func numbering(_ ids: [Int64]) -> [Int64: Int64] {
            Dictionary(ids.enumerated().map { ($1, Int64($0 + 1)) }, uniquingKeysWith: { a, _ in a })
        }
        let sourceIDs = numbering(sources.map(\.id))
        let observationIDs = numbering(observations.map(\.id))
        let eventIDs = numbering(events.map(\.id))
        let agreementIDs = numbering(agreements.map(\.id))
        func map(_ id: Int64, _ ids: [Int64: Int64], _ what: String) throws -> Int64 {
            if id == 0 { return 0 }
            guard let mapped = ids[id] else {
                throw CtlError(.failure, "coopd refers to \(what) \(id) but does not list it")
            }
            return mapped
        }
        var dump = self
        for i in dump.sources.indices { dump.sources[i].id = Int64(i + 1) }
        for i in dump.observations.indices {
            var o = dump.observations[i]
            o.id = Int64(i + 1)
            o.sourceID = try map(o.sourceID, sourceIDs, "source")
            o.supersedesID = try map(o.supersedesID, observationIDs, "observation")
            o.supersededByID = try map(o.supersededByID, observationIDs, "observation")
            o.conflictsWith = try o.conflictsWith.map { try map($0, observationIDs, "observation") }.sorted()
            o.recordedSequence = 0
            dump.observations[i] = o
        }
        for i in dump.conflicts.indices {
            dump.conflicts[i].observationID = try map(dump.conflicts[i].observationID, observationIDs, "observation")
            dump.conflicts[i].conflictsWithID = try map(dump.conflicts[i].conflictsWithID, observationIDs, "observation")
        }
        for i in dump.events.indices {
            dump.events[i].id = Int64(i + 1)
            dump.events[i].sourceIds = try dump.events[i].sourceIds.map { try map($0, sourceIDs, "source") }
            dump.events[i].relatedEventIds = try dump.events[i].relatedEventIds.map { try map($0, eventIDs, "event") }
        }
        for i in dump.agreements.indices {
            dump.agreements[i].id = Int64(i + 1)
            dump.agreements[i].sourceIds = try dump.agreements[i].sourceIds.map { try map($0, sourceIDs, "source") }
            dump.agreements[i].eventID = try map(dump.agreements[i].eventID, eventIDs, "event")
        }
        for i in dump.statements.indices {
            var s = dump.statements[i]
            s.id = Int64(i + 1)
            s.eventID = try map(s.eventID, eventIDs, "event")
            s.claimObservationID = try map(s.claimObservationID, observationIDs, "observation")
            s.sourceID = try map(s.sourceID, sourceIDs, "source")
            s.conflictsWith = try s.conflictsWith.map { try map($0, observationIDs, "observation") }
            dump.statements[i] = s
        }
        for i in dump.relationships.indices {
            for j in dump.relationships[i].history.indices {
                dump.relationships[i].history[j].agreementID = try map(
                    dump.relationships[i].history[j].agreementID, agreementIDs, "agreement")
            }
        }
        return dump
    }

    // MARK: Checks

    /// Every reference names an entity of the dump listed before it (events may name later events); ids unique.
    /// Throws naming the first that does not, before anything is written.
    func check() throws {
        func unique(_ ids: [Int64], _ list: String) throws -> Set<Int64> {
            var seen = Set<Int64>()
            for (i, id) in ids.enumerated() where id <= 0 || !seen.insert(id).inserted {
                throw CtlError.invalidInput("\(list)[\(i)].id: \(id <= 0 ? "must be positive" : "\(id) appears twice")")
            }
            return seen
        }
        func require(_ id: Int64, in ids: Set<Int64>, _ path: String, optional: Bool = true) throws {
            if id == 0 && optional { return }
            guard ids.contains(id) else { throw CtlError.invalidInput("\(path): no \(id) in the dump") }
        }
        let codes = Set(indicators.map(\.code))
        let sourceIDs = try unique(sources.map(\.id), "sources")
        let observationIDs = try unique(observations.map(\.id), "observations")
        let eventIDs = try unique(events.map(\.id), "events")
        let agreementIDs = try unique(agreements.map(\.id), "agreements")
        _ = try unique(statements.map(\.id), "statements")
        var earlier = Set<Int64>()
        for (i, o) in observations.enumerated() {
            guard codes.contains(o.indicator) else {
                throw CtlError.invalidInput("observations[\(i)].indicator: no \"\(o.indicator)\" in the dump")
            }
            try require(o.sourceID, in: sourceIDs, "observations[\(i)].source_id", optional: false)
            try require(o.supersedesID, in: earlier, "observations[\(i)].supersedes_id (an earlier observation)")
            earlier.insert(o.id)
        }
        for (i, c) in conflicts.enumerated() {
            try require(c.observationID, in: observationIDs, "conflicts[\(i)].observation_id", optional: false)
            try require(c.conflictsWithID, in: observationIDs, "conflicts[\(i)].conflicts_with_id", optional: false)
        }
        for (i, e) in events.enumerated() {
            for (j, id) in e.sourceIds.enumerated() { try require(id, in: sourceIDs, "events[\(i)].source_ids[\(j)]") }
            for (j, id) in e.relatedEventIds.enumerated() {
                try require(id, in: eventIDs, "events[\(i)].related_event_ids[\(j)]")
            }
        }
        for (i, a) in agreements.enumerated() {
            for (j, id) in a.sourceIds.enumerated() { try require(id, in: sourceIDs, "agreements[\(i)].source_ids[\(j)]") }
            try require(a.eventID, in: eventIDs, "agreements[\(i)].event_id")
        }
        for (i, s) in statements.enumerated() {
            try require(s.eventID, in: eventIDs, "statements[\(i)].event_id")
            try require(s.claimObservationID, in: observationIDs, "statements[\(i)].claim_observation_id")
            try require(s.sourceID, in: sourceIDs, "statements[\(i)].source_id", optional: false)
            for (j, id) in s.conflictsWith.enumerated() {
                try require(id, in: observationIDs, "statements[\(i)].conflicts_with[\(j)]")
            }
        }
        for (i, r) in relationships.enumerated() {
            for (j, level) in r.history.enumerated() {
                try require(level.agreementID, in: agreementIDs, "relationships[\(i)].history[\(j)].agreement_id")
            }
        }
    }
}
