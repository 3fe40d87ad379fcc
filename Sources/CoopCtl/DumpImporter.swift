import CoopClient
import CoopProto
import CoopWire
import Foundation

/// What restoring a dump did (or, dry, would do).
struct DumpSummary {
    var indicators = 0
    var sources = 0
    var observations = 0
    /// Of `observations`, stored as revisions of an earlier one.
    var revisions = 0
    var retracted = 0
    var conflicts = 0
    var events = 0
    var agreements = 0
    var statements = 0
    var relationships = 0
    var dryRun = false
    /// coopd already held exactly the dump: nothing was written.
    var alreadyPresent = false

    func json(file: String) -> String {
        JSONOutput.value([
            "file": file, "format": Dump.format, "indicators": indicators, "sources": sources,
            "observations": observations, "revisions": revisions, "retracted": retracted, "conflicts": conflicts,
            "events": events, "agreements": agreements, "statements": statements, "relationships": relationships,
            "dry_run": dryRun, "already_present": alreadyPresent,
        ] as [String: Any])
    }

    func text() -> String {
        if alreadyPresent { return "coopd already holds exactly this dump: nothing to import" }
        return (dryRun ? "would restore " : "restored ")
            + "\(indicators) indicators, \(sources) sources, \(observations) observations (\(revisions) as revisions, "
            + "\(retracted) retracted), \(conflicts) conflict links, \(events) events, \(agreements) agreements, "
            + "\(statements) statements, \(relationships) relationships"
    }
}

/// Restores a `Dump` through the write RPCs, kind by kind in the dump's order (so coopd's new ids keep it),
/// mapping the dump's ids to coopd's as it goes. Every request id derives from the document's digest and the
/// step, so running the same import again (after an interruption, or to the end) repeats nothing.
struct DumpImporter {
    var client: CoopClient
    var options: CallOptions
    /// Identifies the document, for request ids.
    var digest: String
    /// Fixed, not --batch-size: a re-run must send the very requests (ids and bodies) of the first run.
    static let batchSize = 200
    var dryRun = false
    var progress: ((Int, Int) -> Void)?

    private func requestID(_ step: String) -> String {
        "coopctl-dump-" + String(SHA256.hex(digest + "\u{1F}" + step).prefix(40))
    }

