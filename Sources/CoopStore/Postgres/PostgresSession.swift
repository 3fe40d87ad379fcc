import Foundation
import Logging
import NIOCore
internal import PostgresNIO

/// One PostgreSQL connection, used by one thread at a time: either synchronously, by a store thread that may block
/// while the server answers (never an event loop, see `CooperationStore.readThreads`; the connection's I/O runs on
/// its own event loop), or on the connection's own event loop without waiting (``queryOnLoop(_:_:)``, for reads in
/// rounds, see `LoopRead`).
///
/// Statements are written in the SQLite dialect the table helpers use, rewritten once per statement text by
/// `PostgresSQL`. Each is prepared on first use on each connection, with the parameter types of that use, so the
/// server plans it once per connection instead of on every call: a query (SELECT) through the extended protocol
/// (Parse once, then Bind with binary parameters and Execute), a row change by `PREPARE` and then `EXECUTE`, whose
/// command tag counts its rows. Everything else runs as an unnamed statement.
final class PostgresSession: @unchecked Sendable {
    struct Result {
        var names: [String]
        var rows: [[SQLValue]]
    }

    private let connection: PostgresConnection?
    private let logger: Logger
    /// Why every statement fails, for a session without a connection.
    private let failure: StoreError?
    /// False once the connection failed: the pool closes it instead of handing it out again.
    private(set) var isUsable = true
    /// Rows changed so far, as the server counted them, plus one for each statement that failed or was neither a
    /// query nor a row change (see `SQL.changeCount`).
    private(set) var changeCount = 0
    /// On a standby's connection: the highest WAL position it was seen to have replayed (see `StandbyReads`).
    var replayedPosition: Int64 = 0
    /// Names this connection's prepared statements, so that one can never be taken for another connection's
    /// (behind a pooler that hands statements to other backends, a wrong name fails instead).
    private let statementPrefix = "coop_" + String(UInt32.random(in: .min ... .max), radix: 36) + "_"
    /// The name of each statement prepared on this connection, by statement and parameter types.
    private var prepared: [PreparedKey: String] = [:]
    /// Queries prepared through the extended protocol (Parse once; then Bind and Execute with binary parameters,
    /// which costs the server less than an EXECUTE statement with literals): by statement and parameter types.
    /// Row changes stay EXECUTEs, whose command tags count their rows (see ``changeCount``).
    private var preparedQueries: [PreparedKey: EventLoopFuture<PreparedQuery>] = [:]
    /// Names given so far: a name is never given twice (one whose PREPARE failed may still be in flight).
    private var statementsNamed = 0

    /// Hashed and compared by the statement's identity (one object per text, see `PostgresSQL.translate`), not its
    /// text, and the types packed two bits each: no string is hashed twice on the way to a cached statement.
    private struct PreparedKey: Hashable {
        var statement: PostgresStatement
        var types: UInt64
    }

    /// More distinct statements than this on one connection run unprepared (the helpers build a bounded set).
    static let maximumPrepared = 1_000

    /// Statements run prepared since they were last prepared, and how many more make them prepared again.
    /// The server plans a prepared statement for the table sizes of that moment, and keeps the plan: one prepared
    /// on a young database scanned a whole table once it had grown (the request-id lookup of every write group
    /// took milliseconds). Preparing again after 1,000, 2,000, 4,000 … runs (at most every `maximumRunsPerPlan`)
    /// lets plans follow the data as it grows.
    private var runsSincePrepared = 0
    private var runsBeforePreparingAgain = 1_000
    static let maximumRunsPerPlan = 1 << 20

    /// For a read run in rounds on an event loop (see `LoopRead`): statements are answered from there.
    /// Unowned: the read owns this session (a strong reference both ways would keep every read and its answers).
    private unowned let replay: LoopRead?

