import CoopProto
import CoopServer
import CoopWire
import NIOCore

/// Registration by a method's generated type (`service_methods.pb.swift`): its name and message types come from
/// the .proto, so a route cannot be misnamed or decode the wrong message. (CoopServer stays free of CoopProto.)
extension ServiceDefinition {
    /// Throws unless the methods registered are exactly those the .proto declares for this service (`names`, as
    /// generated): a method added to the .proto and not served fails coopd's start, and so every test.
    func requireExactly(_ names: [String]) throws {
        let missing = names.filter { methods[$0] == nil }
        let extra = methods.keys.filter { !names.contains($0) }.sorted()
        guard missing.isEmpty, extra.isEmpty else {
            throw RPCError(
                .internalError,
                "\(name) serves other methods than its .proto declares: missing \(missing), not declared \(extra)")
        }
    }

    private func check<M: ProtoMethod>(_ method: M.Type, streaming: Bool) throws {
        guard M.service == name, M.serverStreaming == streaming else {
            throw RPCError(
                .internalError,
                "\(M.service)/\(M.name) (\(M.serverStreaming ? "streaming" : "unary")) registered in \(name) as "
                    + (streaming ? "streaming" : "unary"))
        }
    }

    mutating func addInline<M: ProtoMethod>(
        _ method: M.Type, _ body: @escaping @Sendable (M.Request, CallContext) throws -> M.Response
    ) throws {
        try check(method, streaming: false)
        try addInline(M.name, body)
    }

    /// For a body that reads the request's bytes itself (see `EchoWire`): always on the event loop.
    mutating func addInlineBytes<M: ProtoMethod>(
        _ method: M.Type, _ body: @escaping @Sendable (ByteBuffer, CallContext) throws -> ByteBuffer
    ) throws {
        try check(method, streaming: false)
        try add(M.name, .inline(body))
    }

    mutating func addCachedInline<M: ProtoMethod>(
        _ method: M.Type, cache: ResponseCache?, version: @escaping @Sendable () -> UInt64,
        size: @escaping @Sendable (M.Request) -> Int = { _ in 0 },
        _ body: @escaping @Sendable (M.Request) throws -> M.Response
    ) throws {
        try check(method, streaming: false)
        try addCachedInline(M.name, cache: cache, version: version, size: size, body)
    }

    /// For a body that encodes its `M.Response` itself (see `ObservationPageEncoder`).
    mutating func addCachedInlineEncoded<M: ProtoMethod>(
        _ method: M.Type, cache: ResponseCache?, version: @escaping @Sendable () -> UInt64,
        size: @escaping @Sendable (M.Request) -> Int = { _ in 0 },
        _ body: @escaping @Sendable (M.Request) throws -> ByteBuffer
    ) throws {
        try check(method, streaming: false)
        try addCachedInlineEncoded(M.name, cache: cache, version: version, size: size, body)
    }

    mutating func addUnary<M: ProtoMethod>(
        _ method: M.Type, _ body: @escaping @Sendable (M.Request, CallContext) async throws -> M.Response
    ) throws {
        try check(method, streaming: false)
        try addUnary(M.name, body)
    }

    mutating func addServerStreaming<M: ProtoMethod>(
        _ method: M.Type,
        _ body: @escaping @Sendable (M.Request, CallContext, TypedServerStream<M.Response>) async throws -> Void
    ) throws {
        try check(method, streaming: true)
        try addServerStreaming(M.name, body)
    }
}
