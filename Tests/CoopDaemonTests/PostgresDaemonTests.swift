#if canImport(Glibc)
import Glibc
#endif
import CoopClient
import CoopProto
import CoopStore
import CoopTestSupport
import Foundation
import Testing

/// Many coopd, one PostgreSQL database: what one acknowledges, every other one answers, through its response
/// cache; the change log streams every host's writes; starting together on an empty database seeds it once.
/// Needs the test run's PostgreSQL server (`make test` starts one; see Tests/lib/postgres.sh).
@Suite(.enabled(if: TestPostgres.socketDirectory != nil, "needs the test PostgreSQL server (COOPD_TEST_POSTGRES)"))
struct PostgresDaemonTests {
    private static func source(_ title: String) -> Coop_V1_Source {
        .with {
            $0.title = title
            $0.publisher = "test publisher"
            $0.url = "https://example.org/\(title)"
            $0.published = "2026-01-15"
            $0.kind = .news
        }
    }

    /// Two coopd on one new database, started together, both loading the shipped dataset.
    private func withTwoDaemons(
        seed: Bool, _ body: (DaemonProcess, DaemonProcess, String) async throws -> Void
    ) async throws {
        let database = try await TestPostgres.makeDatabase()
        let url = try TestPostgres.url(database: database)
        let environment = ["COOPD_SEED": seed ? "yes" : "no", "COOPD_DATABASE": url]
        let (dirA, dirB) = (try TemporaryDirectory(), try TemporaryDirectory())
        defer { dirA.remove(); dirB.remove() }
        async let startA = DaemonProcess.start(in: dirA, environment: environment)
        async let startB = DaemonProcess.start(in: dirB, environment: environment)
        let (a, b) = try await (startA, startB)
        defer { a.kill(); b.kill() }
        var dropped = false
        defer { if !dropped { TestPostgres.dropDatabase(database) } }
        // Serving means the seed is in (coopd listens after loading it).
        for daemon in [a, b] {
            let status = try await withClient(daemon.socketPath) { client in try await client.health() }
            #expect(status == .serving)
        }
        try await body(a, b, database)
        a.kill()
        b.kill()
        await TestPostgres.removeDatabase(database)
        dropped = true
    }

