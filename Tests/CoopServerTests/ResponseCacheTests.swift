import CoopServer
import NIOCore
import Testing

@Suite struct ResponseCacheTests {
    private struct Failure: Error {}

    private func answer(
        _ cache: ResponseCache, _ request: String, version: UInt64, computed: inout Int, method: String = "m",
        result: String? = nil
    ) throws -> String {
        let buffer = try cache.response(method: method, request: ByteBuffer(string: request), version: version) {
            computed += 1
            return ByteBuffer(string: result ?? "answer to \(request) at \(version)")
        }
        return String(buffer: buffer)
    }

    @Test func aRepeatedRequestIsAnsweredOnceUntilTheVersionMoves() throws {
        let cache = ResponseCache(maximumBytes: 1 << 20)
        var computed = 0
        #expect(try answer(cache, "a", version: 1, computed: &computed) == "answer to a at 1")
        #expect(try answer(cache, "a", version: 1, computed: &computed) == "answer to a at 1")
        #expect(computed == 1)
        // Another request, another method: their own answers.
        #expect(try answer(cache, "b", version: 1, computed: &computed) == "answer to b at 1")
        #expect(try answer(cache, "a", version: 1, computed: &computed, method: "n") == "answer to a at 1")
        #expect(computed == 3)
        // A write moved the version: nothing from before is served.
        #expect(try answer(cache, "a", version: 2, computed: &computed) == "answer to a at 2")
        #expect(computed == 4)
        let statistics = cache.statistics
        #expect(statistics.hits == 1)
        #expect(statistics.misses == 4)
    }

    @Test func anAnswerComputedUnderAnOlderVersionIsNotStored() throws {
        let cache = ResponseCache(maximumBytes: 1 << 20)
        var computed = 0
        _ = try answer(cache, "a", version: 5, computed: &computed)
        // A caller that read the version before the last write: answered, but its answer is not kept
        // and does not displace the newer ones.
        #expect(try answer(cache, "b", version: 4, computed: &computed) == "answer to b at 4")
        #expect(try answer(cache, "b", version: 5, computed: &computed) == "answer to b at 5")
        #expect(try answer(cache, "a", version: 5, computed: &computed) == "answer to a at 5")
        #expect(computed == 3)
    }

    /// A store that cannot read its version hands out versions with the top bit set. Were one taken as newer
    /// than the rest, the cache would be emptied and then refuse every real version (all lower) until a restart.
    @Test func anUnknownVersionIsNeitherCachedNorAFlushOfTheCache() throws {
        let cache = ResponseCache(maximumBytes: 1 << 20)
        var computed = 0
        _ = try answer(cache, "a", version: 5, computed: &computed)
        let unknown = ResponseCache.unknownVersionBit | 1
        #expect(try answer(cache, "a", version: unknown, computed: &computed) == "answer to a at \(unknown)")
        #expect(try answer(cache, "a", version: unknown, computed: &computed) == "answer to a at \(unknown)")
        #expect(computed == 3)
        #expect(try answer(cache, "a", version: 5, computed: &computed) == "answer to a at 5")
        #expect(try answer(cache, "a", version: 6, computed: &computed) == "answer to a at 6")
        #expect(try answer(cache, "a", version: 6, computed: &computed) == "answer to a at 6")
        #expect(computed == 4)
    }

    @Test func errorsAreNotCached() throws {
        let cache = ResponseCache(maximumBytes: 1 << 20)
        var calls = 0
        for _ in 0..<2 {
            #expect(throws: Failure.self) {
                _ = try cache.response(method: "m", request: ByteBuffer(string: "bad"), version: 1) {
                    calls += 1
                    throw Failure()
                }
            }
        }
        #expect(calls == 2)
    }

    @Test func theCacheStaysWithinItsBytes() throws {
        let cache = ResponseCache(maximumBytes: 64 << 10)
        var computed = 0
        let big = String(repeating: "x", count: 1000)
        for i in 0..<500 {
            _ = try answer(cache, "request \(i)", version: 1, computed: &computed, result: big)
            #expect(cache.statistics.bytes <= 64 << 10)
        }
        #expect(computed == 500)
        // An answer larger than a quarter of the cache is served but never kept.
        let huge = String(repeating: "y", count: 20 << 10)
        _ = try answer(cache, "huge", version: 1, computed: &computed, result: huge)
        _ = try answer(cache, "huge", version: 1, computed: &computed, result: huge)
        #expect(computed == 502)
    }
}
