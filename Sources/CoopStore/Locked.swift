import Foundation

/// A value guarded by a lock, for the little shared state the store keeps outside the database.
///
/// A pthread mutex (NSLock), not `Synchronization.Mutex`: on Linux that one locks with futexes, which ThreadSanitizer
/// does not see, so the group-commit queue, touched by every writer and the writer queue, was reported as a race
/// (`make test-tsan`) although every access holds the lock.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    init(_ value: Value) {
        self.value = value
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