    init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
        self.failure = nil
        self.replay = nil
    }

    /// A session without a connection whose statements `read` answers.
    init(replaying read: LoopRead, logger: Logger) {
        self.connection = nil
        self.logger = logger
        self.failure = nil
        self.replay = read
    }

    /// A session without a connection: every statement fails with `failure`.
    init(failure: StoreError) {
        self.connection = nil
        self.logger = Logger(label: "coopd.postgres")
        self.failure = failure
        self.isUsable = false
        self.replay = nil
    }

    static func connect(
        _ configuration: PostgresConnection.Configuration, on eventLoop: any EventLoop, id: Int, logger: Logger
    ) throws -> PostgresSession {
        do {
            let connection = try PostgresConnection.connect(
                on: eventLoop, configuration: configuration, id: id, logger: logger
            ).wait()  // bounded by the configuration's connect timeout
            return PostgresSession(connection: connection, logger: logger)
        } catch {
            throw StoreError.fromPostgres(error)
        }
    }

    func query(_ sql: String, converting values: SQLValues) throws -> Result {
        try query(sql, values.map(SQLValue.init))
    }

    /// Takes a session-level advisory lock, waiting however long another process holds it (a migration of a large
    /// database, a seed import on a slow machine): tried every 50 ms, so that no statement waits past the answer
    /// timeout that tells a hung connection (a `pg_advisory_lock` waiting that long was taken for one).
    func takeAdvisoryLock(_ key: Int64) throws {
        while true {
            let taken = try query("SELECT CASE WHEN pg_try_advisory_lock(?) THEN 1 ELSE 0 END", [.integer(key)])
            if case .integer(1)? = taken.rows.first?.first { return }
            usleep(50_000)
        }
    }

    /// Gives back a lock taken by ``takeAdvisoryLock(_:)`` (closing the session gives it back too).
    func releaseAdvisoryLock(_ key: Int64) throws {
        _ = try query("SELECT pg_advisory_unlock(?)", [.integer(key)])
    }

    func query(_ sql: String, _ values: [SQLValue]) throws -> Result {
        try queryLater(sql, values)()
    }

    /// ``query(_:_:)`` sent now, its answer read later: the closure returned waits for it (call it once). The
    /// statements that open a write group go out together this way, and their answers cost one wait.
    func queryLater(_ sql: String, _ values: [SQLValue]) throws -> () throws -> Result {
        if let replay {
            let result = try replay.answer(sql, values)
            return { result }
        }
        let plan = plan(sql, values)
        try prepareFirst(plan)
        let connection = try usableConnection()
        if let query = plan.query {
            let (prepared, answer) = execute(query, plan.binds, on: connection)
            return { [self] in
                let result: Result
                do {
                    result = try converted(Self.wait(for: answer, closing: connection))
                } catch {
                    forget(query.key, prepared)
                    try checkBegun()  // the BEGIN's failure first: it explains this one
                    if let error = error as? StoreError { throw error }
                    throw failed(error, connection: connection, logging: plan.text)
                }
                try checkBegun()
                return result
            }
        }
        let answer = connection.query(PostgresQuery(unsafeSQL: plan.text, binds: Self.bindings(plan.binds)), logger: logger)
        return { [self] in
            let result: PostgresQueryResult
            do {
                result = try Self.wait(for: answer, closing: connection)
            } catch {
                try checkBegun()
                throw failed(error, connection: connection, logging: plan.logging ?? plan.text)
            }
            try checkBegun()
            return try converted(result)
        }
    }

    /// The connection, while it can take a statement; else the error every statement gets (the session is then
    /// not handed out again).
    private func usableConnection() throws -> PostgresConnection {
        guard let connection, isUsable, !connection.isClosed else {
            isUsable = false
            throw failure ?? StoreError(.unavailable, "the database connection was lost; retry")
        }
        return connection
    }

    /// A query that failed is prepared again on its next use, should its preparation have been what failed (a
    /// failed preparation kept would fail every later use without asking the server).
    private func forget(_ key: PreparedKey, _ statement: EventLoopFuture<PreparedQuery>) {
        if preparedQueries[key] === statement { preparedQueries[key] = nil }
    }

    /// Runs a query prepared by the extended protocol, preparing it first (sent at once, ahead of the run) if this
    /// connection has not: its preparation, and its answer. Called on the connection's event loop or by the one
    /// thread using the session.
    private func execute(
        _ query: (key: PreparedKey, prepare: String), _ values: [SQLValue], on connection: PostgresConnection
    ) -> (EventLoopFuture<PreparedQuery>, EventLoopFuture<[PostgresRow]>) {
        let statement: EventLoopFuture<PreparedQuery>
        if let known = preparedQueries[query.key] {
            statement = known
        } else {
            statement = connection.prepare(query: query.prepare)
            preparedQueries[query.key] = statement
        }
        let binds = values.map { value -> PostgresData in
            switch value {
            case .null: return .null
            case .integer(let integer): return PostgresData(int64: integer)
            case .real(let real): return PostgresData(double: real)
            case .text(let text): return PostgresData(string: text)
            }
        }
        return (statement, statement.flatMap { $0.execute(binds) })
    }

    /// How a statement runs on this connection: after what (forgetting every prepared statement, preparing this
    /// one), and as what.
    private struct Plan {
        var deallocateAll = false
        /// The statement to prepare first: its key, name and PREPARE.
        var prepare: (key: PreparedKey, name: String, text: String)?
        var text: String
        var binds: [SQLValue]
        /// What a failure logs in place of the text (an EXECUTE's text holds the values).
        var logging: String?
        /// A query to run as a statement prepared by the extended protocol, with `binds`: its prepared statement,
        /// and the statement to prepare if there is none yet.
        var query: (key: PreparedKey, prepare: String)?
    }

    /// What runs for `sql` with `values`: an EXECUTE of the statement prepared on this connection (preparing it
    /// first if needed), else the statement itself with bind parameters.
    private func plan(_ sql: String, _ values: [SQLValue]) -> Plan {
        let statement = PostgresSQL.translate(sql)
        let translated = statement.text
        guard statement.isPreparable, values.count <= 32 else { return Plan(text: translated, binds: values) }
        var plan = Plan(text: "", binds: [], logging: translated)
        runsSincePrepared += 1
        // Not while statements sent from the loop are in flight: a query's Bind follows its Parse's answer, and a
        // DEALLOCATE ALL sent between them would drop the statement it is about to run.
        if runsSincePrepared >= runsBeforePreparingAgain && queriesOnLoop == 0 {
            plan.deallocateAll = true
            prepared.removeAll()
            preparedQueries.removeAll()
            runsSincePrepared = 0
            runsBeforePreparingAgain = min(runsBeforePreparingAgain * 2, Self.maximumRunsPerPlan)
        }
        var types: UInt64 = 0
        for (index, value) in values.enumerated() { types |= UInt64(value.typeTag) << (2 * index) }
        let key = PreparedKey(statement: statement, types: types)
        if statement.isQuery {
            guard preparedQueries[key] != nil || prepared.count + preparedQueries.count < Self.maximumPrepared else {
                return Plan(text: translated, binds: values)
            }
            plan.text = translated
            plan.binds = values
            // The typed text only where it is to be prepared: building it costs more than the rest of a plan.
            plan.query = (key, preparedQueries[key] == nil ? PostgresSQL.typed(translated, values) : "")
            return plan
        }
        // EXECUTE's arguments are literals, built only for row changes (a query binds its values).
        guard let arguments = PostgresSQL.literals(values) else { return Plan(text: translated, binds: values) }
        let name: String
        if let known = prepared[key] {
            name = known
        } else {
            guard prepared.count + preparedQueries.count < Self.maximumPrepared else {
                return Plan(text: translated, binds: values)
            }
            statementsNamed += 1
            name = statementPrefix + String(statementsNamed)
            let types = values.map(\.postgresType).joined(separator: ", ")
            plan.prepare = (key, name, "PREPARE \(name)\(values.isEmpty ? "" : " (\(types))") AS \(translated)")
        }
        // EXECUTE takes no bind parameters: its arguments are literals (see `PostgresSQL.literals`). Should the
        // server have lost the statement (a pooler between, DISCARD ALL), the error is UNAVAILABLE, which retires
        // this connection: its successor prepares afresh.
        plan.text = "EXECUTE \(name)" + (values.isEmpty ? "" : "(\(arguments))")
        return plan
    }

    /// Runs, waiting, what `plan` needs first: forgetting every prepared statement, preparing its own.
    private func prepareFirst(_ plan: Plan) throws {
        if plan.deallocateAll { _ = try run("DEALLOCATE ALL", []) }
        if let prepare = plan.prepare {
            _ = try run(prepare.text, [], logging: plan.logging)
            prepared[prepare.key] = prepare.name
        }
    }

    /// Statements sent by ``queryOnLoop(_:_:)`` whose answers have not arrived.
    private(set) var queriesOnLoop = 0
    /// Set when the session is no longer handed out but has statements in flight: closed once they are answered
    /// (closing at once would fail the other reads waiting on it).
    var closesWhenIdle = false

    /// ``query(_:_:)`` without a waiting thread, for a session used only on its connection's event loop and called
    /// there: what must run first is sent with the statement, and the answer arrives on the loop. An answer that
    /// takes longer than ``answerTimeoutSeconds`` closes the connection, as ``query(_:_:)`` does.
    func queryOnLoop(_ sql: String, _ values: [SQLValue]) -> EventLoopFuture<Result> {
        guard let connection, isUsable, !connection.isClosed else {
            isUsable = false
            let error = failure ?? StoreError(.unavailable, "the database connection was lost; retry")
            return (connection?.eventLoop ?? MultiThreadedEventLoopGroup.singleton.any()).makeFailedFuture(error)
        }
        let plan = plan(sql, values)
        if plan.deallocateAll {
            connection.query(PostgresQuery(unsafeSQL: "DEALLOCATE ALL"), logger: logger).whenFailure { [self] _ in
                isUsable = false
            }
        }
        let answer: EventLoopFuture<Result>
        if let query = plan.query {
            let (prepared, rows) = execute(query, plan.binds, on: connection)
            answer = rows.map { [self] rows in converted(rows) }
                .flatMapErrorThrowing { [self] error in
                    forget(query.key, prepared)
                    if error is StoreError { throw error }
                    throw failed(error, connection: connection, logging: plan.text)
                }
        } else {
            if let prepare = plan.prepare {
                // Known from now on: statements sent after it on this connection run after it.
                prepared[prepare.key] = prepare.name
                connection.query(PostgresQuery(unsafeSQL: prepare.text), logger: logger).whenFailure { [self] _ in
                    prepared[prepare.key] = nil
                }
            }
            answer = connection.query(
                PostgresQuery(unsafeSQL: plan.text, binds: Self.bindings(plan.binds)), logger: logger
            )
            .flatMapThrowing { [self] answer in try converted(answer) }
            .flatMapErrorThrowing { [self] error in
                if error is StoreError { throw error }
                throw failed(error, connection: connection, logging: plan.logging ?? plan.text)
            }
        }
        queriesOnLoop += 1
        let timeout = connection.eventLoop.scheduleTask(in: .seconds(Int64(Self.answerTimeoutSeconds))) {
            connection.close().whenComplete { _ in }
        }
        return answer.always { [self] _ in
            timeout.cancel()
            queriesOnLoop -= 1
            if queriesOnLoop == 0 && closesWhenIdle { closeOnLoop() }
        }
    }

    /// Row changes sent by ``send(_:_:rows:)`` whose answers have not been read yet, in order, each with the
    /// number of rows it should change.
    private var sent: [(answer: EventLoopFuture<PostgresQueryResult>, rows: Int, logging: String)] = []

    /// Sends a statement that changes `rows` rows (or a query that returns as many) without waiting for its
    /// answer: the thread goes on to the next while the server runs it (statements on a connection run in order,
    /// so later ones see its rows). ``settle()`` reads the answers. Counted in ``changeCount`` as the rows it
    /// should change.
    func send(_ sql: String, _ values: [SQLValue], rows: Int = 1) throws {
        try checkBegun()  // no row changes outside the transaction
        let plan = plan(sql, values)
        try prepareFirst(plan)
        let (text, binds) = (plan.text, plan.binds)
        let connection = try usableConnection()
        changeCount += rows
        sent.append(
            (connection.query(PostgresQuery(unsafeSQL: text, binds: Self.bindings(binds)), logger: logger), rows,
             plan.logging ?? text))
    }

    /// Waits for the answers of every statement sent: false if one failed or did not change the rows it should
    /// (the transaction must then be rolled back). A lost connection throws UNAVAILABLE.
    func settle() throws -> Bool {
        guard !sent.isEmpty, let connection else { return true }
        let answers = sent
        sent.removeAll()
        var asExpected = true
        for (answer, rows, logging) in answers {
            do {
                let result = try Self.wait(for: answer, closing: connection)
                if result.metadata.rows != rows { asExpected = false }
            } catch {
                asExpected = false
                let mapped = failed(error, connection: connection, logging: logging)
                if mapped.code == .unavailable { throw mapped }
            }
        }
        return asExpected
    }

    private static func bindings(_ values: [SQLValue]) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .null: bindings.appendNull()
            case .integer(let integer): bindings.append(integer)
            case .real(let real): bindings.append(real)
            case .text(let text): bindings.append(text)
            }
        }
        return bindings
    }

    /// One statement (already in PostgreSQL's dialect) as an unnamed extended-protocol statement. A failure is
    /// logged with `logging` in place of the statement (an EXECUTE's text holds the values).
    private func run(_ sql: String, _ values: [SQLValue], logging: String? = nil) throws -> Result {
        let connection = try usableConnection()
        let query = PostgresQuery(unsafeSQL: sql, binds: Self.bindings(values))
        let result: PostgresQueryResult
        do {
            result = try Self.wait(for: connection.query(query, logger: logger), closing: connection)
        } catch {
            throw failed(error, connection: connection, logging: logging ?? sql)
        }
        return try converted(result)
    }

    /// The error a caller hears for a statement that failed; logged if it is the server's complaint about the
    /// statement (the caller hears "internal error"; the operator reads what the server said, and of which one).
    private func failed(_ error: any Error, connection: PostgresConnection, logging: String) -> StoreError {
        changeCount += 1
        let mapped = StoreError.fromPostgres(error)
        if mapped.code == .unavailable || connection.isClosed { isUsable = false }
        // Not a statement refused because an earlier one of its transaction failed (25P02): that one is logged.
        if mapped.code == .internalError, let complaint = StoreError.serverComplaint(error), complaint.state != "25P02" {
            logger.error("a database statement failed", metadata: [
                "sqlstate": "\(complaint.state)",
                "error": "\(complaint.message)",
                "statement": "\(logging.prefix(300))",
            ])
        }
        return mapped
    }

    /// A statement's answer as rows of values; the rows it changed counted in ``changeCount``.
    private func converted(_ result: PostgresQueryResult) throws -> Result {
        switch result.metadata.command {
        case "SELECT", "PREPARE", "DEALLOCATE", "DEALLOCATE ALL": break  // no row changed
        case "INSERT", "UPDATE", "DELETE": changeCount += result.metadata.rows ?? 1
        default: changeCount += 1
        }
        return converted(result.rows)
    }

    /// Rows as values.
    private func converted(_ rows: [PostgresRow]) -> Result {
        guard let first = rows.first else { return Result(names: [], rows: []) }
        let names = first.map(\.columnName)
        // By iterator, not index: a row's subscript builds each cell with more reference counting.
        var values: [[SQLValue]] = []
        values.reserveCapacity(rows.count)
        for row in rows {
            var rowValues: [SQLValue] = []
            rowValues.reserveCapacity(names.count)
            for cell in row { rowValues.append(Self.value(cell)) }
            values.append(rowValues)
        }
        return Result(names: names, rows: values)
    }

    /// The longest a statement's answer is waited for. Past it the connection is closed (its statement fails) and
    /// the caller hears UNAVAILABLE: a server that stopped answering must not hold a thread for ever.
    static let answerTimeoutSeconds = 30
    static let answerTimeout: DispatchTimeInterval = .seconds(answerTimeoutSeconds)

    private static func wait<Value: Sendable>(
        for future: EventLoopFuture<Value>, closing connection: PostgresConnection
    ) throws -> Value {
        let done = DispatchSemaphore(value: 0)
        let outcome = Locked<Swift.Result<Value, any Error>?>(nil)
        future.whenComplete { result in
            outcome.withLock { $0 = result }
            done.signal()
        }
        if done.wait(timeout: .now() + answerTimeout) == .timedOut {
            connection.close().whenComplete { _ in }
            done.wait()
            _ = try outcome.withLock { $0 }?.get()
            throw StoreError(.unavailable, "the database did not answer in time; retry")
        }
        return try outcome.withLock { $0 }!.get()
    }

    /// False once the connection is known to be gone (closed by the server, or failed).
    var isAlive: Bool { isUsable && !(connection?.isClosed ?? true) }

    /// The BEGIN sent by ``begin()`` while its outcome is unchecked: its answer, and its outcome once the
    /// connection's event loop has it.
    private var beginning: (answer: EventLoopFuture<PostgresQueryResult>, outcome: Locked<Bool?>)?

    /// Starts a transaction without waiting for the server's answer: the transaction's first statement follows
    /// it on the connection, so the BEGIN costs no round trip of its own. Its outcome is checked before any row
    /// change is sent and when any later statement is answered (the server answered the BEGIN before it).
    func begin() throws {
        let connection = try usableConnection()
        let answer = connection.query(PostgresQuery(unsafeSQL: "BEGIN"), logger: logger)
        let outcome = Locked<Bool?>(nil)
        answer.whenComplete { result in
            outcome.withLock {
                if case .success(let result) = result, result.metadata.command == "BEGIN" { $0 = true } else { $0 = false }
            }
        }
        beginning = (answer, outcome)
    }

    /// Throws if the BEGIN ``begin()`` sent failed, waiting for its answer only if it has not arrived.
    private func checkBegun() throws {
        guard let (answer, outcome) = beginning, let connection else { return }
        beginning = nil
        var begun = outcome.withLock { $0 }
        if begun == nil {
            do {
                begun = try Self.wait(for: answer, closing: connection).metadata.command == "BEGIN"
            } catch {
                throw failed(error, connection: connection, logging: "BEGIN")
            }
        }
        if begun != true {
            isUsable = false  // a connection that cannot begin a transaction is not trusted with another
            throw StoreError(.unavailable, "the database did not begin a transaction; retry")
        }
    }

    /// Commits the transaction ``begin()`` began, once every statement sent ahead has stored what it should (else
    /// it is rolled back). Throws if it was rolled back, by this check or by the server (a statement failed).
    func commit() throws {
        try checkBegun()
        guard try settle() else {
            try rollback()
            throw StoreError(.internalError, "a statement of the transaction failed; it was rolled back")
        }
        let connection = try usableConnection()
        let result: PostgresQueryResult
        do {
            result = try Self.wait(for: connection.query(PostgresQuery(unsafeSQL: "COMMIT"), logger: logger), closing: connection)
        } catch {
            throw failed(error, connection: connection, logging: "COMMIT")
        }
        guard result.metadata.command == "COMMIT" else {
            throw StoreError(.internalError, "the database rolled the transaction back instead of committing it")
        }
    }

    /// Ends a failed transaction; a session that cannot is not used again.
    func rollback() throws {
        beginning = nil
        _ = try? settle()  // answers of statements sent before the failure, read and dropped
        do {
            _ = try query("ROLLBACK", [])
        } catch {
            isUsable = false
            throw error
        }
    }

    func close() {
        isUsable = false
        try? connection?.close().wait()
    }

    /// ``close()`` without waiting, for a session used on its connection's event loop.
    func closeOnLoop() {
        isUsable = false
        connection?.close().whenComplete { _ in }
    }

    /// A cell in binary format, in the types the schema uses.
    private static func value(_ cell: PostgresCell) -> SQLValue {
        guard var bytes = cell.bytes else { return .null }
        switch cell.dataType {
        case .int8: return bytes.readInteger(as: Int64.self).map { .integer($0) } ?? .null
        case .int4: return bytes.readInteger(as: Int32.self).map { .integer(Int64($0)) } ?? .null
        case .int2: return bytes.readInteger(as: Int16.self).map { .integer(Int64($0)) } ?? .null
        case .bool: return bytes.readInteger(as: UInt8.self).map { .integer(Int64($0)) } ?? .null
        case .float8: return bytes.readInteger(as: UInt64.self).map { .real(Double(bitPattern: $0)) } ?? .null
        case .jsonb:
            _ = bytes.readInteger(as: UInt8.self)  // the format version
            return .text(bytes.readString(length: bytes.readableBytes) ?? "")
        case .text, .varchar, .name, .bpchar, .json:
            return .text(bytes.readString(length: bytes.readableBytes) ?? "")
        default:
            if let text = try? cell.decode(String.self) { return .text(text) }
            if let integer = try? cell.decode(Int64.self) { return .integer(integer) }
            return .text(bytes.readString(length: bytes.readableBytes) ?? "")
        }
    }
}

