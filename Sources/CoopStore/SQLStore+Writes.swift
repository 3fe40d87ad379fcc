internal import CoopFormats
internal import GRDB

/// The write operations: each validates field by field, then stores, indexes and logs inside one request
/// savepoint of a group transaction (see `write(_:_:_:)`), and returns what was stored.
extension SQLStore {
    public func putSource(_ source: Source, _ context: WriteContext) async throws -> Source {
        try Validation.source(source, field: "source")
        return try await write("PutSource", context) { tx in
            try Self.saveSource(tx, source)
        }
    }

    public func putIndicator(_ indicator: Indicator, _ context: WriteContext) async throws -> Indicator {
        try Validation.indicator(indicator, field: "indicator")
        return try await write("PutIndicator", context) { tx in
            tx.references.cache.forgetIndicators()
            var stored: Indicator?
            try tx.record { _ in
                let existed = try IndicatorTable.upsert(tx.db, indicator)
                guard let indicator = try IndicatorTable.load(tx.db, code: indicator.code) else {
                    throw StoreError(.internalError, "indicator was not stored")
                }
                stored = indicator
                return ChangeTable.Entry(
                    entityKind: EntityKind.indicator, entityKey: indicator.code, operation: existed ? .update : .insert,
                    summary: "indicator \(indicator.code): \(indicator.name)", entityJSON: try JSONCoding.encode(indicator))
            }
            return stored!
        }
    }

    public func addObservations(_ observations: [Observation], _ context: WriteContext) async throws -> [Observation] {
        try await write("AddObservations", context, addsFiguresOnly: true) { tx in
            try Validation.observations(observations, references: tx.references)
            return try observations.enumerated().map { index, observation in
                try Self.insertObservation(tx, observation, operation: .insert, refusingIdentical: "observations[\(index)]")
            }
        }
    }

    public func reviseObservation(supersedes id: Int64, revision: Observation, _ context: WriteContext) async throws
        -> Observation
    {
        guard id > 0 else { throw StoreError.invalid("supersedes_id", "is required") }
        return try await write("ReviseObservation", context) { tx in
            guard let original = try ObservationTable.load(tx.db, id: id) else {
                throw StoreError.notFound("supersedes_id", "no observation \(id)")
            }
            if original.retracted {
                throw StoreError.failedPrecondition("supersedes_id", "observation \(id) is retracted")
            }
            if let newer = try ObservationTable.liveRevision(tx.db, of: id) {
                throw StoreError.failedPrecondition(
                    "supersedes_id", "observation \(id) is already superseded by \(newer); revise \(newer) instead")
            }
            var revision = try Self.revision(revision, of: original)
            try Validation.observation(revision, field: "revision", references: tx.references)
            if let source = try SourceTable.load(tx.db, id: revision.sourceID), revision.vintage.isEmpty {
                revision.vintage = source.published
            }
            if PartialDate.firstDay(of: revision.vintage) < PartialDate.firstDay(of: original.vintage) {
                throw StoreError.invalid(
                    "revision.vintage",
                    "a revision cannot be published (\(revision.vintage)) before what it revises (\(original.vintage))")
            }
            revision.supersedesID = id
            let stored = try Self.insertObservation(tx, revision, operation: .revise)
            try ObservationTable.markSuperseded(tx.db, id: id, by: stored.id)
            return stored
        }
    }

    public func retractObservation(_ id: Int64, reason: String, _ context: WriteContext) async throws -> Observation {
        guard id > 0 else { throw StoreError.invalid("observation_id", "is required") }
        try Validation.required(reason, field: "reason")
        return try await write("RetractObservation", context) { tx in
            guard let observation = try ObservationTable.load(tx.db, id: id) else {
                throw StoreError.notFound("observation_id", "no observation \(id)")
            }
            if observation.retracted {
                throw StoreError.failedPrecondition("observation_id", "observation \(id) is already retracted")
            }
            var stored: Observation?
            try tx.record { _ in
                try ObservationTable.markRetracted(tx.db, id: id, reason: reason)
                stored = try ObservationTable.load(tx.db, id: id)
                return ChangeTable.Entry(
                    entityKind: EntityKind.observation, entityID: id, operation: .retract,
                    summary: "retracted observation \(id): \(reason)", entityJSON: try JSONCoding.encode(stored))
            }
            return stored!
        }
    }

    public func putEvent(_ event: Event, _ context: WriteContext) async throws -> Event {
        try await write("PutEvent", context) { tx in
            try Validation.event(event, field: "event", references: tx.references)
            if event.id != 0, try !EventTable.exists(tx.db, id: event.id) {
                throw StoreError.notFound("event.id", "no event \(event.id)")
            }
            let isNew = event.id == 0
            var stored: Event?
            try tx.record { _ in
                let id = try EventTable.save(tx.db, event)
                guard let event = try EventTable.load(tx.db, id: id) else {
                    throw StoreError(.internalError, "event was not stored")
                }
                stored = event
                try SearchIndex.put(tx.db, SearchIndex.Entry(event))
                let date = event.actualDate.isEmpty ? "planned \(event.plannedDate)" : event.actualDate
                return ChangeTable.Entry(
                    entityKind: EntityKind.event, entityID: id, operation: isNew ? .insert : .update,
                    summary: "event \(id) (\(date)): \(event.title)", entityJSON: try JSONCoding.encode(event))
            }
            return stored!
        }
    }

