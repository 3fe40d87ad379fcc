internal import GRDB

extension SQLStore {
    public func countries() throws -> [Country] {
        try read { db in try CountryTable.all(db) }
    }

    public func relationship(_ countryA: String, _ countryB: String) throws -> Relationship? {
        try Validation.country(countryA, field: "country_a", allowAllPartners: false)
        try Validation.country(countryB, field: "country_b", allowAllPartners: false)
        return try read { db in try RelationshipTable.load(db, countryA, countryB) }
    }

    public func relationships() throws -> [Relationship] {
        try read { db in try RelationshipTable.all(db) }
    }

    public func indicators() throws -> [Indicator] {
        try read { db in try IndicatorTable.all(db) }
    }

    public func observations(_ query: ObservationQuery) throws -> Page<Observation> {
        var observations: [Observation] = []
        let nextToken = try observationRows(query, claims: false) { observations.append($0.observation) }.nextPageToken
        return Page(items: observations, nextToken: nextToken)
    }

    /// The page ``observations(_:)`` lists, each row handed to `visit` where it lies (no model in between),
    /// in order; returns the next page token ("" on the last page). For answers encoded straight from the store.
    /// Rows are visited only after the listing's query succeeded and nothing is read after a row was visited, so a
    /// read that a store retries elsewhere (a standby's failure) never visits a row twice.
    public func observationRows(
        _ query: ObservationQuery, claims: Bool, _ visit: (ObservationRow) throws -> Void
    ) throws -> (nextPageToken: String, claims: [Statement]) {
        try Validation.filterCountry(query.origin, field: "origin")
        try Validation.filterCountry(query.destination, field: "destination")
        try Validation.date(query.periodFrom, field: "period_from")
        try Validation.date(query.periodTo, field: "period_to")
        try Validation.range(query.periodFrom, query.periodTo, fromField: "period_from", toField: "period_to")
        try Validation.date(query.asOf, field: "as_of")
        let size = try query.page.resolvedSize()
        let after = try PageToken.decode(
            query.page.token, listing: "observations", shape: ObservationTable.tokenShape)
        // Claims are read in the page's own read (one snapshot, claims that match the rows shown), unless the store
        // may run a failed read again elsewhere (a standby's, on the primary): then nothing is read after a row was
        // visited, and they take a read of their own.
        let claimsInRead = claims && !readRunsAgainAfterFailure
        let (token, ids, statements) = try read { db in
            var ids: [Int64] = []
            let storage = ObservationRowStorage()
            let (count, more, lastKey) = try ObservationTable.listRows(db, query, after: after, limit: size) { row in
                if claims { ids.append(ObservationTable.id(row)) }
                try visit(ObservationRow(row: row, storage: storage))
            }
            // Nothing found: say so if it is because an indicator asked for does not exist (checked only then,
            // so listings that find something pay nothing for it).
            if count == 0, let unknown = try query.indicators.first(where: { try !IndicatorTable.exists(db, $0) }) {
                throw StoreError.notFound("indicators", "no indicator \(Validation.quoted(unknown))")
            }
            let statements = claimsInRead && !ids.isEmpty ? try StatementTable.claiming(db, ids) : []
            return (more ? PageToken.encode(listing: "observations", key: lastKey) : "", ids, statements)
        }
        guard claims, !claimsInRead, !ids.isEmpty else { return (token, statements) }
        return (token, try read { db in try StatementTable.claiming(db, ids) })
    }

    /// The statements that state these observations as their claims (who said them), by id. Observations that
    /// are no statement's claim have none.
    public func statements(claiming observationIDs: [Int64]) throws -> [Statement] {
        guard !observationIDs.isEmpty else { return [] }
        if observationIDs.count > PageRequest.maximumSize {
            throw StoreError.invalid("ids", "at most \(PageRequest.maximumSize) ids")
        }
        return try read { db in try StatementTable.claiming(db, observationIDs) }
    }

    public func series(_ query: SeriesQuery) throws -> [Observation] {
        if query.indicator.isEmpty {
            throw StoreError.invalid("indicator", "is required")
        }
        try Validation.country(query.origin, field: "origin")
        try Validation.country(query.destination, field: "destination")
        try Validation.date(query.periodFrom, field: "period_from")
        try Validation.date(query.periodTo, field: "period_to")
        try Validation.range(query.periodFrom, query.periodTo, fromField: "period_from", toField: "period_to")
        try Validation.date(query.asOf, field: "as_of")
        return try read { db in try ObservationTable.series(db, query) }
    }

    public func sources(ids: [Int64]) throws -> [Source] {
        if ids.count > PageRequest.maximumSize {
            throw StoreError.invalid("ids", "at most \(PageRequest.maximumSize) ids")
        }
        return try read { db in try SourceTable.load(db, ids: ids) }
    }