/// Statements of the table helpers, from SQLite's dialect into PostgreSQL's: `?` parameters become `$1, $2, …`
/// and the few functions that differ are renamed. Each statement text is rewritten once and remembered.
enum PostgresSQL {
    private static let cache = Locked<[String: PostgresStatement]>([:])

    static func translate(_ sql: String) -> PostgresStatement {
        if let known = cache.withLock({ $0[sql] }) { return known }
        let text = rewrite(sql)
        let translated = PostgresStatement(text: text, isPreparable: isPreparable(text))
        cache.withLock { cache in
            // Statements are built from a bounded set of fragments; the bound guards against a mistake.
            if cache.count > 10_000 { cache.removeAll() }
            cache[sql] = translated
        }
        return translated
    }

    /// Function names and idioms SQLite has and PostgreSQL spells otherwise.
    private static let replacements: [(String, String)] = [
        ("json_each(?)", "json_array_elements_text(CAST(? AS json))"),
        ("json_group_array(", "json_agg("),
        ("json_object(", "json_build_object("),
        ("instr(", "strpos("),
        // SQLite's unary + keeps a column out of an index's order; PostgreSQL has no such operator on text.
        ("+o.breakdown", "o.breakdown"),
        ("+source_id", "(source_id + 0)"),
        ("+o.source_id", "(o.source_id + 0)"),
        // SQLite is told which index answers the identity check; PostgreSQL chooses.
        (" INDEXED BY observations_identity", ""),
    ]

