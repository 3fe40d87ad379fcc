import Foundation
import Synchronization
import Testing

@testable import CoopStore

/// The data version's shared query: callers together share one, and none gets an answer from a query that started
/// before it called (which could predate a write acknowledged to it).
@Suite struct SharedReadTests {
    @Test func callersShareQueriesAndNeverGetOneThatStartedBeforeThem() async throws {
        let shared = SharedRead<Int>()
        let started = Atomic<Int>(0)
        let violations = Atomic<Int>(0)
        let callers = 32
        let done = DispatchGroup()
        for _ in 0..<callers {
            done.enter()
            Thread.detachNewThread {
                for _ in 0..<5 {
                    let arrivedAfter = started.load(ordering: .sequentiallyConsistent)
                    let answer = try! shared.value {
                        let number = started.add(1, ordering: .sequentiallyConsistent).newValue
                        usleep(5_000)
                        return number
                    }
                    // The answering query must be one that started after this call began.
                    if answer <= arrivedAfter { violations.add(1, ordering: .relaxed) }
                    usleep(UInt32.random(in: 0..<3_000))
                }
                done.leave()
            }
        }
        await withCheckedContinuation { continuation in
            done.notify(queue: .global()) { continuation.resume() }
        }
        #expect(violations.load(ordering: .relaxed) == 0)
        // 160 calls; shared, they need far fewer queries (at most one running, one queued at any time).
        #expect(started.load(ordering: .relaxed) < callers * 5 / 2)
    }

    @Test func anErrorReachesTheCallersOfThatQueryAndTheNextQueryRunsAfresh() throws {
        let shared = SharedRead<Int>()
        struct Failed: Error {}
        #expect(throws: Failed.self) { _ = try shared.value { throw Failed() } }
        #expect(try shared.value { 7 } == 7)
    }
}
