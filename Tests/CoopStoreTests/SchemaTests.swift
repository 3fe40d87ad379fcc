import CoopStore
import Foundation
import Testing

@Suite struct SchemaTests {
    @Test func migratingAnEmptyDatabaseAppliesTheNamedMigrationsAndSeedsCountries() async throws {
        try await withStore { store async throws in
            let check = try await store.checkStorage()
            #expect(check.migrations == ["v1-schema", "v1-countries", "v1-search-index", "v2-observations-pair-listing"])
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
            #expect(try await second.checkStorage().migrations == ["v1-schema", "v1-countries", "v1-search-index", "v2-observations-pair-listing"])
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
}
