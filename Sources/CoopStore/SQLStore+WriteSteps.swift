internal import GRDB

/// Steps the write operations share: storing an observation or a conflict link with its change-log entry,
/// filling a revision from what it revises, and the search-index entry of each searchable entity.
extension SQLStore {
    // MARK: Steps shared by several writes

    static func saveSource(_ tx: WriteTransaction, _ source: Source) throws -> Source {
        if source.id != 0, try !SourceTable.exists(tx.db, id: source.id) {
            throw StoreError.notFound("source.id", "no source \(source.id)")
        }
        let isNew = source.id == 0
        var stored: Source?
        try tx.record { _ in
            let id: Int64
            if isNew {
                id = try SourceTable.insert(tx.db, source)
            } else {
                id = source.id
                try SourceTable.update(tx.db, source)
            }
            guard let source = try SourceTable.load(tx.db, id: id) else {
                throw StoreError(.internalError, "source was not stored")
            }
            stored = source
            try SearchIndex.put(tx.db, SearchIndex.Entry(source))
            return ChangeTable.Entry(
                entityKind: EntityKind.source, entityID: id, operation: isNew ? .insert : .update,
                summary: "source \(id): \(source.title)", entityJSON: try JSONCoding.encode(source))
        }
        return stored!
    }

    /// `observation` with what was not given filled in: the unit from its indicator, the vintage from its source,
    /// the status normal.
    static func withDefaults(_ tx: WriteTransaction, _ observation: Observation) throws -> Observation {
        var observation = observation
        if observation.unit.isEmpty, let indicator = try tx.references.indicator(observation.indicator) {
            observation.unit = indicator.unit
        }
        if observation.vintage.isEmpty, let source = try SourceTable.load(tx.db, id: observation.sourceID) {
            observation.vintage = source.published
        }
        if observation.status == .unspecified {
            observation.status = .normal
        }
        return observation
    }

    /// Stores a validated observation (with ``withDefaults(_:_:)`` applied) and logs it. With `refusingIdentical`,
    /// one identical to a live stored figure (the same figure filed twice, which would show twice as latest) is
    /// refused with ALREADY_EXISTS on that field, and nothing is stored.
    static func insertObservation(
        _ tx: WriteTransaction, _ observation: Observation, operation: ChangeOperation,
        refusingIdentical field: String? = nil
    ) throws -> Observation {
        let observation = try withDefaults(tx, observation)
        try LongestPeriod.note(tx, observation)
        var stored: Observation?
        try tx.record { sequence in
            let id: Int64
            if let field {
                if let reserved = try tx.group.observationID() {
                    // Sent later with others: a duplicate shows when the group reads the answers, and it runs again.
                    try tx.group.insertLater(
                        ObservationTable.WaitingInsert(id: reserved, observation: observation, sequence: sequence))
                    id = reserved
                } else if let inserted = try ObservationTable.insertUnlessIdentical(tx.db, observation, sequence: sequence) {
                    id = inserted
                } else {
                    let existing = try ObservationTable.identical(tx.db, to: observation).map { " \($0)" } ?? ""
                    throw StoreError(
                        .alreadyExists, field: field,
                        "identical to observation\(existing) (same indicator, pair, breakdown, period, value, "
                            + "source and vintage); nothing was stored")
                }
            } else {
                id = try ObservationTable.insert(tx.db, observation, sequence: sequence)
            }
            // What the row now holds (a new row has no conflict links and no revision yet): built here
            // rather than read back, which was a query and a decode per stored figure.
            var observation = observation
            observation.id = id
            observation.breakdown = Breakdown.sorted(observation.breakdown)
            observation.supersededByID = 0
            observation.conflictsWith = []
            observation.retracted = false
            observation.retractionReason = ""
            observation.recordedSequence = sequence
            stored = observation
            let revises = observation.supersedesID == 0 ? "" : " (revises \(observation.supersedesID))"
            return ChangeTable.Entry(
                entityKind: EntityKind.observation, entityID: id, operation: operation,
                summary: "observation \(id)\(revises): \(describe(observation))",
                entityJSON: JSONCoding.encode(observation))
        }
        return stored!
    }

    /// Links two existing observations as conflicting (no-op if already linked); returns the first.
    static func link(_ tx: WriteTransaction, _ id: Int64, _ other: Int64, note: String) throws -> Observation {
        if try ObservationTable.isLinked(tx.db, id, other) {
            guard let observation = try ObservationTable.load(tx.db, id: id) else {
                throw StoreError.notFound("observation_id", "no observation \(id)")
            }
            return observation
        }
        var stored: Observation?
        try tx.record { _ in
            try ObservationTable.link(tx.db, id, other, note: note)
            stored = try ObservationTable.load(tx.db, id: id)
            let key = "\(min(id, other)):\(max(id, other))"
            return ChangeTable.Entry(
                entityKind: EntityKind.conflict, entityKey: key, operation: .link,
                summary: "observations \(id) and \(other) conflict" + (note.isEmpty ? "" : ": \(note)"),
                entityJSON: try JSONCoding.encode(stored))
        }
        return stored!
    }

    /// The revision with the superseded observation's indicator, pair, breakdown and period where it leaves
    /// them empty; given ones must match.
    static func revision(_ revision: Observation, of original: Observation) throws -> Observation {
        var revision = revision
        func inherit(_ value: inout String, _ originalValue: String, _ field: String) throws {
            if value.isEmpty {
                value = originalValue
            } else if value != originalValue {
                throw StoreError.invalid(
                    "revision.\(field)", "must match the observation it revises (\(Validation.quoted(originalValue)))")
            }
        }
        try inherit(&revision.indicator, original.indicator, "indicator")
        try inherit(&revision.origin, original.origin, "origin")
        try inherit(&revision.destination, original.destination, "destination")
        try inherit(&revision.periodStart, original.periodStart, "period_start")
        try inherit(&revision.periodEnd, original.periodEnd, "period_end")
        if revision.breakdown.isEmpty {
            revision.breakdown = original.breakdown
        } else if Breakdown.canonical(revision.breakdown) != Breakdown.canonical(original.breakdown) {
            throw StoreError.invalid("revision.breakdown", "must match the observation it revises")
        }
        if revision.supersedesID != 0 && revision.supersedesID != original.id {
            throw StoreError.invalid("revision.supersedes_id", "must be 0 or \(original.id)")
        }
        revision.supersedesID = 0
        return revision
    }

    static func describe(_ o: Observation) -> String {
        let breakdown = o.breakdown.isEmpty ? "" : " [\(Breakdown.canonical(o.breakdown))]"
        let period = o.periodStart == o.periodEnd ? o.periodStart : "\(o.periodStart)/\(o.periodEnd)"
        let scale = o.unitMultiplier == 0 ? "" : "e\(o.unitMultiplier)"
        return "\(o.indicator)\(breakdown) \(o.origin)→\(o.destination) \(period) = \(o.value)\(scale) \(o.unit)"
    }
}
