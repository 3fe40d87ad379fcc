internal import CoopFormats
internal import GRDB

extension SQLStore {
    /// Loads the shipped Vietnam–Japan dataset unless it is already there: indicators, sources, every figure of
    /// `SeedFiguresCSV` as an observation (later vintages of the same figure stored as revisions), events,
    /// agreements, the relationship, and the seed article's statements linked to the statistics they
    /// contradict. Writes go through the ordinary write path (validated, logged with writer uid 0).
    ///
    /// Safe across restarts and crashes: every step has a fixed request id, so a rerun after a crash answers
    /// the finished steps from their stored results and carries on; a `meta` entry marks completion.
    /// `progress` gets short lines such as "importing figures 50/100". Then the corrections made to the data
    /// since it was first shipped are applied, once (`SeedCorrections`); `corrections: false` leaves a database
    /// as an earlier release seeded it.
    public func importSeedIfNeeded(progress: (String) -> Void, corrections: Bool = true) async throws {
        try await withSeedLock {
            let done = try read { db in try MetaTable.value(db, SeedFacts.metaKey) }
            if done == SeedFacts.version {
                progress("seed data already imported")
                if corrections { try await correctSeedIfNeeded(progress: progress) }
                return
            }
            try await bulkImportWillStart()
            do {
                var importer = SeedImporter(store: self, table: try SeedFiguresTable(csv: SeedFiguresCSV.text))
                try await importer.run(progress: progress)
            } catch {
                try? await bulkImportDidEnd()
                throw error
            }
            try await bulkImportDidEnd()
            try await markSeeded(SeedFacts.metaKey, SeedFacts.version)
            if corrections { try await correctSeedIfNeeded(progress: progress) }
            progress("seed data imported")
        }
    }

    private func correctSeedIfNeeded(progress: (String) -> Void) async throws {
        guard try read({ db in try MetaTable.value(db, SeedCorrections.metaKey) }) != SeedCorrections.version else {
            return
        }
        try await SeedCorrections.apply(self, progress: progress)
        try await markSeeded(SeedCorrections.metaKey, SeedCorrections.version)
    }

    /// Records that a seed step is complete, and merges the search entries it wrote one by one (see
    /// `SearchIndex.optimize`).
    private func markSeeded(_ key: String, _ version: String) async throws {
        do {
            _ = try await writer.submit { db in
                try MetaTable.set(db, key, version)
                try SearchIndex.optimize(db)
            }
        } catch {
            throw StoreError.from(error)
        }
    }
}

/// The steps of the seed import, in dependency order.
private struct SeedImporter {
    let store: SQLStore
    let table: SeedFiguresTable
    /// Source ids by seed key (URL for figures-table sources).
    var sourceIDs: [String: Int64] = [:]
    /// Observation ids by figures-table row number.
    var observationIDs: [Int: Int64] = [:]
    var eventIDs: [String: Int64] = [:]
    var agreementIDs: [String: Int64] = [:]

    init(store: SQLStore, table: SeedFiguresTable) {
        self.store = store
        self.table = table
    }

    private func context(_ step: String) -> WriteContext {
        WriteContext(requestID: "seed-v\(SeedFacts.version)/\(step)", writerUID: 0)
    }

    mutating func run(progress: (String) -> Void) async throws {
        try await importIndicators(progress: progress)
        try await importSources(progress: progress)
        try await importFigures(progress: progress)
        try await importEvents(progress: progress)
        try await importAgreements(progress: progress)
        try await importRelationship(progress: progress)
        try await importStatements(progress: progress)
    }

    private func importIndicators(progress: (String) -> Void) async throws {
        var codes: [String] = []
        for row in table.rows where !codes.contains(row.indicator) {
            codes.append(row.indicator)
        }
        for (index, code) in codes.enumerated() {
            guard let indicator = SeedFacts.indicators[code] else {
                throw StoreError(.internalError, "seed figures: no description of indicator \(code)")
            }
            _ = try await store.putIndicator(indicator, context("indicator/\(code)"))
            progress("importing indicators \(index + 1)/\(codes.count)")
        }
    }

    private mutating func importSources(progress: (String) -> Void) async throws {
        var seeds: [SeedFacts.SeedSource] = []
        for row in table.rows where !seeds.contains(where: { $0.key == row.sourceURL }) {
            seeds.append(SeedFacts.SeedSource(key: row.sourceURL, source: row.source))
        }
        seeds += SeedFacts.sources
        for (index, seed) in seeds.enumerated() {
            let stored = try await store.putSource(seed.source, context("source/\(index + 1)"))
            sourceIDs[seed.key] = stored.id
            if (index + 1) % 20 == 0 || index + 1 == seeds.count {
                progress("importing sources \(index + 1)/\(seeds.count)")
            }
        }
    }

