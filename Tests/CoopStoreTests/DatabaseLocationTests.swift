import CoopStore
import Testing

/// `--database`: which store a URL selects, and that a password never shows.
@Suite struct DatabaseLocationTests {
    @Test func sqliteIsAPathOrASqliteURL() throws {
        #expect(try DatabaseLocation(parsing: "/var/lib/coopd/coop.sqlite") == .sqlite(path: "/var/lib/coopd/coop.sqlite"))
        #expect(try DatabaseLocation(parsing: "sqlite:/tmp/x.sqlite") == .sqlite(path: "/tmp/x.sqlite"))
        #expect(throws: StoreError.self) { try DatabaseLocation(parsing: "sqlite:") }
        #expect(throws: StoreError.self) { try DatabaseLocation(parsing: "mysql://db/coop") }
    }

    @Test func aUnixSocketURLNamesTheSocketDirectoryDatabaseAndUser() throws {
        let location = try PostgresLocation(url: "postgresql:///coop?host=/run/postgresql&user=coopd")
        #expect(location.isUnixSocket)
        #expect(location.socketPath == "/run/postgresql/.s.PGSQL.5432")
        #expect(location.database == "coop")
        #expect(location.user == "coopd")
        #expect(location.password == nil)
        let bare = try PostgresLocation(url: "postgres:///coop")
        #expect(bare.host == "/run/postgresql")
    }

    @Test func aTCPURLNamesHostPortAndDatabase() throws {
        let location = try PostgresLocation(url: "postgresql://coopd@db.example.org:6543/coop?connections=4")
        #expect(!location.isUnixSocket)
        #expect(location.host == "db.example.org")
        #expect(location.port == 6543)
        #expect(location.readConnections == 4)
        #expect(throws: StoreError.self) { try PostgresLocation(url: "postgresql://db/coop?sslmode=require") }
        #expect(throws: StoreError.self) { try PostgresLocation(url: "postgresql://db/coop?port=99999") }
    }

    @Test func thePasswordNeverShows() throws {
        for url in ["postgresql://coopd:s3cr%2Ft@db.example.org/coop", "postgresql://coopd@db/coop?password=s3cr%2Ft"] {
            let location = try DatabaseLocation(parsing: url)
            guard case .postgres(let postgres) = location else {
                Issue.record("\(url) is not PostgreSQL")
                continue
            }
            #expect(postgres.password == "s3cr/t")
            #expect(!location.description.contains("s3cr"))
            #expect(!"\(postgres)".contains("s3cr"))
            #expect(location.description.contains("***"))
        }
    }

    @Test func coopdsOwnParametersAreReadAndChecked() throws {
        let location = try PostgresLocation(url: "postgresql:///coop?host=/run/postgresql&connections=3&replay_wait_ms=250")
        #expect(location.readConnections == 3)
        #expect(location.replayWait == .milliseconds(250))
        #expect(try PostgresLocation(url: "postgresql:///coop").replayWait == .milliseconds(100))
        #expect(throws: StoreError.self) { try PostgresLocation(url: "postgresql:///coop?replay_wait_ms=-1") }
        #expect(throws: StoreError.self) { try PostgresLocation(url: "postgresql:///coop?replay_wait_ms=soon") }
    }
}
