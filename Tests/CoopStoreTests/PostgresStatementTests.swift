import Foundation
import Testing

@testable import CoopStore

/// PostgreSQL runs the helpers' statements prepared, with EXECUTE's arguments written as SQL literals: whatever a
/// caller's text holds, it is stored and read back exactly, and it is never SQL.
@Suite struct PostgresStatementTests {
    @Test func literalsDoubleOnlyTheQuoteAndRefuseWhatTextCannotHold() {
        #expect(PostgresSQL.literals([.text("it's"), .integer(-5), .null, .real(1.5)]) == "E'it''s', -5, NULL, '1.5'")
        #expect(PostgresSQL.literals([.text(#"back\slash \' $$ E'\x41'"#)]) == #"E'back\\slash \\'' $$ E''\\x41'''"#)
        #expect(PostgresSQL.literals([.text("plain")]) == "E'plain'")
        #expect(PostgresSQL.literals([.real(.nan), .real(-.infinity)]) == "'NaN', '-Infinity'")
        #expect(PostgresSQL.literals([.text("nul\u{0}byte")]) == nil)
        #expect(PostgresSQL.literals([]) == "")
    }

    /// Queries run through the extended protocol with binary parameters: each parameter is cast to its value's
    /// type, so the server types it as an EXECUTE's PREPARE declared it (a NULL's type is the server's guess).
    @Test func queryParametersAreCastToTheirValuesTypes() {
        let values: [SQLValue] = [.text("a"), .integer(1), .null, .real(2), .text("b"), .text("c"), .text("d"),
                                  .text("e"), .text("f"), .integer(10)]
        #expect(PostgresSQL.typed("SELECT $1, $2, $3 FROM t WHERE a = $4 LIMIT $10", values)
            == "SELECT $1::text, $2::int8, $3 FROM t WHERE a = $4::float8 LIMIT $10::int8")
        #expect(PostgresSQL.typed("SELECT x FROM t WHERE y IN (SELECT json_array_elements_text(CAST($1 AS json)))", values)
            == "SELECT x FROM t WHERE y IN (SELECT json_array_elements_text(CAST($1::text AS json)))")
        #expect(PostgresStatement(text: "SELECT 1", isPreparable: true).isQuery)
        #expect(!PostgresStatement(text: "WITH moved AS (UPDATE c SET n = 1 RETURNING n) SELECT n FROM moved",
                                   isPreparable: true).isQuery)
    }

    @Test func onlyQueriesAndRowChangesArePrepared() {
        for sql in ["SELECT 1", "  \nINSERT INTO t VALUES ($1)", "update t set a = 1", "DELETE FROM t", "WITH x AS (SELECT 1) SELECT * FROM x"] {
            #expect(PostgresSQL.isPreparable(sql), "\(sql)")
        }
        for sql in ["BEGIN", "COMMIT", "SAVEPOINT request", "RELEASE SAVEPOINT request", "CREATE TABLE t (a TEXT)", "PREPARE p AS SELECT 1"] {
            #expect(!PostgresSQL.isPreparable(sql), "\(sql)")
        }
    }

    @Test(arguments: Backend.all) func textThatLooksLikeSQLIsStoredAndReadBackExactly(_ backend: Backend) async throws {
        let hostile = [
            "it's", "''", "'; DROP TABLE sources; --", #"back\slash"#, #"\'"#, "$$dollar$$", "$1 $2 ?", #"E'\x41'"#,
            "line\nbreak\ttab", "Đào Ngọc Dung 技能実習", "🙂", "",
        ]
        try await withStore(backend) { store in
            var ids: [Int64] = []
            for (index, text) in hostile.enumerated() {
                let source = try await store.putSource(
                    Source(title: "title \(index): \(text)", publisher: "publisher \(text)", note: text), context())
                ids.append(source.id)
            }
            let stored = try store.sources(ids: ids)
            #expect(stored.map(\.note) == hostile)
            #expect(stored.map(\.publisher) == hostile.map { "publisher \($0)" })
            #expect(stored.map(\.title) == hostile.enumerated().map { "title \($0): \($1)" })
            // Read twice more: later runs of a statement on a connection are the prepared ones.
            #expect(try store.sources(ids: ids) == stored)
            #expect(try store.sources(ids: ids) == stored)
            #expect(try store.sources(page: PageRequest(size: 100, token: "")).items.count == hostile.count)
            if backend == .postgres {
                // Whatever the server says of backslashes in plain literals: the writer's and a reader's connection.
                try await store.writer.submit { db in try db.run("SET standard_conforming_strings = off") }
                try store.read { db in try db.run("SET standard_conforming_strings = off") }
                let title = #"after \' \\ ' \x41"#
                _ = try await store.putSource(Source(title: title, publisher: "p", note: title), context())
                #expect(try store.sources(page: PageRequest(size: 100, token: "")).items.contains {
                    $0.title == title && $0.note == title
                })
            }
        }
    }

    /// A connection whose prepared statements are gone (a pooler between, DISCARD ALL) answers UNAVAILABLE once,
    /// never INTERNAL, and is replaced by one that prepares afresh.
    @Test(.enabled(if: Backend.all.contains(.postgres), "needs the test PostgreSQL server"))
    func lostPreparedStatementsCostOneRetryNotAnInternalError() async throws {
        try await withStore(.postgres) { store in
            let source = try await store.putSource(Source(title: "kept", publisher: "p"), context())
            for _ in 0..<3 { #expect(try store.sources(ids: [source.id]).map(\.title) == ["kept"]) }
            try store.read { db in try db.run("DEALLOCATE ALL") }
            var failures: [StoreError] = []
            var answer: [Source] = []
            for _ in 0..<3 where answer.isEmpty {
                do {
                    answer = try store.sources(ids: [source.id])
                } catch let error as StoreError {
                    failures.append(error)
                }
            }
            #expect(answer.map(\.title) == ["kept"])
            #expect(failures.count == 1)
            #expect(failures.allSatisfy { $0.code == .unavailable }, "\(failures)")
        }
    }

    /// A query the server refuses is the server's complaint (INTERNAL, logged with its SQLSTATE), not a database
    /// out of reach: the connection stays and the next query on it is answered.
    @Test(.enabled(if: Backend.all.contains(.postgres), "needs the test PostgreSQL server"))
    func aQueryTheServerRefusesIsAnInternalErrorNotAnOutage() async throws {
        try await withStore(.postgres) { store in
            try store.read { db in
                #expect(try db.int64("SELECT 6 / CAST(? AS BIGINT)", [2]) == 3)
                var failure: StoreError?
                do {
                    _ = try db.int64("SELECT 6 / CAST(? AS BIGINT)", [0])
                } catch let error as StoreError {
                    failure = error
                }
                #expect(failure?.code == .internalError, "\(String(describing: failure))")
                #expect(failure?.message.contains("22012") == true, "\(String(describing: failure))")
                #expect(try db.int64("SELECT 6 / CAST(? AS BIGINT)", [3]) == 2)
            }
        }
    }

    /// A query whose preparation failed is prepared again on its next use, not failed from memory.
    @Test(.enabled(if: Backend.all.contains(.postgres), "needs the test PostgreSQL server"))
    func aQueryWhosePreparationFailedIsPreparedAgain() async throws {
        try await withStore(.postgres) { store in
            try store.read { db in
                #expect(throws: StoreError.self) { _ = try db.int64("SELECT x FROM made_later WHERE x = ?", [1]) }
                try db.run("CREATE TABLE made_later (x BIGINT)")
                try db.run("INSERT INTO made_later VALUES (1)")
                #expect(try db.int64("SELECT x FROM made_later WHERE x = ?", [1]) == 1)
            }
        }
    }

    /// A plan is made for the table sizes of the moment it is prepared; statements are prepared again as a
    /// connection keeps running them (after 1,000, 2,000, … runs), and answer the same across it.
    @Test(.enabled(if: Backend.all.contains(.postgres), "needs the test PostgreSQL server"))
    func statementsArePreparedAgainAsAConnectionKeepsRunningThem() async throws {
        try await withStore(.postgres) { store in
            try store.read { db in
                var prepared: Set<String> = []
                for run in 0..<2_400 {
                    #expect(try db.int64("SELECT CAST(? AS BIGINT) + 1", [run]) == Int64(run) + 1)
                    if run % 50 == 0 {
                        prepared.insert(try db.string("SELECT CAST(min(prepare_time) AS TEXT) FROM pg_prepared_statements") ?? "")
                    }
                }
                // Dropped and made again at least once: the oldest statement on the connection became younger.
                #expect(prepared.count >= 2, "\(prepared)")
            }
        }
    }

    /// A statement marked to be planned on each run is never prepared on the connection (a plan kept from when its
    /// table was small would scan it whole once grown); it is answered the same.
    @Test(.enabled(if: Backend.all.contains(.postgres), "needs the test PostgreSQL server"))
    func aStatementPlannedOnEachRunIsNotPrepared() async throws {
        try await withStore(.postgres) { store in
            try store.read { db in
                let preparedTexts = "SELECT string_agg(statement, ' ') FROM pg_prepared_statements"
                for run in 0..<3 {
                    #expect(try db.int64(plannedEachRun + "SELECT CAST(? AS BIGINT) * 7", [run]) == Int64(run) * 7)
                    #expect(try db.int64("SELECT CAST(? AS BIGINT) * 5", [run]) == Int64(run) * 5)
                }
                let texts = try db.string(preparedTexts) ?? ""
                #expect(texts.contains("* 5"), "\(texts)")
                #expect(!texts.contains("* 7"), "\(texts)")
            }
        }
    }

    /// A transaction is never reported committed when a statement sent ahead of its answer failed: it is rolled
    /// back, the caller hears why, and the connection answers the next statement.
    @Test(.enabled(if: Backend.all.contains(.postgres), "needs the test PostgreSQL server"))
    func aTransactionWithAFailedStatementSentAheadIsRolledBackNotCommitted() async throws {
        try await withStore(.postgres) { store in
            try store.read { db in
                var failure: StoreError?
                do {
                    try db.transaction {
                        try db.send("SELECT 1 / CAST(? AS BIGINT)", rows: 1) { $0.integer(0) }
                    }
                } catch let error as StoreError {
                    failure = error
                }
                #expect(failure?.code == .internalError, "\(String(describing: failure))")
                #expect(failure?.message.contains("rolled back") == true, "\(String(describing: failure))")
                #expect(try db.int64("SELECT CAST(? AS BIGINT) + 1", [1]) == 2)
                #expect(try db.settle())  // nothing of the failed transaction is left to read
            }
        }
    }
}