    /// `sql` (translated) with each parameter cast to the type of its value, so that the server infers the types
    /// a PREPARE would have declared (a NULL's is left to the server, as PREPARE's `unknown` does).
    static func typed(_ sql: String, _ values: [SQLValue]) -> String {
        var out = ""
        out.reserveCapacity(sql.utf8.count + 8 * values.count)
        var digits = ""
        var inParameter = false
        func endParameter() {
            out += digits
            if let index = Int(digits), index >= 1, index <= values.count, values[index - 1] != .null {
                out += "::" + values[index - 1].postgresType
            }
            digits = ""
            inParameter = false
        }
        for character in sql {
            if inParameter {
                if character.isASCII, character.isNumber {
                    digits.append(character)
                    continue
                }
                endParameter()
            }
            if character == "$" {
                out.append(character)
                inParameter = true
            } else {
                out.append(character)
            }
        }
        if inParameter { endParameter() }
        return out
    }

    /// Whether a (translated) statement can be prepared: queries and row changes, not transaction control or DDL,
    /// nor one marked to be planned on each run (see `plannedEachRun`).
    static func isPreparable(_ sql: String) -> Bool {
        if sql.hasPrefix(plannedEachRun) { return false }
        let word = head(sql)
        return word.hasPrefix("SELECT") || word.hasPrefix("INSERT") || word.hasPrefix("UPDATE")
            || word.hasPrefix("DELETE") || word.hasPrefix("WITH")
    }