    func run(_ dump: Dump) async throws -> DumpSummary {
        try dump.check()
        var summary = DumpSummary()
        summary.dryRun = dryRun
        let forwardLinks = Self.eventsLinkingForward(dump.events)
        let retractions = dump.observations.filter(\.retracted).count
        let total = dump.indicators.count + dump.sources.count + dump.observations.count + retractions
            + dump.conflicts.count + dump.events.count + forwardLinks.count + dump.agreements.count
            + dump.statements.count + dump.relationships.count
        var done = 0
        func step(_ count: Int = 1) {
            done += count
            progress?(done, total)
        }
        progress?(0, total)

        for indicator in dump.indicators {
            if !dryRun {
                _ = try await client.putIndicator(
                    indicator, requestID: requestID("indicator/\(indicator.code)"), options: options)
            }
            summary.indicators += 1
            step()
        }

        var sourceIDs: [Int64: Int64] = [:]
        for source in dump.sources {
            var new = source
            new.id = 0
            sourceIDs[source.id] = try await stored(source.id) {
                try await client.putSource(new, requestID: requestID("source/\(source.id)"), options: options).id
            }
            summary.sources += 1
            step()
        }

        let observationIDs = try await restoreObservations(dump.observations, sourceIDs, &summary, step)

        for conflict in dump.conflicts {
            let (a, b) = (observationIDs[conflict.observationID]!, observationIDs[conflict.conflictsWithID]!)
            if !dryRun {
                _ = try await client.linkConflict(
                    a, with: b, note: conflict.note,
                    requestID: requestID("conflict/\(conflict.observationID):\(conflict.conflictsWithID)"),
                    options: options)
            }
            summary.conflicts += 1
            step()
        }

        // Events: those naming a later event are stored first without their links, then again with them.
        var eventIDs: [Int64: Int64] = [:]
        func mapped(_ event: Coop_V1_Event, id: Int64) -> Coop_V1_Event {
            var e = event
            e.id = id
            e.sourceIds = e.sourceIds.map { sourceIDs[$0]! }
            e.relatedEventIds = e.relatedEventIds.map { eventIDs[$0]! }
            return e
        }
        for event in dump.events {
            var first = event
            if forwardLinks.contains(event.id) { first.relatedEventIds = [] }
            eventIDs[event.id] = try await stored(event.id) {
                try await client.putEvent(
                    mapped(first, id: 0), requestID: requestID("event/\(event.id)"), options: options
                ).id
            }
            summary.events += 1
            step()
        }
        for event in dump.events where forwardLinks.contains(event.id) {
            if !dryRun {
                _ = try await client.putEvent(
                    mapped(event, id: eventIDs[event.id]!), requestID: requestID("event-links/\(event.id)"),
                    options: options)
            }
            step()
        }

        var agreementIDs: [Int64: Int64] = [:]
        for agreement in dump.agreements {
            var a = agreement
            a.id = 0
            a.sourceIds = a.sourceIds.map { sourceIDs[$0]! }
            if a.eventID != 0 { a.eventID = eventIDs[a.eventID]! }
            agreementIDs[agreement.id] = try await stored(agreement.id) {
                try await client.putAgreement(a, requestID: requestID("agreement/\(agreement.id)"), options: options).id
            }
            summary.agreements += 1
            step()
        }

        // The conflict links a statement makes between its claim and the statistics are in `conflicts` already
        // (with their notes), so storing the statement adds none.
        for statement in dump.statements {
            var s = statement
            s.id = 0
            if s.eventID != 0 { s.eventID = eventIDs[s.eventID]! }
            if s.claimObservationID != 0 { s.claimObservationID = observationIDs[s.claimObservationID]! }
            s.sourceID = sourceIDs[s.sourceID]!
            s.conflictsWith = s.conflictsWith.map { observationIDs[$0]! }
            if !dryRun {
                _ = try await client.addStatement(s, requestID: requestID("statement/\(statement.id)"), options: options)
            }
            summary.statements += 1
            step()
        }

        for relationship in dump.relationships {
            var r = relationship
            for i in r.history.indices where r.history[i].agreementID != 0 {
                r.history[i].agreementID = agreementIDs[r.history[i].agreementID]!
            }
            if !dryRun {
                _ = try await client.putRelationship(
                    r, requestID: requestID("relationship/\(r.countryA):\(r.countryB)"), options: options)
            }
            summary.relationships += 1
            step()
        }
        return summary
    }

