import Foundation
import Synchronization
import Testing

@testable import CoopStore

/// SQLite reads run on connections each used by one read at a time, as many as reads ran at once, all closed with
/// the store; reads racing the close end in an answer or UNAVAILABLE, nothing else.
@Suite struct ReadConnectionTests {
    private static func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let done = DispatchGroup()
        for index in 0..<count {
            done.enter()
            Thread.detachNewThread {
                body(index)
                done.leave()
            }
        }
        done.wait()
    }

    @Test func readsOnManyThreadsAtOnceGetAnswersOnConnectionsOfTheirOwn() throws {
        let store = try SQLiteStore.temporary()
        defer { try? store.close() }
        let reference = try store.countries().count
        #expect(reference > 200)
        let wrong = Atomic<Int>(0)
        let threads = 12
        Self.onThreads(threads) { _ in
            for _ in 0..<100 {
                // Two reads nested in no other: each on a connection no other read uses meanwhile.
                if (try? store.countries().count) != reference { wrong.add(1, ordering: .relaxed) }
            }
        }
        #expect(wrong.load(ordering: .relaxed) == 0)
        #expect((1...threads).contains(store.readConnections), "\(store.readConnections) connections")
        // A thread that reads again reads on the connection it had: no new one for reads one after another.
        let before = store.readConnections
        for _ in 0..<50 { _ = try store.countries() }
        #expect(store.readConnections == before)
    }

    @Test func readsRacingTheCloseEndInAnAnswerOrUnavailable() throws {
        let store = try SQLiteStore.temporary()
        let answered = Atomic<Int>(0)
        let unavailable = Atomic<Int>(0)
        let other = Atomic<Int>(0)
        let started = Atomic<Int>(0)
        let closer = Thread {
            while started.load(ordering: .relaxed) < 8 { usleep(100) }
            usleep(2000)
            try? store.close()
        }
        closer.start()
        Self.onThreads(8) { _ in
            started.add(1, ordering: .relaxed)
            for _ in 0..<400 {
                do {
                    _ = try store.countries()
                    answered.add(1, ordering: .relaxed)
                } catch let error as StoreError where error.code == .unavailable {
                    unavailable.add(1, ordering: .relaxed)
                } catch {
                    other.add(1, ordering: .relaxed)
                }
            }
        }
        #expect(other.load(ordering: .relaxed) == 0)
        #expect(unavailable.load(ordering: .relaxed) > 0, "the close came after every read")
        #expect(answered.load(ordering: .relaxed) + unavailable.load(ordering: .relaxed) == 8 * 400)
        let error = #expect(throws: StoreError.self) { try store.countries() }
        #expect(error?.code == .unavailable)
    }
}