    /// The first characters of a statement past its leading blanks, upper-cased: enough to tell its kind.
    static func head(_ sql: String) -> String {
        let head = sql.utf8.drop(while: { $0 == 0x20 || $0 == 0x0A || $0 == 0x09 }).prefix(7)
        return String(decoding: head, as: UTF8.self).uppercased()
    }

    /// `values` as EXECUTE's argument list of SQL literals; nil if one cannot be written as a literal (a string
    /// with a NUL, which PostgreSQL text cannot hold anyway: the statement then runs unprepared and fails as before).
    ///
    /// Text is an escape string literal (`E'…'`), whose meaning does not depend on `standard_conforming_strings`:
    /// the quote and the backslash, its only special characters, are doubled.
    static func literals(_ values: [SQLValue]) -> String? {
        var out = ""
        for (index, value) in values.enumerated() {
            if index > 0 { out += ", " }
            switch value {
            case .null:
                out += "NULL"
            case .integer(let integer):
                out += String(integer)
            case .real(let real):
                // Shortest round-trip form; the special values as float8 spells them.
                if real.isNaN {
                    out += "'NaN'"
                } else if real.isInfinite {
                    out += real < 0 ? "'-Infinity'" : "'Infinity'"
                } else {
                    out += "'\(real)'"
                }
            case .text(let text):
                var special = false
                for byte in text.utf8 {
                    if byte == 0 { return nil }
                    if byte == 0x27 || byte == 0x5C { special = true }
                }
                guard special else {
                    out += "E'" + text + "'"
                    continue
                }
                var escaped = String.UnicodeScalarView()
                for scalar in text.unicodeScalars {
                    if scalar == "'" || scalar == "\\" { escaped.append(scalar) }
                    escaped.append(scalar)
                }
                out += "E'" + String(escaped) + "'"
            }
        }
        return out
    }

