/// Fans the latest change-log sequence out to any number of subscribers (live change feeds).
///
/// Each subscriber's stream keeps only the newest value (`bufferingNewest(1)`): a slow reader skips
/// intermediate sequences, never blocks the writer, and reads the log from where it was when it wakes.
final class SequenceBroadcaster: Sendable {
    private struct State {
        var subscribers: [Int: AsyncStream<Int64>.Continuation] = [:]
        var nextID = 0
        var latest: Int64 = 0
        var finished = false
    }

    private let state = Locked(State())

    func subscribe() -> AsyncStream<Int64> {
        let (stream, continuation) = AsyncStream.makeStream(of: Int64.self, bufferingPolicy: .bufferingNewest(1))
        let id: Int? = state.withLock { state in
            guard !state.finished else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = continuation
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Yields `sequence` to every subscriber if it is newer than the last one published.
    func publish(_ sequence: Int64) {
        let subscribers = state.withLock { state -> [AsyncStream<Int64>.Continuation] in
            guard sequence > state.latest else { return [] }
            state.latest = sequence
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers {
            subscriber.yield(sequence)
        }
    }

    /// Ends every stream (the store is closing); later subscriptions end at once.
    func finish() {
        let subscribers = state.withLock { state -> [AsyncStream<Int64>.Continuation] in
            state.finished = true
            defer { state.subscribers = [:] }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers {
            subscriber.finish()
        }
    }

    var subscriberCount: Int {
        state.withLock { $0.subscribers.count }
    }
}