    /// Observations in the dump's order: runs of new figures in AddObservations batches, each revision with
    /// ReviseObservation of what it supersedes. A retraction waits as long as it can (a retracted figure may
    /// have been revised first), but comes before the figure that coopd accepted only because it was retracted:
    /// a later revision of the same figure, or an identical figure. Returns coopd's id of each dump id.
    private func restoreObservations(
        _ observations: [Coop_V1_Observation], _ sourceIDs: [Int64: Int64], _ summary: inout DumpSummary,
        _ step: (Int) -> Void
    ) async throws -> [Int64: Int64] {
        var ids: [Int64: Int64] = [:]
        var batch: [Coop_V1_Observation] = []
        /// Stored, retracted in the dump, not yet in coopd.
        var unretracted: [Coop_V1_Observation] = []
        /// Dump ids already superseded in coopd.
        var superseded = Set<Int64>()

        /// The observation as sent: coopd's source id, nothing coopd sets itself.
        func new(_ o: Coop_V1_Observation) -> Coop_V1_Observation {
            var new = o
            new.id = 0
            new.sourceID = sourceIDs[o.sourceID]!
            new.supersedesID = 0
            new.supersededByID = 0
            new.conflictsWith = []
            new.retracted = false
            new.retractionReason = ""
            new.recordedSequence = 0
            return new
        }
        func flush() async throws {
            guard !batch.isEmpty else { return }
            let step = "observations/\(batch.first!.id)-\(batch.last!.id)"
            if dryRun {
                for o in batch { ids[o.id] = o.id }
            } else {
                let added = try await client.addObservations(batch.map(new), requestID: requestID(step), options: options)
                for (o, new) in zip(batch, added) { ids[o.id] = new.id }
            }
            summary.observations += batch.count
            batch = []
        }
        func retract(where condition: (Coop_V1_Observation) -> Bool) async throws {
            let now = unretracted.filter(condition)
            guard !now.isEmpty else { return }
            try await flush()
            for o in now {
                if !dryRun {
                    _ = try await client.retractObservation(
                        ids[o.id]!, reason: o.retractionReason, requestID: requestID("retraction/\(o.id)"),
                        options: options)
                }
                summary.retracted += 1
                step(1)
            }
            unretracted.removeAll(where: condition)
        }

        for o in observations {
            let key = Self.identity(o)
            // coopd refuses a new figure identical to a live one, and a second live revision of one figure.
            try await retract {
                o.supersedesID == 0
                    ? !superseded.contains($0.id) && Self.identity($0) == key : $0.supersedesID == o.supersedesID
            }
            if o.supersedesID == 0 {
                batch.append(o)
                if batch.count >= Self.batchSize { try await flush() }
            } else {
                try await flush()
                let base = ids[o.supersedesID]!
                ids[o.id] = try await stored(o.id) {
                    try await client.reviseObservation(
                        supersedes: base, with: new(o), requestID: requestID("revision/\(o.id)"), options: options
                    ).id
                }
                superseded.insert(o.supersedesID)
                summary.observations += 1
                summary.revisions += 1
            }
            if o.retracted { unretracted.append(o) }
            step(1)
        }
        try await flush()
        try await retract { _ in true }
        return ids
    }

    /// coopd's id for an entity written by `write`; in a dry run, the dump's own.
    private func stored(_ dumpID: Int64, _ write: () async throws -> Int64) async throws -> Int64 {
        if dryRun { return dumpID }
        return try await write()
    }

    /// What makes two figures the same for coopd (ALREADY_EXISTS when both are live), in dump terms.
    static func identity(_ o: Coop_V1_Observation) -> String {
        [
            o.indicator, o.origin, o.destination, Breakdown.canonical(o.breakdown), o.periodStart, o.periodEnd,
            String(o.value), String(o.valueHigh), String(o.unitMultiplier), String(o.qualifier.rawValue),
            String(o.sourceID), o.vintage,
        ].joined(separator: "|")
    }

    /// Ids of the events naming an event listed after them (or themselves).
    static func eventsLinkingForward(_ events: [Coop_V1_Event]) -> Set<Int64> {
        var earlier = Set<Int64>()
        var forward = Set<Int64>()
        for event in events {
            if event.relatedEventIds.contains(where: { !earlier.contains($0) }) { forward.insert(event.id) }
            earlier.insert(event.id)
        }
        return forward
    }
}

extension Dump {
    /// Whether coopd holds nothing a dump restores (countries are built in).
    static func targetIsEmpty(_ client: CoopClient, _ options: CallOptions) async throws -> Bool {
        guard try await client.listIndicators(options: options).isEmpty,
            try await client.listSources(.with { $0.pageSize = 1 }, options: options).sources.isEmpty,
            try await client.listEvents(.with { $0.pageSize = 1 }, options: options).events.isEmpty,
            try await client.listAgreements(.with { $0.pageSize = 1 }, options: options).agreements.isEmpty,
            try await client.listStatements(.with { $0.pageSize = 1 }, options: options).statements.isEmpty,
            try await client.listRelationships(options: options).isEmpty
        else { return false }
        return true
    }
}
