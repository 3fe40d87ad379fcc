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
                "v7-longest-period"])
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
                "v7-longest-period"])
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

    private func sqlite(_ path: String, _ sql: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = [path, sql]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }
}
