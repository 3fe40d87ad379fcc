import Atomics
import CoopClient
import CoopProto
import CoopServer
import CoopTestSupport
import CoopWire
import Foundation
import NIOCore
import NIOPosix
import Testing

/// Reads that run long leave the event loop, so the calls behind them on the same loop are not held up; short
/// reads and cached answers stay on it.
@Suite struct OffloadTests {
    /// Where each Read ran, in call order: true on an event loop.
    final class Places: Sendable {
        let onLoop = Locked<[String: [Bool]]>([:])
        func record(_ text: String) {
            let here = MultiThreadedEventLoopGroup.currentEventLoop != nil
            onLoop.withLock { $0[text, default: []].append(here) }
        }
        subscript(_ text: String) -> [Bool] { onLoop.withLock { $0[text] ?? [] } }
    }

    /// Held closed by the test; "gate" reads block their thread until it opens (20 s at most).
    static let gate = Locked(false)
    /// The same for the tests that start with it closed again.
    static let secondGate = Locked(false)

    /// `test.v1.Reads/Read`: blocks its thread for `data` milliseconds (its size hint too; "gate": until the gate
    /// opens, size 20), then echoes. Reads of 16 to 31 ms share a size class; 20 ms on the loop makes it long
    /// (the tests' budget is 1 ms, a sample weighs 1/8) without holding the shared event loops for long.
    static func readService(
        _ places: Places, cache: ResponseCache? = nil, queue: LongWorkQueue = LongWorkQueue(threads: .singleton)
    ) throws -> ServiceDefinition {
        var service = ServiceDefinition(name: "test.v1.Reads", offload: .whenLonger(than: .milliseconds(1), queue))
        try service.addCachedInline(
            "Read", cache: cache, version: { 1 },
            size: { (request: Coop_V1_EchoRequest) in Int(String(decoding: request.data, as: UTF8.self)) ?? 20 }
        ) { (request: Coop_V1_EchoRequest) in
            let text = String(decoding: request.data, as: UTF8.self)
            places.record(text)
            if text == "gate" {
                for _ in 0..<20_000 where !gate.withLock({ $0 }) { usleep(1000) }
            } else if text == "gate2" {
                for _ in 0..<20_000 where !secondGate.withLock({ $0 }) { usleep(1000) }
            } else {
                usleep(UInt32(Int(text) ?? 0) * 1000)
            }
            return Coop_V1_EchoResponse.with { $0.data = request.data }
        }
        return service
    }

    @Test func aReadThatRanLongMovesOffTheLoopAndDoesNotHoldUpTheCallsBehindIt() async throws {
        let places = Places()
        let threads = NIOThreadPool(numberOfThreads: 2)
        threads.start()
        let service = try Self.readService(places, queue: LongWorkQueue(threads: threads))
        try await withTestServer(services: [service]) { _, client, _, _ in
            // Unknown cost: the first long read runs on the loop and teaches the server what such reads cost.
            #expect(try await client.read("0") == "0")
            #expect(try await client.read("20") == "20")
            #expect(places["0"] == [true])
            #expect(places["20"] == [true])

            // The next one of that size runs elsewhere; a short read sent after it on the same connection is
            // answered while it still runs.
            let order = Locked<[String]>([])
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    _ = try await client.read("gate")
                    order.withLock { $0.append("long") }
                }
                #expect(await eventually { places["gate"].count == 1 })
                #expect(try await client.read("0") == "0")
                order.withLock { $0.append("short") }
                Self.gate.withLock { $0 = true }
                try await group.waitForAll()
            }
            #expect(order.withLock { $0 } == ["short", "long"])
            #expect(places["gate"] == [false])
        }
        try await threads.shutdownGracefully()
    }

    @Test func aCachedAnswerToALongReadIsGivenWithoutRunningTheReadAgain() async throws {
        let places = Places()
        let cache = ResponseCache(maximumBytes: 1 << 20)
        let service = try Self.readService(places, cache: cache)
        try await withTestServer(services: [service]) { _, client, _, _ in
            let first = try await client.read("20")
            #expect(first == "20")
            #expect(try await client.read("21") == "21")
            // Long by now (the second ran elsewhere), and answered from the cache: the body does not run again.
            #expect(places["21"] == [false])
            #expect(try await client.read("20") == "20")
            #expect(places["20"] == [true])
            #expect(cache.statistics.hits == 1)
        }
    }

    /// A store whose reads wait on a server sends every read by its queue, but a cached answer is given on the
    /// loop when the store knows the data version without waiting (a PostgreSQL store's leased one); under a
    /// version the cache has not seen, the read goes by the queue again.
    @Test func aCachedAnswerIsGivenOnTheLoopWhenTheVersionIsKnownWithoutWaiting() async throws {
        final class CountingQueue: WorkQueue {
            let inner = LongWorkQueue(threads: .singleton)
            let submitted = Locked(0)
            var count: Int { submitted.withLock { $0 } }
            func submit(
                on eventLoop: any EventLoop, abandoned: ManagedAtomic<Bool>,
                _ work: @escaping @Sendable () throws -> ByteBuffer
            ) -> EventLoopFuture<ByteBuffer> {
                submitted.withLock { $0 += 1 }
                return inner.submit(on: eventLoop, abandoned: abandoned, work)
            }
        }
        let places = Places()
        let queue = CountingQueue()
        let known = Locked<UInt64?>(nil)
        let version = Locked<UInt64>(1)
        let cache = ResponseCache(maximumBytes: 1 << 20)
        var service = ServiceDefinition(
            name: "test.v1.Reads", offload: .always(queue, versionWithoutWaiting: { known.withLock { $0 } }))
        try service.addCachedInline("Read", cache: cache, version: { version.withLock { $0 } }) {
            (request: Coop_V1_EchoRequest) in
            places.record(String(decoding: request.data, as: UTF8.self))
            return Coop_V1_EchoResponse.with { $0.data = request.data }
        }
        try await withTestServer(services: [service]) { _, client, _, _ in
            // Not known without waiting: by the queue, the second time answered there from the cache.
            let first = try await client.read("0")
            #expect(first == "0")
            #expect(try await client.read("0") == "0")
            #expect(queue.count == 2)
            #expect(places["0"] == [false])
            // Known: on the loop, from the cache.
            known.withLock { $0 = 1 }
            #expect(try await client.read("0") == "0")
            #expect(queue.count == 2)
            #expect(cache.statistics.hits == 2)
            // A newer version the cache has not seen: by the queue, and the read runs again.
            known.withLock { $0 = 2 }
            version.withLock { $0 = 2 }
            #expect(try await client.read("0") == "0")
            #expect(queue.count == 3)
            #expect(places["0"] == [false, false])
        }
    }

    @Test func anOffloadedReadPastItsDeadlineIsAnsweredDeadlineExceeded() async throws {
        let places = Places()
        let service = try Self.readService(places)
        try await withTestServer(services: [service]) { _, client, _, _ in
            #expect(try await client.read("20") == "20")
            // Same size class as 20: runs elsewhere (or is skipped if the deadline passes before it begins), and
            // the deadline answers first.
            do {
                _ = try await client.read("30", options: CallOptions(timeout: .milliseconds(10)))
                Issue.record("no error past the deadline")
            } catch let error as RPCError {
                #expect(error.code == .deadlineExceeded)
            }
            #expect(places["30"].allSatisfy { !$0 })
            // The connection still serves.
            #expect(try await client.read("0") == "0")
        }
    }
}

