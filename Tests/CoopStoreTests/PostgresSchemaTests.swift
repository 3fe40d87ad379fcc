import CoopTestSupport
import Testing

@testable import CoopStore

/// What a coopd finds in the database's schema before it serves: migrations it does not know, a version lease
/// it cannot honour.
@Suite struct PostgresSchemaTests {
    /// A newer coopd may have changed what every coopd on the database must do: an older one refuses to start,
    /// naming the migration, rather than serve by older rules.
    @Test(.enabled(if: Backend.all.contains(.postgres), "needs the test PostgreSQL server"))
    func aDatabaseMigratedByANewerCoopdIsRefusedNamingTheMigration() async throws {
        let database = try await TestPostgres.makeDatabase()
        defer { Task { await TestPostgres.removeDatabase(database) } }
        try await TestPostgres.openStore(database: database).close()
        try await TestPostgres.offload {
            try TestPostgres.psql("INSERT INTO coop_migrations (name) VALUES ('pg-v99-future')", database: database)
        }
        let error = await #expect(throws: StoreError.self) { try await TestPostgres.openStore(database: database) }
        #expect(error?.code == .failedPrecondition)
        #expect(error?.message.contains("pg-v99-future") == true)
        #expect(error?.message.contains("newer coopd") == true)
    }

    /// The lease every coopd on the database shares is checked at start: a value it cannot honour is refused
    /// with the key and the range, not served by with some other lease.
    @Test(.enabled(if: Backend.all.contains(.postgres), "needs the test PostgreSQL server"))
    func aVersionLeaseOutOfRangeIsRefusedAtStart() async throws {
        let database = try await TestPostgres.makeDatabase()
        defer { Task { await TestPostgres.removeDatabase(database) } }
        try await TestPostgres.openStore(database: database).close()
        for value in ["-1", "2000000", "1ms"] {
            try await TestPostgres.offload {
                try TestPostgres.psql(
                    "UPDATE meta SET value = '\(value)' WHERE key = 'version_lease_microseconds'", database: database)
            }
            let error = await #expect(throws: StoreError.self) { try await TestPostgres.openStore(database: database) }
            #expect(error?.code == .failedPrecondition, "\(value)")
            #expect(error?.message.contains("version_lease_microseconds") == true, "\(value)")
        }
    }
}
