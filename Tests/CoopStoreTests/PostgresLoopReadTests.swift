@testable import CoopStore
import CoopTestSupport
import Foundation
import NIOCore
import NIOPosix
import Testing

/// Reads run on an event loop in rounds (a statement's answer awaited without a thread, the read run again
/// with it) answer exactly what the same reads answer on a thread that waits.
@Suite struct PostgresLoopReadTests {
    /// What a caller could notice of a few reads: listings, a version, and an error.
    struct Answers: Equatable, Sendable, Codable {
        var countries: [String] = []
        var pages: [[Int64]] = []
        var version: UInt64 = 0
        var missingIndicator: String?
        var ranOnLoop = false
    }

    static func reads(_ store: PostgresStore, pages: Int, loop: (any EventLoop)? = nil) throws -> Answers {
        var answers = Answers()
        answers.version = store.dataVersion
        answers.countries = try store.countries().map(\.code)
        var query = ObservationQuery()
        query.origin = "VN"
        query.destination = "JP"
        query.page = PageRequest(size: 3)
        for _ in 0..<pages {
            let page = try store.observations(query)
            answers.pages.append(page.items.map(\.id))
            query.page.token = page.nextToken
        }
        var unknown = ObservationQuery()
        unknown.indicators = ["no_such_indicator"]
        do {
            _ = try store.observations(unknown)
        } catch let error as StoreError {
            answers.missingIndicator = "\(error.code): \(error.message)"
        }
        answers.ranOnLoop = loop?.inEventLoop ?? false
        return answers
    }

    static func onLoop(_ store: PostgresStore, pages: Int) async throws -> Answers {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let encoded = try await loop.flatSubmit {
            store.readOnEventLoop(loop, abandoned: { false }) {
                ByteBuffer(bytes: try JSONEncoder().encode(try reads(store, pages: pages, loop: loop)))
            } ?? loop.makeFailedFuture(StoreError(.internalError, "reads cannot run on the loop"))
        }.get()
        return try JSONDecoder().decode(Answers.self, from: Data(encoded.readableBytesView))
    }

    @Test(.enabled(if: Backend.all.contains(.postgres), "needs the test PostgreSQL server"))
    func readsOnAnEventLoopAnswerWhatReadsOnAThreadAnswer() async throws {
        let database = try await TestPostgres.makeDatabase(template: try await TestPostgres.seededTemplate())
        defer { Task { await TestPostgres.removeDatabase(database) } }
        let store = try await TestPostgres.openStore(database: database)
        defer { store.close() }

        let blocking = try await TestPostgres.offload { try Self.reads(store, pages: 2) }
        #expect(blocking.pages.count == 2 && blocking.pages.allSatisfy { $0.count == 3 })
        #expect(blocking.missingIndicator?.contains("no_such_indicator") == true)
        #expect(blocking.version > 0 && blocking.version < ResponseCacheVersion.unknownBit)

        // A few statements: every round on the loop, the last one included.
        var few = try await Self.onLoop(store, pages: 2)
        #expect(few.ranOnLoop)
        few.ranOnLoop = false
        #expect(few == blocking)

        // More statements than a read runs on the loop: the same answers, from a read thread.
        let many = try await Self.onLoop(store, pages: 12)
        let manyBlocking = try await TestPostgres.offload { try Self.reads(store, pages: 12) }
        #expect(many.pages.count == 12)
        #expect(!many.ranOnLoop)
        #expect(many == manyBlocking)
    }