/// Work queued elsewhere is bounded and skipped once its caller has stopped waiting (one thread, so the order is
/// known).
@Suite(.serialized) struct LongWorkQueueTests {
    @Test func readsWhoseCallerStoppedWaitingBeforeTheyBeganAreSkippedAndTooManyWaitingAreRefused() async throws {
        let threads = NIOThreadPool(numberOfThreads: 1)
        threads.start()
        OffloadTests.secondGate.withLock { $0 = false }
        let places = OffloadTests.Places()
        let queue = LongWorkQueue(threads: threads, maximumWaiting: 3)
        let service = try OffloadTests.readService(places, queue: queue)
        try await withTestServer(services: [service]) { server, client, _, _ in
            // Reads of 16 to 31 ms are long from here on.
            #expect(try await client.read("20") == "20")
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { _ = try await client.read("gate2") }
                #expect(await eventually { places["gate2"].count == 1 })
                // Queued behind the held read; its caller gives up before it begins.
                do {
                    _ = try await client.read("21", options: CallOptions(timeout: .milliseconds(50)))
                    Issue.record("no error past the deadline")
                } catch let error as RPCError {
                    #expect(error.code == .deadlineExceeded)
                }
                // The client's clock ran out; wait for the server's (the one that abandons the work).
                #expect(await eventually { server.stats.errors[.deadlineExceeded, default: 0] >= 1 })
                // Counted until answered: the held read, the abandoned one and one more make three; a fourth is
                // refused, not queued.
                async let queued = client.read("22")
                #expect(await eventually { queue.waitingCount == 3 })
                do {
                    _ = try await client.read("23")
                    Issue.record("a read past the queue's bound was accepted")
                } catch let error as RPCError {
                    #expect(error.code == .resourceExhausted)
                }
                OffloadTests.secondGate.withLock { $0 = true }
                #expect(try await queued == "22")
                try await group.waitForAll()
            }
            // The read whose caller stopped waiting never ran; the one queued after it did.
            #expect(places["21"].isEmpty)
            #expect(places["22"] == [false])
            #expect(places["23"].isEmpty)
        }
        try await threads.shutdownGracefully()
    }
}

extension CoopClient {
    fileprivate func read(_ text: String, options: CallOptions = .defaults) async throws -> String {
        let reply = try await unary(
            service: "test.v1.Reads", method: "Read", request: Coop_V1_EchoRequest.with { $0.data = Data(text.utf8) },
            as: Coop_V1_EchoResponse.self, options: options)
        return String(decoding: reply.data, as: UTF8.self)
    }
}
