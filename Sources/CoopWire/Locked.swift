import Foundation

/// A value guarded by a pthread mutex (NSLock), for state that threads share.
///
/// Not `Synchronization.Mutex`: on Linux that one locks with futexes, which ThreadSanitizer does not see, so every
/// access under it from two threads is reported as a race (`make test-tsan`) although each holds the lock.
public final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    public init(_ value: Value) {
        self.value = value
    }

    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
