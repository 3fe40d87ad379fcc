import CoopStore
import CoopTestSupport
import Foundation
import Testing

@Suite struct SchemaTests {
    @Test func migratingAnEmptyDatabaseAppliesTheNamedMigrationsAndSeedsCountries() async throws {
        try await withStore { store async throws in
            let check = try await store.checkStorage()
            #expect(check.migrations == ["v1-schema", "v1-countries", "v1-search-index", "v2-observations-pair-listing",
                "v3-observation-columns", "v4-request-digests", "v5-search-native-names", "v6-observation-identity",
                "v7-longest-period", "v8-observations-clustered"])
            #expect(try store.latestSequence() == 0)
            #expect(try store.indicators() == [])
            #expect(try store.sources(page: PageRequest()).items == [])

            let countries = try store.countries()
            #expect(countries.count == 249)
            #expect(countries.map(\.code) == countries.map(\.code).sorted())
            #expect(
                countries.first { $0.code == "VN" }
                    == Country(code: "VN", name: "Viet Nam", otherNames: ["Vietnam", "Socialist Republic of Viet Nam"]))
            #expect(countries.first { $0.code == "JP" } == Country(code: "JP", name: "Japan"))
            #expect(!countries.contains { $0.code == "_T" })
        }
    }

    @Test func poolConnectionsUseWALAndSynchronousFullAndPassTheIntegrityCheck() async throws {
        try await withSeededStore { store async throws in
            let check = try await store.checkStorage()
            #expect(check.integrity == ["ok"])
            #expect(check.writerJournalMode == "wal")
            #expect(check.readerJournalMode == "wal")
            #expect(check.writerSynchronous == 2)
            #expect(check.readerSynchronous == 2)
            #expect(check.foreignKeys)
        }
    }

    @Test func reopeningAMigratedDatabaseKeepsItsDataAndMigrations() async throws {
        try await withTemporaryDirectory { directory async throws in
            let path = directory.appendingPathComponent("nested/dir/coop.sqlite").path
            let first = try SQLiteStore(path: path)
            let source = try await first.putSource(Source(title: "T", publisher: "P"), context())
            try first.close()

            let second = try SQLiteStore(path: path)
            defer { try? second.close() }
            #expect(try second.sources(ids: [source.id]) == [source])
            #expect(try await second.checkStorage().migrations == ["v1-schema", "v1-countries", "v1-search-index", "v2-observations-pair-listing",
                "v3-observation-columns", "v4-request-digests", "v5-search-native-names", "v6-observation-identity",
                "v7-longest-period", "v8-observations-clustered"])
        }
    }

    @Test func aClosedStoreFailsWithUnavailable() async throws {
        try await withTemporaryDirectory { directory async throws in
            let store = try SQLiteStore(path: directory.appendingPathComponent("coop.sqlite").path)
            try store.close()
            let error = await storeError { _ = try store.countries() }
            #expect(error?.code == .unavailable)
        }
    }

    @Test func temporaryStoresRemoveTheirFiles() async throws {
        var path = ""
        do {
            let store = try SQLiteStore.temporary()
            path = store.path
            try await store.ping()
            #expect(FileManager.default.fileExists(atPath: path))
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func upgradingADatabaseFromBeforeV3KeepsEveryLink() async throws {
        try await withTemporaryDirectory { directory async throws in
            let path = directory.appendingPathComponent("coop.sqlite").path
            var ids: [Int64] = []
            do {
                let store = try SQLiteStore(path: path)
                let fixture = try await Fixture.make(store)
                let stored = try await store.addObservations(
                    [2019, 2020, 2021].map { fixture.observation(value: Int64($0), period: "\($0)") }, context())
                ids = stored.map(\.id)
                _ = try await store.linkConflict(ids[0], with: ids[2], note: "", context())
                _ = try await store.linkConflict(ids[1], with: ids[0], note: "", context())
                try store.close()
            }
            // The database as the previous release left it: no column, migration not applied.
            try sqlite(path, """
                DROP TRIGGER conflict_links_inserted;
                DROP TRIGGER conflict_links_deleted;
                ALTER TABLE observations DROP COLUMN conflicts;
                ALTER TABLE observations ADD COLUMN breakdown_json TEXT NOT NULL DEFAULT '[]';
                DELETE FROM grdb_migrations WHERE identifier = 'v3-observation-columns';
                """)
            let store = try SQLiteStore(path: path)
            defer { try? store.close() }
            let listed = try store.observations(.everything()).items
            #expect(listed.map(\.conflictsWith) == [[ids[1], ids[2]], [ids[0]], [ids[0]]])
            // And links made after the upgrade show too.
            _ = try await store.linkConflict(ids[1], with: ids[2], note: "", context())
            #expect(try store.observations(.everything()).items.map(\.conflictsWith) == [
                [ids[1], ids[2]], [ids[0], ids[2]], [ids[0], ids[1]],
            ])
        }
    }

    /// A database from before listings were bounded by each indicator's longest period: the upgrade finds the
    /// longest period stored, so a figure whose period began long before a range still shows in it once more
    /// figures of its indicator are added.
    @Test func upgradingADatabaseFindsTheLongestPeriodItHolds() async throws {
        try await withTemporaryDirectory { directory async throws in
            let path = directory.appendingPathComponent("coop.sqlite").path
            var long: Observation
            do {
                let store = try SQLiteStore(path: path)
                let fixture = try await Fixture.make(store)
                long = fixture.observation(value: 1)
                long.periodStart = "2010"
                long.periodEnd = "2020-09"
                long = try await store.addObservations([long], context())[0]
                try store.close()
            }
            try sqlite(path, """
                ALTER TABLE indicators DROP COLUMN longest_period_days;
                DELETE FROM grdb_migrations WHERE identifier = 'v7-longest-period';
                """)
            let store = try SQLiteStore(path: path)
            defer { try? store.close() }
            let fixture = try await Fixture.make(store)
            _ = try await store.addObservations([fixture.observation(value: 2, period: "2020-07-31")], context())
            var query = ObservationQuery.of(fixture.indicator.code, "VN", "JP")
            query.periodFrom = "2020-07"
            #expect(try store.observations(query).items.map(\.value) == [1, 2])
        }
    }

    /// A database from before observations were stored in listing order (a rowid table with a pair index): the
    /// upgrade keeps every figure with its id, revision, retraction and links, listings answer as before, and new
    /// figures are numbered after the last.
    @Test func upgradingStoresObservationsInListingOrderAndKeepsEveryFigure() async throws {
        try await withTemporaryDirectory { directory async throws in
            let path = directory.appendingPathComponent("coop.sqlite").path
            var before: [Observation] = []
            var pageOf2020: [Int64] = []
            do {
                let store = try SQLiteStore(path: path)
                let fixture = try await Fixture.make(store)
                let stored = try await store.addObservations(
                    (2015...2024).map { fixture.observation(value: Int64($0), period: "\($0)") }
                        + [fixture.observation(value: 7, period: "2020", origin: "PH")],
                    context())
                _ = try await store.reviseObservation(
                    supersedes: stored[1].id, revision: fixture.observation(value: 99, period: "2016", vintage: "2024-06"),
                    context())
                _ = try await store.retractObservation(stored[2].id, reason: "wrong table", context())
                _ = try await store.linkConflict(stored[3].id, with: stored[4].id, note: "", context())
                before = try await allObservations(store, .everything())
                var query = ObservationQuery.of(fixture.indicator.code, "VN", "JP")
                query.periodFrom = "2020"
                pageOf2020 = try store.observations(query).items.map(\.id)
                try store.close()
            }
            #expect(before.count == 12 && pageOf2020.count == 5)
            try sqlite(path, """
                PRAGMA foreign_keys = OFF;
                PRAGMA legacy_alter_table = ON;
                CREATE TABLE rowid_observations (
                  id INTEGER PRIMARY KEY AUTOINCREMENT, indicator TEXT NOT NULL REFERENCES indicators(code),
                  origin TEXT NOT NULL, destination TEXT NOT NULL, breakdown TEXT NOT NULL DEFAULT '',
                  period_start TEXT NOT NULL, period_end TEXT NOT NULL, period_from TEXT NOT NULL,
                  period_to TEXT NOT NULL, value INTEGER NOT NULL CHECK (value >= 0), value_high INTEGER NOT NULL DEFAULT 0,
                  unit_multiplier INTEGER NOT NULL DEFAULT 0, unit TEXT NOT NULL DEFAULT '', qualifier TEXT NOT NULL,
                  status TEXT NOT NULL, source_id INTEGER NOT NULL REFERENCES sources(id), locator TEXT NOT NULL DEFAULT '',
                  vintage TEXT NOT NULL DEFAULT '', vintage_from TEXT NOT NULL DEFAULT '',
                  supersedes_id INTEGER REFERENCES observations(id), superseded_by_id INTEGER REFERENCES observations(id),
                  note TEXT NOT NULL DEFAULT '', retracted INTEGER NOT NULL DEFAULT 0,
                  retraction_reason TEXT NOT NULL DEFAULT '', recorded_sequence INTEGER NOT NULL,
                  conflicts TEXT NOT NULL DEFAULT '');
                INSERT INTO rowid_observations SELECT id, indicator, origin, destination, breakdown, period_start,
                  period_end, period_from, period_to, value, value_high, unit_multiplier, unit, qualifier, status,
                  source_id, locator, vintage, vintage_from, supersedes_id, superseded_by_id, note, retracted,
                  retraction_reason, recorded_sequence, conflicts FROM observations ORDER BY id;
                DROP TABLE observations;
                ALTER TABLE rowid_observations RENAME TO observations;
                CREATE INDEX observations_listing
                  ON observations(indicator, origin, destination, breakdown, period_from, vintage_from, id);
                CREATE UNIQUE INDEX observations_one_revision
                  ON observations(supersedes_id) WHERE supersedes_id IS NOT NULL AND retracted = 0;
                CREATE INDEX observations_by_supersedes ON observations(supersedes_id) WHERE supersedes_id IS NOT NULL;
                CREATE INDEX observations_by_source ON observations(source_id);
                CREATE INDEX observations_pair_listing
                  ON observations(origin, destination, indicator, breakdown, period_from, vintage_from, id);
                CREATE INDEX observations_identity
                  ON observations(indicator, origin, destination, breakdown, period_from, vintage_from, value);
                DELETE FROM grdb_migrations WHERE identifier = 'v8-observations-clustered';
                """)
            #expect(try sqlite(path, "SELECT count(*) FROM sqlite_master WHERE name = 'observations_pair_listing'") == "1\n")
            let store = try SQLiteStore(path: path)
            defer { try? store.close() }
            // The rows are the table's key order now: the pair index has gone with the old table.
            #expect(try sqlite(path, "SELECT count(*) FROM sqlite_master WHERE name = 'observations_pair_listing'") == "0\n")
            #expect(try sqlite(path, "SELECT sql LIKE '%WITHOUT ROWID' FROM sqlite_master WHERE name = 'observations'") == "1\n")
            #expect(try await allObservations(store, .everything()) == before)
            let fixture = try await Fixture.make(store)
            var query = ObservationQuery.of(fixture.indicator.code, "VN", "JP")
            query.periodFrom = "2020"
            #expect(try store.observations(query).items.map(\.id) == pageOf2020)
            // Links still kept in step by their triggers, ids continue after the last.
            _ = try await store.linkConflict(before[0].id, with: before[5].id, note: "", context())
            #expect(try store.observations(.everything()).items.first { $0.id == before[0].id }?.conflictsWith
                == [before[5].id])
            let added = try await store.addObservations([fixture.observation(value: 1, period: "2030")], context())
            #expect(added[0].id == (before.map(\.id).max() ?? 0) + 1)
        }
    }

    @Test func upgradingADatabaseIndexedBeforeIdeographPairsReindexesIt() async throws {
        try await withTemporaryDirectory { directory async throws in
            let path = directory.appendingPathComponent("coop.sqlite").path
            do {
                let store = try SQLiteStore(path: path)
                try await store.importSeedIfNeeded(progress: { _ in })
                #expect(try store.search("ベトナム", limit: 5).count == 5)
                try store.close()
            }
            // The index as the previous release left it: Japanese runs as single tokens, no native names.
            try sqlite(path, """
                DROP TABLE search_index;
                CREATE VIRTUAL TABLE search_index USING fts5(entity_kind UNINDEXED, entity_id UNINDEXED,
                  display_title UNINDEXED, display_text UNINDEXED, title, body,
                  tokenize = 'unicode61 remove_diacritics 2');
                INSERT INTO search_index (entity_kind, entity_id, display_title, display_text, title, body)
                  VALUES ('source', 1, '日本のベトナム人', '', '日本のベトナム人', '');
                DELETE FROM meta WHERE key = 'search_index_format';
                DELETE FROM grdb_migrations WHERE identifier = 'v5-search-native-names';
                """)
            let store = try SQLiteStore(path: path)
            defer { try? store.close() }
            #expect(try store.search("ベトナム", limit: 5).count == 5)
            let dung = try #require(try store.search("Dao Ngoc Dung", limit: 20).first { $0.entityKind == "statement" })
            #expect(dung.nativeNames == ["Đào Ngọc Dung"])
        }
    }

    @Test(.enabled(if: TestPostgres.socketDirectory != nil, "needs the test PostgreSQL server"))
    func aPostgreSQLIndexWrittenInAnotherFormatIsWrittenAgainAtStart() async throws {
        let database = try await TestPostgres.makeDatabase(template: try await TestPostgres.seededTemplate())
        defer { TestPostgres.dropDatabase(database) }
        let before = try await TestPostgres.openStore(database: database)
        let hits = try await TestPostgres.offload { try before.search("ベトナム", limit: 50).count }
        #expect(hits > 5)
        before.close()
        // As an earlier coopd would have left it: other tokens (here, none), another format.
        try await TestPostgres.offload {
            try TestPostgres.psql(
                "DELETE FROM search_index; UPDATE meta SET value = '1-words' WHERE key = 'search_index_format'",
                database: database)
        }
        let after = try await TestPostgres.openStore(database: database)
        defer { after.close() }
        #expect(try await TestPostgres.offload { try after.search("ベトナム", limit: 50).count } == hits)
    }

    @discardableResult
    private func sqlite(_ path: String, _ sql: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = [path, sql]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return printed
    }
}