    static func rewrite(_ sql: String) -> String {
        var text = sql
        for (from, to) in replacements where text.contains(from) {
            text = text.replacingOccurrences(of: from, with: to)
        }
        // Number the parameters, outside quoted literals.
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        var number = 0
        var quoted = false
        for character in text {
            if character == "'" {
                quoted.toggle()
                out.append(character)
            } else if character == "?" && !quoted {
                number += 1
                out += "$\(number)"
            } else {
                out.append(character)
            }
        }
        return out
    }
}

extension StoreError {
    /// A PostgreSQL or connection error as the store reports it: codes a caller can act on, messages that name
    /// no SQL, table or server.
    static func fromPostgres(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        if error is DecodingError || error is EncodingError {
            return StoreError(.internalError, "stored data could not be decoded")
        }
        guard let state = serverComplaint(error)?.state else {
            return StoreError(.unavailable, "the database cannot be reached; retry")
        }
        switch state {
        case "23505": return StoreError(.alreadyExists, "the record already exists")
        case "23503": return StoreError(.failedPrecondition, "a referenced record does not exist")
        case "23514", "23502", "23000", "23P01":
            return StoreError(.failedPrecondition, "the change violates a constraint of the stored data")
        case "40001", "40P01": return StoreError(.unavailable, "the database is busy; retry")
        case "53100": return StoreError(.unavailable, "the database's disk is full")
        case "25006": return StoreError(.unavailable, "the database is read-only (a standby); retry on the primary")
        case "26000": return StoreError(.unavailable, "the database lost a prepared statement; retry")
        // A prepared statement whose result changed shape (another coopd migrated the schema): a new connection
        // prepares it again.
        case "0A000": return StoreError(.unavailable, "the database's schema changed; retry")
        default:
            // Class 08 (connection), 57 (operator intervention: shutdown, cancel), 53 (resources).
            if state.hasPrefix("08") || state.hasPrefix("57") || state.hasPrefix("53") {
                return StoreError(.unavailable, "the database is unavailable (SQLSTATE \(state)); retry")
            }
            return StoreError(.internalError, "internal storage error (SQLSTATE \(state))")
        }
    }
}

