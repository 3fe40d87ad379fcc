import Foundation

/// One query answering many callers at once, none of them with an answer older than its call.
///
/// A caller needs an answer from a query that *started* after it arrived (so it reflects every write acknowledged
/// before the call). Callers arriving while a query runs wait for the next one, which starts when the running one
/// ends and answers all of them: under load, one query per round trip instead of one per caller. Used for the data
/// version, which every cached read asks for.
final class SharedRead<Value: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    /// Queries finished so far.
    private var finished: UInt64 = 0
    private var running = false
    private var latest: Result<Value, any Error>?

    func value(_ fetch: () throws -> Value) throws -> Value {
        condition.lock()
        defer { condition.unlock() }
        // The running query (number finished + 1) started before this call; the next one will not have.
        let needed = finished + (running ? 2 : 1)
        while finished < needed {
            if running {
                condition.wait()
                continue
            }
            running = true
            condition.unlock()
            let result = Result { try fetch() }
            condition.lock()
            running = false
            finished += 1
            latest = result
            condition.broadcast()
        }
        // The latest query started after this call did (queries run one after another).
        return try latest!.get()
    }
}