    /// Every row becomes an observation. Rows giving the same indicator, pair, breakdown and period are
    /// vintages of one figure: the earliest is added, each later one revises the one before.
    private mutating func importFigures(progress: (String) -> Void) async throws {
        // Rows of one figure (indicator, breakdown, pair, period), oldest vintage first.
        func figureKey(_ row: FiguresRow) -> String {
            [row.indicator, Breakdown.canonical(row.dimensions), row.origin, row.destination, row.periodStart,
             row.periodEnd].joined(separator: "|")
        }
        func byVintage(_ a: FiguresRow, _ b: FiguresRow) -> Bool {
            (PartialDate.firstDay(of: a.sourceDate), a.number) < (PartialDate.firstDay(of: b.sourceDate), b.number)
        }
        let vintages = Dictionary(grouping: table.rows, by: figureKey).mapValues { $0.sorted(by: byVintage) }
        var firsts: [FiguresRow] = []
        var revisions: [(supersedes: Int, row: FiguresRow)] = []
        for row in table.rows {
            let ordered = vintages[figureKey(row)]!
            if let position = ordered.firstIndex(where: { $0.number == row.number }), position > 0 {
                revisions.append((ordered[position - 1].number, row))
            } else {
                firsts.append(row)
            }
        }
        // A revision needs what it revises stored first.
        revisions.sort { byVintage($0.row, $1.row) }

        let total = table.rows.count
        let chunkSize = 25
        for start in stride(from: 0, to: firsts.count, by: chunkSize) {
            let chunk = Array(firsts[start..<min(start + chunkSize, firsts.count)])
            let stored = try await store.addObservations(
                try chunk.map(observation), context("observations/\(chunk[0].number)-\(chunk.last!.number)"))
            for (row, observation) in zip(chunk, stored) {
                observationIDs[row.number] = observation.id
            }
            progress("importing figures \(observationIDs.count)/\(total)")
        }
        for revision in revisions {
            guard let supersedes = observationIDs[revision.supersedes] else {
                throw StoreError(.internalError, "seed figures: row \(revision.row.number) revises an unknown row")
            }
            let stored = try await store.reviseObservation(
                supersedes: supersedes, revision: try observation(revision.row),
                context("revision/\(revision.row.number)"))
            observationIDs[revision.row.number] = stored.id
            progress("importing figures \(observationIDs.count)/\(total)")
        }
    }

    private func observation(_ row: FiguresRow) throws -> Observation {
        let (qualifier, status) = try row.qualifierAndStatus()
        guard let sourceID = sourceIDs[row.sourceURL] else {
            throw StoreError(.internalError, "seed figures: row \(row.number) has no source")
        }
        return Observation(
            indicator: row.indicator, origin: row.origin, destination: row.destination, breakdown: row.dimensions,
            periodStart: row.periodStart, periodEnd: row.periodEnd, value: row.value, valueHigh: row.valueHigh,
            unitMultiplier: row.multiplier, unit: row.unit, qualifier: qualifier, status: status,
            sourceID: sourceID, vintage: row.sourceDate, note: row.note)
    }

    private func sources(_ keys: [String]) throws -> [Int64] {
        try keys.map { key in
            guard let id = sourceIDs[key] else { throw StoreError(.internalError, "seed: unknown source \(key)") }
            return id
        }
    }

    private mutating func importEvents(progress: (String) -> Void) async throws {
        for (index, seed) in SeedFacts.events.enumerated() {
            var event = seed.event
            event.sourceIDs = try sources(seed.sourceKeys)
            event.relatedEventIDs = try seed.relatedKeys.map { key in
                guard let id = eventIDs[key] else { throw StoreError(.internalError, "seed: unknown event \(key)") }
                return id
            }
            eventIDs[seed.key] = try await store.putEvent(event, context("event/\(seed.key)")).id
            progress("importing events \(index + 1)/\(SeedFacts.events.count)")
        }
    }

    private mutating func importAgreements(progress: (String) -> Void) async throws {
        for (index, seed) in SeedFacts.agreements.enumerated() {
            var agreement = seed.agreement
            agreement.sourceIDs = try sources(seed.sourceKeys)
            if let key = seed.eventKey {
                guard let id = eventIDs[key] else { throw StoreError(.internalError, "seed: unknown event \(key)") }
                agreement.eventID = id
            }
            agreementIDs[seed.key] = try await store.putAgreement(agreement, context("agreement/\(seed.key)")).id
            progress("importing agreements \(index + 1)/\(SeedFacts.agreements.count)")
        }
    }

    private func importRelationship(progress: (String) -> Void) async throws {
        let history = try SeedFacts.relationshipLevels.map { level in
            guard let id = agreementIDs[level.agreementKey] else {
                throw StoreError(.internalError, "seed: unknown agreement \(level.agreementKey)")
            }
            return RelationshipLevel(level: level.level, since: level.since, agreementID: id)
        }
        let relationship = Relationship(
            countryA: "VN", countryB: "JP", established: SeedFacts.relationshipEstablished, history: history)
        _ = try await store.putRelationship(relationship, context("relationship/JP-VN"))
        progress("importing relationship 1/1")
    }

    private func importStatements(progress: (String) -> Void) async throws {
        for (index, seed) in SeedFacts.statements.enumerated() {
            guard let eventID = eventIDs[seed.eventKey] else {
                throw StoreError(.internalError, "seed: unknown event \(seed.eventKey)")
            }
            let statement = Statement(
                speaker: seed.speaker, eventID: eventID, saidOn: seed.saidOn, text: seed.text,
                claimObservationID: try figure(seed.claim), sourceID: try sources([seed.sourceKey])[0],
                conflictsWith: try seed.conflictsWith.map(figure), note: seed.note)
            _ = try await store.addStatement(statement, claim: nil, context("statement/\(seed.key)"))
            progress("importing statements \(index + 1)/\(SeedFacts.statements.count)")
        }
    }

    /// The observation of the figures table that says `ref`; exactly one must.
    private func figure(_ ref: SeedFacts.FigureRef) throws -> Int64 {
        let matches = table.rows.filter { row in
            row.indicator == ref.indicator && row.breakdown.isEmpty && row.origin == ref.origin
                && row.destination == ref.destination && row.periodEnd == ref.periodEnd
                && row.value == ref.value
        }
        guard matches.count == 1, let id = observationIDs[matches[0].number] else {
            throw StoreError(
                .internalError, "seed: \(matches.count) figures match \(ref.indicator) \(ref.periodEnd) = \(ref.value)")
        }
        return id
    }
}
