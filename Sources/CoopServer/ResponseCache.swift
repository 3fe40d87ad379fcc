import CoopWire
import NIOCore
import Synchronization

/// Encoded answers of read methods, keyed by method and request bytes, valid for one data version.
///
/// Between two writes the same request has the same answer, and read-mostly clients (dashboards, analysts
/// paging the same listing) ask the same requests again and again: a hit costs a hash of the request and a
/// copy of the bytes instead of a query, a mapping and an encoding. An answer is stored under the data
/// version read *before* it was computed and served only while the version is unchanged, so no answer
/// older than an acknowledged write is ever served. Errors are not cached.
///
/// Bounded by bytes (request, response and a per-entry overhead): when an answer would not fit, the cache
/// starts over empty, which costs a few recomputations and no bookkeeping on the hit path.
public final class ResponseCache: Sendable {
    private struct Key: Hashable {
        var method: String
        var request: ByteBuffer
    }

    private struct State {
        var version: UInt64 = 0
        var entries: [Key: ByteBuffer] = [:]
        var bytes = 0
        var hits: UInt64 = 0
        var misses: UInt64 = 0
        var evictions: UInt64 = 0
    }

    /// Set in a data version that stands for "not known" (a store whose database cannot be read now): no answer
    /// is cached or served under it, and it does not empty the cache (it is higher than every real version).
    public static let unknownVersionBit: UInt64 = 1 << 63

    /// The most bytes the cache holds.
    public let maximumBytes: Int
    private let state = Locked(State())
    private static let entryOverhead = 96

    public init(maximumBytes: Int) {
        self.maximumBytes = maximumBytes
    }

    /// What the cache did since start, and what it holds now.
    public struct Statistics: Sendable, Equatable {
        public var hits: UInt64
        public var misses: UInt64
        /// Answers dropped to make room for another (not those dropped because a write changed the data).
        public var evictions: UInt64
        public var entries: Int
        public var bytes: Int
    }

    public var statistics: Statistics {
        state.withLock {
            Statistics(hits: $0.hits, misses: $0.misses, evictions: $0.evictions, entries: $0.entries.count, bytes: $0.bytes)
        }
    }

    /// The cached answer to `request` at data version `version`, or `compute`'s (stored if it fits).
    /// `version` must be read before `compute` reads any data.
    public func response(
        method: String, request: ByteBuffer, version: UInt64, compute: () throws -> ByteBuffer
    ) throws -> ByteBuffer {
        if let cached = cached(method: method, request: request, version: version) { return cached }
        return store(method: method, request: request, version: version, response: try compute())
    }

    /// The cached answer to `request` at data version `version`, if any (counted as a hit or a miss). A newer
    /// version empties the cache.
    public func cached(method: String, request: ByteBuffer, version: UInt64) -> ByteBuffer? {
        guard version & Self.unknownVersionBit == 0 else { return nil }
        let key = Key(method: method, request: request)
        return state.withLock { state -> ByteBuffer? in
            if state.version != version {
                guard version > state.version else { return nil }
                state = State(version: version, hits: state.hits, misses: state.misses, evictions: state.evictions)
            }
            if let hit = state.entries[key] {
                state.hits += 1
                return hit
            }
            state.misses += 1
            return nil
        }
    }

    /// Stores `response`, computed from data read after `version` was, if it fits and the version still
    /// holds; returns the bytes to send.
    public func store(method: String, request: ByteBuffer, version: UInt64, response: ByteBuffer) -> ByteBuffer {
        guard version & Self.unknownVersionBit == 0 else { return response }
        let size = request.readableBytes + response.readableBytes + Self.entryOverhead
        guard size <= maximumBytes / 4 else { return response }
        // Own copies, sized to fit: the request is a slice of a connection's read buffer, and the response
        // may sit in a larger allocation.
        let entry = Key(method: method, request: ByteBuffer(bytes: request.readableBytesView))
        let stored = ByteBuffer(bytes: response.readableBytesView)
        state.withLock { state in
            guard state.version == version else { return }
            if state.bytes + size > maximumBytes {
                state.evictions += UInt64(state.entries.count)
                state.entries.removeAll(keepingCapacity: true)
                state.bytes = 0
            }
            if state.entries.updateValue(stored, forKey: entry) == nil {
                state.bytes += size
            }
        }
        return stored
    }
}
