import CoopClient
import CoopProto
import CoopServer
import CoopWire
import Foundation
import NIOCore
import Testing

/// The counters the server keeps on the request path: each call counted once, under its method and status code,
/// with its duration, and every request that never became a call under its code.
@Suite struct ServerStatsTests {
    @Test func theRouterNumbersEveryMethodOnce() throws {
        var a = ServiceDefinition(name: "a.v1.A")
        try a.add("Z", .inline { payload, _ in payload })
        try a.add("B", .inline { payload, _ in payload })
        var b = ServiceDefinition(name: "b.v1.B")
        try b.add("M", .inline { payload, _ in payload })
        let router = try Router([a, b])
        #expect(router.methods.map(\.description) == ["a.v1.A/B", "a.v1.A/Z", "b.v1.B/M"])
    }

    @Test func callsAreCountedByMethodCodeAndDurationOverARealConnection() async throws {
        try await withTestServer { server, client, _, _ in
            for _ in 0..<3 { #expect(try await client.test("Sleep", "0") == "0") }
            // 30 ms: past the 25 ms bound, within the 50 ms one.
            #expect(try await client.test("Sleep", "30") == "30")
            await #expect(throws: RPCError.self) { _ = try await client.test("Boom", "") }
            await #expect(throws: RPCError.self) { _ = try await client.test("NoSuchMethod", "") }
            var count = 0
            for try await _ in try client.testStream("Count", "2") { count += 1 }
            #expect(count == 2)

            let snapshot = server.stats.snapshot()
            func method(_ name: String) throws -> ServerStats.MethodSnapshot {
                try #require(snapshot.methods.first { $0.name == MethodName(service: "test.v1.Test", method: name) })
            }
            let sleep = try method("Sleep")
            #expect(sleep.calls(.ok) == 4)
            #expect(sleep.calls.reduce(0, +) == 4)
            #expect(sleep.inFlight == 0)
            #expect(sleep.durationBuckets.reduce(0, +) == 4)
            let bounds = ServerStats.durationBucketBounds
            let slow = try #require(bounds.firstIndex(of: 50_000_000))
            // (At least: on a loaded machine even a call that sleeps 0 ms may take that long.)
            #expect(sleep.durationBuckets[slow...].reduce(0, +) >= 1, "\(sleep.durationBuckets)")
            #expect(sleep.durationSumNanoseconds >= 30_000_000)
            #expect(try method("Boom").calls(.internalError) == 1)
            #expect(try method("Count").calls(.ok) == 1)
            #expect(try method("Gate").calls.reduce(0, +) == 0)
            #expect(snapshot.rejected[Int(StatusCode.unimplemented.rawValue)] == 1)
            #expect(snapshot.connectionsAccepted == 1)
            #expect(snapshot.bytesReceived > 0 && snapshot.bytesSent > 0)
            #expect(server.stats.callsTotal == 6)  // the rejected request was no call
            #expect(server.stats.errors == [.internalError: 1, .unimplemented: 1])
        }
    }

    @Test func evictionsAreTheAnswersDroppedForRoomNotThoseAWriteOutdated() throws {
        let cache = ResponseCache(maximumBytes: 8 << 10)
        let answer = ByteBuffer(string: String(repeating: "x", count: 1000))
        for i in 0..<7 {
            _ = try cache.response(method: "m", request: ByteBuffer(string: "r\(i)"), version: 1) { answer }
        }
        #expect(cache.statistics.evictions == 0)
        #expect(cache.statistics.entries == 7)
        // The eighth does not fit: the seven go.
        _ = try cache.response(method: "m", request: ByteBuffer(string: "r7"), version: 1) { answer }
        #expect(cache.statistics.evictions == 7)
        #expect(cache.statistics.entries == 1)
        // A new data version drops the rest without counting them.
        _ = try cache.response(method: "m", request: ByteBuffer(string: "r0"), version: 2) { answer }
        #expect(cache.statistics.evictions == 7)
        #expect(cache.statistics.entries == 1)
        #expect(cache.statistics.misses == 9 && cache.statistics.hits == 0)
    }
}