    public func putAgreement(_ agreement: Agreement, _ context: WriteContext) async throws -> Agreement {
        try await write("PutAgreement", context) { tx in
            try Validation.agreement(agreement, field: "agreement", references: tx.references)
            if agreement.id != 0, try !AgreementTable.exists(tx.db, id: agreement.id) {
                throw StoreError.notFound("agreement.id", "no agreement \(agreement.id)")
            }
            let isNew = agreement.id == 0
            var stored: Agreement?
            try tx.record { _ in
                let id = try AgreementTable.save(tx.db, agreement)
                guard let agreement = try AgreementTable.load(tx.db, id: id) else {
                    throw StoreError(.internalError, "agreement was not stored")
                }
                stored = agreement
                try SearchIndex.put(tx.db, SearchIndex.Entry(agreement))
                return ChangeTable.Entry(
                    entityKind: EntityKind.agreement, entityID: id, operation: isNew ? .insert : .update,
                    summary: "agreement \(id) (\(agreement.signedDate)): \(agreement.title)",
                    entityJSON: try JSONCoding.encode(agreement))
            }
            return stored!
        }
    }

    public func addStatement(_ statement: Statement, claim: Observation?, _ context: WriteContext) async throws
        -> Statement
    {
        try await write("AddStatement", context) { tx in
            var statement = statement
            if let claim {
                if statement.claimObservationID != 0 {
                    throw StoreError.invalid(
                        "statement.claim_observation_id", "must be 0 when the claim is given with the statement")
                }
                try Validation.observation(claim, field: "claim", references: tx.references)
                if let indicator = try tx.references.indicator(claim.indicator), indicator.measure != .claim {
                    throw StoreError.invalid(
                        "claim.indicator", "indicator \(claim.indicator) measures a \(indicator.measure.rawValue), not a claim")
                }
                // Validated before the claim exists; the claim is then stored and referenced.
                try Validation.statement(statement, field: "statement", references: tx.references)
                statement.claimObservationID = try Self.insertObservation(tx, claim, operation: .insert).id
            } else {
                try Validation.statement(statement, field: "statement", references: tx.references)
                // What someone said is a claim; an official statistic cannot stand in for it.
                if statement.claimObservationID != 0,
                    let observation = try ObservationTable.load(tx.db, id: statement.claimObservationID),
                    let indicator = try tx.references.indicator(observation.indicator), indicator.measure != .claim
                {
                    throw StoreError.invalid(
                        "statement.claim_observation_id",
                        "observation \(observation.id) is a figure of \(observation.indicator), which measures a "
                            + "\(indicator.measure.rawValue), not a claim")
                }
            }
            var stored: Statement?
            try tx.record { _ in
                let id = try StatementTable.insert(tx.db, statement)
                guard let statement = try StatementTable.load(tx.db, id: id) else {
                    throw StoreError(.internalError, "statement was not stored")
                }
                stored = statement
                try SearchIndex.put(tx.db, SearchIndex.Entry(statement))
                return ChangeTable.Entry(
                    entityKind: EntityKind.statement, entityID: id, operation: .insert,
                    summary: "statement \(id) by \(statement.speaker.name) (\(statement.saidOn))",
                    entityJSON: try JSONCoding.encode(statement))
            }
            // The claim disagrees with each statistic the statement conflicts with.
            if statement.claimObservationID != 0 {
                for other in statement.conflictsWith {
                    _ = try Self.link(tx, statement.claimObservationID, other, note: "statement \(stored!.id)")
                }
            }
            return stored!
        }
    }

    public func linkConflict(_ id: Int64, with other: Int64, note: String, _ context: WriteContext) async throws
        -> Observation
    {
        guard id > 0 else { throw StoreError.invalid("observation_id", "is required") }
        guard other > 0 else { throw StoreError.invalid("conflicts_with_id", "is required") }
        if id == other {
            throw StoreError.invalid("conflicts_with_id", "an observation cannot conflict with itself")
        }
        try Validation.text(note, field: "note")
        return try await write("LinkConflict", context) { tx in
            guard try ObservationTable.exists(tx.db, id: id) else {
                throw StoreError.notFound("observation_id", "no observation \(id)")
            }
            guard try ObservationTable.exists(tx.db, id: other) else {
                throw StoreError.notFound("conflicts_with_id", "no observation \(other)")
            }
            return try Self.link(tx, id, other, note: note)
        }
    }

    /// Stores the relationship between two countries (replacing the one stored for the pair, in either order).
    public func putRelationship(_ relationship: Relationship, _ context: WriteContext) async throws -> Relationship {
        try await write("PutRelationship", context) { tx in
            try Validation.relationship(relationship, field: "relationship", references: tx.references)
            var stored: Relationship?
            try tx.record { _ in
                let existed = try RelationshipTable.save(tx.db, relationship)
                stored = try RelationshipTable.load(tx.db, relationship.countryA, relationship.countryB)
                let (a, b) = (
                    min(relationship.countryA, relationship.countryB), max(relationship.countryA, relationship.countryB)
                )
                return ChangeTable.Entry(
                    entityKind: EntityKind.relationship, entityKey: "\(a):\(b)", operation: existed ? .update : .insert,
                    summary: "relationship \(a)–\(b): \(relationship.history.last?.level ?? "established \(relationship.established)")",
                    entityJSON: try JSONCoding.encode(stored))
            }
            return stored!
        }
    }
}