    /// Each round is given the answers of the statements it asks: a round that asks another statement than the
    /// one answered at that point is not given that answer; the read runs whole on a thread instead. A caller
    /// that stopped waiting gets no more statements sent.
    @Test(.enabled(if: Backend.all.contains(.postgres), "needs the test PostgreSQL server"))
    func aRoundIsAnsweredOnlyWhatItAskedAndAnAbandonedReadStops() async throws {
        try await withStore(.postgres) { store in
            let postgres = try #require(store as? PostgresStore)
            let loop = MultiThreadedEventLoopGroup.singleton.next()
            let asked = Locked(0)
            let answer = try await loop.flatSubmit {
                postgres.readOnEventLoop(loop, abandoned: { false }) {
                    let n = asked.withLock { n in
                        n += 1
                        return n
                    }
                    let read = try store.read { db in try db.int64("SELECT CAST(? AS BIGINT) * 10", [n]) }
                    return ByteBuffer(string: "\(n) \(read ?? -1)")
                }!
            }.get()
            // Round 1 asked for 1 × 10, round 2 for 2 × 10 (not answered with 10), then whole on a thread.
            #expect(String(buffer: answer) == "3 30")

            let stopped = await #expect(throws: CancellationError.self) {
                _ = try await loop.flatSubmit {
                    postgres.readOnEventLoop(loop, abandoned: { true }) {
                        ByteBuffer(string: "\(try store.countries().count)")
                    }!
                }.get()
            }
            #expect(stopped != nil)
        }
    }

    /// A read on the loop after a write sees it, and its version has moved: nothing is answered from before it.
    @Test(.enabled(if: Backend.all.contains(.postgres), "needs the test PostgreSQL server"))
    func aReadOnTheLoopSeesAnAcknowledgedWriteOfAnotherHost() async throws {
        let database = try await TestPostgres.makeDatabase(template: try await TestPostgres.seededTemplate())
        defer { Task { await TestPostgres.removeDatabase(database) } }
        let a = try await TestPostgres.openStore(database: database)
        let b = try await TestPostgres.openStore(database: database)
        defer {
            a.close()
            b.close()
        }
        let before = try await Self.onLoop(b, pages: 1)
        let source = try await a.putSource(Source(title: "seen on the loop", publisher: "p"), context())
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let answer = try await loop.flatSubmit {
            b.readOnEventLoop(loop, abandoned: { false }) {
                ByteBuffer(string: "\(b.dataVersion) \(try b.sources(ids: [source.id]).map(\.title))")
            }!
        }.get()
        let words = String(buffer: answer).split(separator: " ", maxSplits: 1)
        #expect(UInt64(words[0]) ?? 0 > before.version)
        #expect(words[1] == "[\"seen on the loop\"]")
    }

    /// A copy of the seeded database whose version lease is the longest allowed (1 s): long enough to act within.
    static func seededDatabaseWithTheLongestLease() async throws -> String {
        let database = try await TestPostgres.makeDatabase(template: try await TestPostgres.seededTemplate())
        try await TestPostgres.offload {
            try TestPostgres.psql(
                "UPDATE meta SET value = '1000000' WHERE key = '\(PostgresSchema.versionLeaseKey)'", database: database)
        }
        return database
    }

    /// A version read is served again during the database's lease without asking (so a counter moved behind
    /// coopd's back, acknowledged to no one, shows only once the lease has ended), yet a write another host
    /// acknowledged is never hidden by it: that host answers only once every lease taken before its COMMIT ended.
    @Test(.enabled(if: Backend.all.contains(.postgres), "needs the test PostgreSQL server"))
    func aLeasedVersionNeverHidesAWriteAnotherHostAcknowledged() async throws {
        // The longest lease: without the writer's hold, B would still serve its old version when A answers.
        let database = try await Self.seededDatabaseWithTheLongestLease()
        defer { Task { await TestPostgres.removeDatabase(database) } }
        let a = try await TestPostgres.openStore(database: database)
        let b = try await TestPostgres.openStore(database: database)
        defer {
            a.close()
            b.close()
        }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        func versionOnB() async throws -> UInt64 {
            let answer = try await loop.flatSubmit {
                b.readOnEventLoop(loop, abandoned: { false }) { ByteBuffer(string: "\(b.dataVersion)") }!
            }.get()
            return try #require(UInt64(String(buffer: answer)))
        }

        // Within the lease, before its renewal, a counter moved behind coopd's back (by a statement of A's, not a
        // write: nothing holds it) is not seen; once the lease has ended it is. Tried until an attempt fits in the
        // lease's first half: a loaded machine can be slow, and past it the lease is renewed.
        var fitted = false
        var moved: UInt64 = 0
        for _ in 0..<5 where !fitted {
            let start = ContinuousClock.now
            let leased = try await versionOnB()
            _ = try await TestPostgres.offload { try a.read { db in try db.run("UPDATE change_counter SET last = last + 1") } }
            let again = try await versionOnB()
            // Known on that loop without a round (cached answers are given inline then), on no other thread.
            let known = try await loop.submit { b.dataVersionWithoutWaiting }.get()
            let elsewhere = b.dataVersionWithoutWaiting
            fitted = ContinuousClock.now - start < .milliseconds(400)
            if fitted {
                #expect(again == leased)
                #expect(known == leased)
                #expect(elsewhere == nil)
            }
            try await Task.sleep(for: .milliseconds(1_100))
            moved = try await versionOnB()
            #expect(moved == leased + 1)
        }
        #expect(fitted, "no attempt fitted in half a second")

        _ = try await a.putSource(Source(title: "held for the lease", publisher: "p"), context())
        #expect(try await versionOnB() > moved)
    }

    /// A write committed as its store closes is still acknowledged, and still not before the lease has ended:
    /// closing stops the timer that would have released the hold, so the hold is waited out instead.
    @Test(.enabled(if: Backend.all.contains(.postgres), "needs the test PostgreSQL server"))
    func aWriteHeldForTheLeaseWhenItsStoreClosesIsStillAcknowledgedOnceTheLeaseEnds() async throws {
        let database = try await Self.seededDatabaseWithTheLongestLease()
        defer { Task { await TestPostgres.removeDatabase(database) } }
        let store = try await TestPostgres.openStore(database: database)
        // The store announces a commit before acknowledging its writes: closing then lands in the hold.
        var commits = store.sequenceUpdates().makeAsyncIterator()
        let title = "committed as its store closes"
        let start = ContinuousClock.now
        let acknowledgement = Locked<Result<Source, any Error>?>(nil)
        let put = Task {
            let result: Result<Source, any Error>
            do {
                result = .success(try await store.putSource(Source(title: title, publisher: "p"), context()))
            } catch {
                result = .failure(error)
            }
            acknowledgement.withLock { $0 = result }
        }
        defer { put.cancel() }
        #expect(await commits.next() != nil, "the write was not committed")
        try await TestPostgres.offload { store.close() }

        // Not `put.value`: without the fallback it would never return.
        var acknowledged: Result<Source, any Error>?
        while acknowledged == nil, ContinuousClock.now - start < .seconds(10).patient {
            try await Task.sleep(for: .milliseconds(10))
            acknowledged = acknowledgement.withLock { $0 }
        }
        let stored = try #require(acknowledged, "the write was never acknowledged").get()
        #expect(stored.title == title)
        #expect(ContinuousClock.now - start >= .seconds(1), "acknowledged before the lease had ended")
    }

    /// A version one loop read serves the store's other loops and its threads for the lease (one renewal a lease for
    /// the process, not one per loop): after a counter moved behind coopd's back, they still answer the version read.
    @Test(.enabled(if: Backend.all.contains(.postgres), "needs the test PostgreSQL server"))
    func aVersionReadOnOneLoopServesTheOtherLoopsAndThreads() async throws {
        let database = try await Self.seededDatabaseWithTheLongestLease()
        defer { Task { await TestPostgres.removeDatabase(database) } }
        let store = try await TestPostgres.openStore(database: database)
        defer { store.close() }
        // Two of the loops coopd's connections run on (one per core; CI machines have more than one).
        let loops = [MultiThreadedEventLoopGroup.singleton.next(), MultiThreadedEventLoopGroup.singleton.next()]
        try #require(loops[0] !== loops[1], "needs two event loops")
        func versionOn(_ loop: any EventLoop) async throws -> UInt64 {
            let answer = try await loop.flatSubmit {
                store.readOnEventLoop(loop, abandoned: { false }) { ByteBuffer(string: "\(store.dataVersion)") }!
            }.get()
            return try #require(UInt64(String(buffer: answer)))
        }
        func moveBehindCoopdsBack() async throws {
            _ = try await TestPostgres.offload {
                try store.read { db in try db.run("UPDATE change_counter SET last = last + 1") }
            }
        }
        // The second loop has read once (it has connections and a lease of its own), long enough ago that its
        // lease has ended.
        _ = try await versionOn(loops[1])
        var fitted = false
        for _ in 0..<5 where !fitted {
            try await moveBehindCoopdsBack()
            try await Task.sleep(for: .milliseconds(1_100))
            let start = ContinuousClock.now
            let read = try await versionOn(loops[0])
            try await moveBehindCoopdsBack()
            let otherLoop = try await loops[1].submit { store.dataVersionWithoutWaiting }.get()
            let thread = try await TestPostgres.offload { store.dataVersion }
            fitted = ContinuousClock.now - start < .milliseconds(400)
            if fitted {
                #expect(otherLoop == read)
                #expect(thread == read)
            }
        }
        #expect(fitted, "no attempt fitted in half a second")
    }
}

/// A read in rounds and the session that answers its statements go together once the call is answered (each
/// holding the other strongly kept every read, with its rows, for good: hundreds of MiB within seconds of load).
@Test func aReadInRoundsIsFreedWithItsSession() {
    weak var freed: LoopRead?
    do {
        let read = LoopRead(store: ObjectIdentifier(PostgresLoopReadTests.self))
        _ = read.session
        freed = read
    }
    #expect(freed == nil)
}

/// The cache's marker of a version not known (the daemon's `ResponseCache.unknownVersionBit`).
enum ResponseCacheVersion {
    static let unknownBit: UInt64 = 1 << 63
}