    /// The first source stored with this URL and title (how the figures table names its sources).
    func source(url: String, title: String) throws -> Source? {
        try read { db in
            try db.row(
                "SELECT \(SourceTable.columns) FROM sources s WHERE s.url = ? AND s.title = ? ORDER BY s.id LIMIT 1",
                [url, title]
            ).map(SourceTable.decode)
        }
    }

    public func sources(page: PageRequest) throws -> Page<Source> {
        let size = try page.resolvedSize()
        let after = try PageToken.decode(page.token, listing: "sources", shape: [false])
        let afterID: Int64? = after.flatMap { if case .integer(let id) = $0.first { id } else { nil } }
        let sources = try read { db in try SourceTable.page(db, after: afterID, limit: size + 1) }
        return Self.page(sources.map { ($0, [PageToken.Value.integer($0.id)]) }, size: size, listing: "sources")
    }

    public func events(_ query: EventQuery) throws -> Page<Event> {
        try Validation.filterCountry(query.country, field: "country")
        try Validation.filterCountry(query.counterpart, field: "counterpart")
        try Validation.date(query.from, field: "from")
        try Validation.date(query.to, field: "to")
        try Validation.range(query.from, query.to, fromField: "from", toField: "to")
        let size = try query.page.resolvedSize()
        let after = try PageToken.decode(query.page.token, listing: "events", shape: EventTable.tokenShape)
        let rows = try read { db in try EventTable.list(db, query, after: after, limit: size) }
        return Self.page(rows, size: size, listing: "events")
    }

    public func agreements(_ query: AgreementQuery) throws -> Page<Agreement> {
        try Validation.filterCountry(query.country, field: "country")
        try Validation.filterCountry(query.counterpart, field: "counterpart")
        try Validation.date(query.from, field: "from")
        try Validation.date(query.to, field: "to")
        try Validation.range(query.from, query.to, fromField: "from", toField: "to")
        let size = try query.page.resolvedSize()
        let after = try PageToken.decode(query.page.token, listing: "agreements", shape: AgreementTable.tokenShape)
        let rows = try read { db in try AgreementTable.list(db, query, after: after, limit: size) }
        return Self.page(rows, size: size, listing: "agreements")
    }

    public func statements(_ query: StatementQuery) throws -> Page<Statement> {
        try Validation.filterCountry(query.country, field: "country")
        try Validation.date(query.from, field: "from")
        try Validation.date(query.to, field: "to")
        try Validation.range(query.from, query.to, fromField: "from", toField: "to")
        try Validation.id(query.eventID, field: "event_id")
        let size = try query.page.resolvedSize()
        let after = try PageToken.decode(query.page.token, listing: "statements", shape: StatementTable.tokenShape)
        let rows = try read { db in try StatementTable.list(db, query, after: after, limit: size) }
        return Self.page(rows, size: size, listing: "statements")
    }

    static let defaultSearchLimit = 20
    static let maximumSearchLimit = 200

    public func search(_ text: String, limit: Int) throws -> [SearchHit] {
        guard limit >= 0 else { throw StoreError.invalid("limit", "must not be negative") }
        if text.utf8.count > 1000 {
            throw StoreError.invalid("query", "is longer than 1000 bytes")
        }
        let limit = limit == 0 ? Self.defaultSearchLimit : min(limit, Self.maximumSearchLimit)
        return try read { db in try SearchIndex.search(db, text, limit: limit) }
    }

    public func changes(after sequence: Int64, limit: Int) throws -> [Change] {
        guard limit >= 0 else { throw StoreError.invalid("limit", "must not be negative") }
        let limit = limit == 0 ? PageRequest.defaultSize : min(limit, PageRequest.maximumSize)
        return try readCurrent { db in try ChangeTable.list(db, after: max(0, sequence), limit: limit) }
    }

    public func latestSequence() throws -> Int64 {
        try readCurrent { db in try ChangeTable.latest(db) }
    }

    public func sequenceUpdates() -> AsyncStream<Int64> {
        broadcaster.subscribe()
    }

    /// How many `sequenceUpdates()` streams are open (the live change feeds: WatchChanges calls).
    public var sequenceSubscriberCount: Int {
        broadcaster.subscriberCount
    }

    /// A page from rows fetched with one extra (to know whether more follow); the token is the last key.
    private static func page<Item>(_ rows: [(Item, [PageToken.Value])], size: Int, listing: String) -> Page<Item> {
        var items: [Item] = []
        items.reserveCapacity(min(rows.count, size))
        for (item, _) in rows.prefix(size) {
            items.append(item)
        }
        guard rows.count > size else {
            return Page(items: items, nextToken: "")
        }
        return Page(items: items, nextToken: PageToken.encode(listing: listing, key: rows[size - 1].1))
    }
}