    @Test func twoDaemonsStartingTogetherOnAnEmptyDatabaseSeedItOnce() async throws {
        try await withTwoDaemons(seed: true) { a, b, database in
            // The change log of a seed into an embedded store is the reference: a second import would add to it.
            let reference = try SQLiteStore.temporary()
            try await reference.importSeedIfNeeded(progress: { _ in })
            let store = try await TestPostgres.openStore(database: database)
            defer { store.close() }
            #expect(try store.latestSequence() == (try reference.latestSequence()))
            #expect(
                try store.appliedMigrations()
                    == ["pg-v1-schema", "pg-v1-countries", "pg-v2-version-lease", "pg-v3-longest-period"])
            try await withClient(a.socketPath) { clientA in
                try await withClient(b.socketPath) { clientB in
                    let summaryA = try await clientA.pairSummary("VN", "JP")
                    let summaryB = try await clientB.pairSummary("VN", "JP")
                    #expect(summaryA == summaryB)
                    #expect(summaryA.indicators.contains { $0.indicator.code == "JP_MHLW_FOREIGN_WORKERS" })
                }
            }
        }
    }

    /// A start that waits on the database (another process holds the schema's advisory lock, as a coopd migrating
    /// a large database would) tells systemd so and extends its start timeout, from five seconds on, then serves
    /// once the lock is given back.
    @Test func aStartWaitingOnTheDatabaseExtendsSystemdsStartTimeout() async throws {
        let database = try await TestPostgres.makeDatabase(template: try await TestPostgres.seededTemplate())
        defer { Task { await TestPostgres.removeDatabase(database) } }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // The key of PostgresSchema.advisoryLock ("coopd"), held for eight seconds by another session; for slower
        // test runs (ThreadSanitizer's) longer than the 30 s after which a statement's answer is given up on, which
        // a `pg_advisory_lock` waiting for it was (coopd then failed to start).
        let hold = Int((8 * patience).rounded(.up))
        async let holder: Void = TestPostgres.offload {
            try TestPostgres.psql("SELECT pg_advisory_lock(\(0x636F_6F70_64)); SELECT pg_sleep(\(hold))", database: database)
        }
        let held = """
            DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted) THEN
            RAISE EXCEPTION 'not yet'; END IF; END $$
            """
        try await poll("the advisory lock held", timeout: .seconds(30), every: .milliseconds(50)) {
            (try? await TestPostgres.offload { try TestPostgres.psql(held, database: database) }).map { true }
        }
        let listener = try NotifyListener(path: directory.file("notify.sock"))
        let started = ContinuousClock.now
        let daemon = try await DaemonProcess.start(
            in: directory, environment: listener.environment.merging(["COOPD_DATABASE": try TestPostgres.url(database: database)]) { $1 },
            waitUntilServing: false)
        defer { daemon.kill() }
        let extended = try await listener.waitFor("EXTEND_TIMEOUT_USEC=30000000", timeout: .seconds(20))
        #expect(ContinuousClock.now - started >= .seconds(4), "extended before the first five seconds")
        #expect(notificationFields(extended)["STATUS"] == "opening the database")
        #expect(!listener.received.contains { $0.contains("READY=1") }, "ready while the lock was held")
        let ready = try await listener.waitFor("READY=1", timeout: .seconds(30))
        #expect(notificationFields(ready)["STATUS"] == "serving on \(daemon.socketPath)")
        try await holder
    }

    @Test func aWriteAcknowledgedByOneDaemonIsReadByTheOtherThroughItsCache() async throws {
        try await withTwoDaemons(seed: false) { a, b, _ in
            try await withClient(a.socketPath) { clientA in
                try await withClient(b.socketPath) { clientB in
                    // B answers (and caches) the listing before A's write...
                    let before = try await clientB.listSources()
                    #expect(try await clientB.listSources() == before)
                    for round in 0..<20 {
                        let written = try await clientA.putSource(Self.source("shared-\(round)"))
                        // ...and the next read on B after A's acknowledgement has it.
                        let after = try await clientB.listSources()
                        #expect(after.sources.contains { $0.id == written.id && $0.title == "shared-\(round)" })
                    }
                    let searched = try await clientB.search("shared")
                    #expect(searched.count == 20)
                }
            }
        }
    }

    @Test func watchChangesOnOneDaemonStreamsTheOthersWritesInOrderWithoutGaps() async throws {
        try await withTwoDaemons(seed: false) { a, b, _ in
            let watcher = CoopClient(socketPath: b.socketPath)
            defer { Task { await watcher.close() } }
            #expect(try await watcher.health() == .serving)
            var changes = try watcher.watchChanges(fromSequence: 1, options: CallOptions(timeout: .seconds(60)))
                .makeAsyncIterator()
            // Writers on both daemons at once: every change arrives on B, once, in sequence order.
            let perWriter = 15
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (name, socket) in [("a", a.socketPath), ("b", b.socketPath)] {
                    for writer in 0..<2 {
                        group.addTask {
                            try await withClient(socket) { client in
                                for n in 0..<perWriter {
                                    _ = try await client.putSource(Self.source("\(name)\(writer)-\(n)"))
                                }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            var sequences: [Int64] = []
            var titles: Set<String> = []
            while sequences.count < 4 * perWriter, let change = try await changes.next() {
                sequences.append(change.sequence)
                titles.insert(change.source.title)
            }
            #expect(sequences == Array(1...Int64(4 * perWriter)))
            #expect(titles.count == 4 * perWriter)
        }
    }

    /// A password in the URL is used and never shown: coopd's log names the database with "***".
    @Test func thePasswordInTheDatabaseURLNeverReachesTheLog() async throws {
        let database = try await TestPostgres.makeDatabase()
        let url = try TestPostgres.url(database: database)
            .replacingOccurrences(of: "postgresql://postgres@", with: "postgresql://postgres:Hunter2Secret@")
        try await withDaemon(environment: ["COOPD_DATABASE": url, "COOPD_LOG_LEVEL": "debug"]) { daemon in
            let status = try await withClient(daemon.socketPath) { client in try await client.health() }
            #expect(status == .serving)
            let log = try await daemon.waitForStderr(containing: "store open")
            #expect(log.contains("postgres:***@"))
            #expect(!log.contains("Hunter2Secret"))
        }
        await TestPostgres.removeDatabase(database)
    }

    /// A server that asks for a password (scram-sha-256): coopd takes it from `--database-password-file` or from the
    /// systemd credential `database-password`; a wrong one stops the start with the server's reason, and the password
    /// is never in the log.
    @Test func thePasswordComesFromAFileOrASystemdCredential() async throws {
        let server = try await PrivatePostgresServer.start()
        defer { server.remove() }
        _ = try await server.psql("CREATE ROLE coop_pw LOGIN PASSWORD 'Corr3ct-Horse'")
        _ = try await server.psql("CREATE DATABASE coop_pw OWNER coop_pw")
        try await server.requirePassword(user: "coop_pw")
        let url = "postgresql://coop_pw@/coop_pw?host=\(server.directory)"
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let credentials = directory.file("credentials")
        try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: true)
        try "Corr3ct-Horse\n".write(toFile: credentials + "/database-password", atomically: true, encoding: .utf8)
        try "Wr0ng-Horse\n".write(toFile: directory.file("wrong"), atomically: true, encoding: .utf8)

        // From a file named on the command line.
        try await withDaemon(
            arguments: ["--database-password-file", credentials + "/database-password"],
            environment: ["COOPD_DATABASE": url, "COOPD_LOG_LEVEL": "debug"]
        ) { daemon in
            let written = try await withClient(daemon.socketPath) { client in
                try await client.putSource(Self.source("with a password"))
            }
            #expect(written.id > 0)
            #expect(!daemon.stderr.contains("Corr3ct-Horse"))
        }
        // From the credential systemd hands over (LoadCredential=database-password:…).
        try await withDaemon(environment: ["COOPD_DATABASE": url, "CREDENTIALS_DIRECTORY": credentials]) { daemon in
            let sources = try await withClient(daemon.socketPath) { client in try await client.listSources() }
            #expect(sources.sources.map(\.title) == ["with a password"])
        }
        // A wrong password: coopd does not start, says why, and shows no password.
        let wrong = try await DaemonProcess.start(
            in: directory, arguments: ["--database-password-file", directory.file("wrong")],
            environment: ["COOPD_DATABASE": url], waitUntilServing: false)
        defer { wrong.kill() }
        let ended = try await poll("coopd to give up", timeout: .seconds(20)) { wrong.process.checkExited() }
        #expect(ended != .exited(0))
        #expect(wrong.stderr.contains("cannot open the database"), "\(wrong.stderr)")
        #expect(!wrong.stderr.contains("Wr0ng-Horse") && !wrong.stderr.contains("Corr3ct-Horse"))
    }

    /// `coopd copy-store` moves a deployment: a seeded SQLite file into an empty PostgreSQL database, which a coopd
    /// then serves; a second copy into it is refused and changes nothing.
    @Test func copyStoreMovesAnSQLiteDeploymentThatACoopdOnPostgreSQLThenServes() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("old.sqlite")
        let old = try SQLiteStore(path: path)
        try await old.importSeedIfNeeded(progress: { _ in })
        let expected = try old.latestSequence()
        try old.close()
        let database = try await TestPostgres.makeDatabase()
        let url = try TestPostgres.url(database: database)
        let copied = try await runToCompletion(
            try TestBinaries.coopd(), ["copy-store", "--from", "sqlite:\(path)", "--to", url], in: directory)
        #expect(copied.termination == .exited(0), "\(copied.stderr)")
        #expect(copied.stdout.contains("observations: "))
        #expect(copied.stdout.contains("change log up to \(expected)"))

        let again = try await runToCompletion(
            try TestBinaries.coopd(), ["copy-store", "--from", "sqlite:\(path)", "--to", url], in: directory)
        #expect(again.termination == .exited(1))
        #expect(again.stderr.contains("already holds data"))

        try await withDaemon(environment: ["COOPD_DATABASE": url]) { daemon in
            try await withClient(daemon.socketPath) { client in
                let summary = try await client.pairSummary("VN", "JP")
                #expect(summary.relationship.established == "1973-09-21")
                #expect(summary.indicators.contains { $0.indicator.code == "JP_MHLW_FOREIGN_WORKERS" })
                #expect(!(try await client.search("Dao Ngoc Dung")).isEmpty)
            }
        }
        await TestPostgres.removeDatabase(database)
    }

    /// PostgreSQL stopped under a steady stream of writes, then started again: coopd keeps running, calls fail fast
    /// with UNAVAILABLE (never INTERNAL), health says NOT_SERVING and then SERVING again by itself, and every
    /// acknowledged write is there afterwards.
    @Test func theDatabaseGoingAwayAndComingBackUnderLoadLosesNothingAcknowledged() async throws {
        let server = try await PrivatePostgresServer.start()
        defer { server.remove() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let listener = try NotifyListener(path: directory.file("notify.sock"))
        let daemon = try await DaemonProcess.start(
            in: directory, environment: listener.environment.merging(["COOPD_DATABASE": server.url()]) { $1 })
        defer { daemon.kill() }
        try await withClient(daemon.socketPath) { client in
            let acknowledgedCount = Counter()
            let unavailable = Counter()
            // The writer's acknowledged ids and any failure other than UNAVAILABLE, handed over when it ends.
            let writing = Task { () -> (acknowledged: [Int64], otherFailures: [String]) in
                var acknowledged: [Int64] = []
                var otherFailures: [String] = []
                var n = 0
                while !Task.isCancelled {
                    n += 1
                    do {
                        let source = try await client.putSource(Self.source("fault-\(n)"), requestID: "fault-\(n)")
                        acknowledged.append(source.id)
                        acknowledgedCount.increment()
                    } catch let error as RPCError where error.code == .unavailable {
                        unavailable.increment()
                        try? await Task.sleep(for: .milliseconds(20))
                    } catch {
                        // The end of the test cancels the call in flight; anything else is a failure.
                        if Task.isCancelled { break }
                        otherFailures.append("\(error)")
                    }
                }
                return (acknowledged, otherFailures)
            }
            try await poll("some writes", timeout: .seconds(20), every: .milliseconds(100)) {
                acknowledgedCount.value >= 20 ? true : nil
            }
            try await server.halt()
            try await poll("health to say NOT_SERVING", timeout: .seconds(15), every: .milliseconds(100)) {
                (try? await client.health()) == .notServing ? true : nil
            }
            // systemd hears why.
            _ = try await listener.waitFor("STATUS= naming the database", timeout: .seconds(10)) {
                notificationFields($0)["STATUS"]?.contains("the database is unavailable") == true
            }
            // While it is away a read fails fast, and as UNAVAILABLE.
            let started = ContinuousClock.now
            let failed = await #expect(throws: RPCError.self) { _ = try await client.listSources() }
            #expect(failed?.code == .unavailable)
            #expect(ContinuousClock.now - started < .seconds(6))
            try await poll("failed writes", timeout: .seconds(15), every: .milliseconds(100)) {
                unavailable.value >= 3 ? true : nil
            }

            try await server.resume()
            try await poll("health to say SERVING", timeout: .seconds(30), every: .milliseconds(100)) {
                (try? await client.health()) == .serving ? true : nil
            }
            let before = acknowledgedCount.value
            try await poll("writes again", timeout: .seconds(30), every: .milliseconds(100)) {
                acknowledgedCount.value >= before + 20 ? true : nil
            }
            writing.cancel()
            let (acknowledged, otherFailures) = await writing.value

            #expect(otherFailures == [])
            var stored: Set<Int64> = []
            var request = Coop_V1_ListSourcesRequest()
            request.pageSize = 1000
            while true {
                let page = try await client.listSources(request)
                stored.formUnion(page.sources.map(\.id))
                if page.nextPageToken.isEmpty { break }
                request.pageToken = page.nextPageToken
            }
            let missing = Set(acknowledged).subtracting(stored)
            #expect(missing.isEmpty, "acknowledged but not stored: \(missing.sorted())")
        }
        #expect(daemon.process.checkExited() == nil, "coopd must keep running")
    }

    /// `--database-read`: reads go to a streaming standby. What this coopd acknowledged, it reads back at once (it
    /// waits for the standby to replay its write, or asks the primary); another host's write shows once replayed.
    @Test func readsFromAStandbySeeTheirOwnWritesAtOnceAndOtherHostsWritesOnceReplayed() async throws {
        let primary = try await PrivatePostgresServer.start()
        defer { primary.remove() }
        let standby = try await primary.startStandby()
        defer { standby.remove() }
        let (dirA, dirB) = (try TemporaryDirectory(), try TemporaryDirectory())
        defer { dirA.remove(); dirB.remove() }
        // A reads from the standby; B, on the primary only, stands for another host.
        let a = try await DaemonProcess.start(in: dirA, environment: [
            "COOPD_SEED": "no", "COOPD_DATABASE": primary.url(),
            "COOPD_DATABASE_READ": standby.url() + "&replay_wait_ms=300",
        ])
        defer { a.kill() }
        let b = try await DaemonProcess.start(
            in: dirB, environment: ["COOPD_SEED": "no", "COOPD_DATABASE": primary.url()])
        defer { b.kill() }

        func titles(_ client: CoopClient) async throws -> Set<String> {
            Set(try await client.listSources().sources.map(\.title))
        }

        try await withClient(a.socketPath) { clientA in
            try await withClient(b.socketPath) { clientB in
                // Read-your-writes on A, round after round, with the standby replaying as it goes.
                for round in 0..<20 {
                    _ = try await clientA.putSource(Self.source("a-\(round)"))
                    #expect(try await titles(clientA).contains("a-\(round)"), "round \(round)")
                }

                // Replay paused: B's write is on the primary only, and A, reading the standby, does not have it yet.
                try await standby.waitForReplay(of: primary)
                _ = try await standby.psql("SELECT pg_wal_replay_pause()")
                _ = try await clientB.putSource(Self.source("b-paused"))
                #expect(try await titles(clientB).contains("b-paused"))
                #expect(try await !titles(clientA).contains("b-paused"), "A's reads come from the standby")

                // A's own write while replay is paused: the standby cannot have it, so A's next read asks the primary
                // (after waiting replay_wait_ms) and has it, and B's too.
                _ = try await clientA.putSource(Self.source("a-paused"))
                let afterOwnWrite = try await titles(clientA)
                #expect(afterOwnWrite.contains("a-paused"))
                #expect(afterOwnWrite.contains("b-paused"))

                // Replay resumed: the standby catches up and serves both.
                _ = try await standby.psql("SELECT pg_wal_replay_resume()")
                try await standby.waitForReplay(of: primary)
                let replayed = try await titles(clientA)
                #expect(replayed.isSuperset(of: ["a-paused", "b-paused"]))
                // And A's reads are the standby's again: paused once more, B's next write stays out of A's answers.
                _ = try await standby.psql("SELECT pg_wal_replay_pause()")
                _ = try await clientB.putSource(Self.source("b-paused-again"))
                #expect(try await !titles(clientA).contains("b-paused-again"))
                // WatchChanges on A reads the change log on the primary: B's write streams at once, standby or not.
                let watched = try await withClient(a.socketPath) { watcher in
                    var changes = try watcher.watchChanges(fromSequence: 1, options: CallOptions(timeout: .seconds(30)))
                        .makeAsyncIterator()
                    var titles: [String] = []
                    while !titles.contains("b-paused-again"), let change = try await changes.next() {
                        titles.append(change.source.title)
                    }
                    return titles
                }
                #expect(watched.last == "b-paused-again")
                _ = try await standby.psql("SELECT pg_wal_replay_resume()")

                // The standby gone: A's reads go to the primary, with everything on it, and nothing fails.
                try await standby.halt()
                _ = try await clientB.putSource(Self.source("b-standby-down"))
                _ = try await clientA.putSource(Self.source("a-standby-down"))
                for _ in 0..<5 {
                    #expect(try await titles(clientA).isSuperset(of: ["b-standby-down", "a-standby-down"]))
                }
            }
        }
        #expect(a.process.checkExited() == nil)
    }
}