extension StoreError {
    /// The SQLSTATE and message of an error the server sent, in either of postgres-nio's error types (statements
    /// prepared by the extended protocol fail with the older one); nil for any other failure.
    static func serverComplaint(_ error: any Error) -> (state: String, message: String)? {
        if let error = error as? PSQLError {
            guard error.code == .server, let state = error.serverInfo?[.sqlState] else { return nil }
            return (state, error.serverInfo?[.message] ?? "")
        }
        if let error = error as? PostgresError, case .server(let complaint) = error,
            let state = complaint.fields[.sqlState]
        {
            return (state, complaint.fields[.message] ?? "")
        }
        return nil
    }
}

extension SQLValue {
    /// Distinguishes statements prepared for different parameter types (two bits).
    fileprivate var typeTag: UInt8 {
        switch self {
        case .null: 0
        case .integer: 1
        case .real: 2
        case .text: 3
        }
    }

    /// The parameter's type in `PREPARE`: what the unnamed statement would have bound; a NULL's is inferred.
    fileprivate var postgresType: String {
        switch self {
        case .null: "unknown"
        case .integer: "int8"
        case .real: "float8"
        case .text: "text"
        }
    }
}

/// A statement in PostgreSQL's dialect, made once per statement text (`PostgresSQL.translate`).
final class PostgresStatement: Hashable, Sendable {
    let text: String
    /// A query or row change, which is prepared per connection; anything else runs unnamed.
    let isPreparable: Bool
    /// A plain query (SELECT …): prepared by the extended protocol, run with binary parameters.
    let isQuery: Bool

    init(text: String, isPreparable: Bool) {
        self.text = text
        self.isPreparable = isPreparable
        isQuery = isPreparable && PostgresSQL.head(text).hasPrefix("SELECT")
    }

    static func == (a: PostgresStatement, b: PostgresStatement) -> Bool { a === b }
    func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
