#if canImport(Glibc)
import Glibc
#endif
import CoopClient
import CoopProto
import CoopServer
import CoopTestSupport
import CoopWire
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// What the test service's handlers saw, for assertions.
final class Probe: Sendable {
    let cancelled = Atomic<Int>(0)
    let started = Atomic<Int>(0)
    let streamSendFailure = Locked<RPCError?>(nil)
    let gateOpen = Atomic<Bool>(false)
}

/// `test.v1.Test`: methods whose behaviour the request's `data` (UTF-8) selects.
func testService(_ probe: Probe) throws -> ServiceDefinition {
    var service = ServiceDefinition(name: "test.v1.Test")
    // Sleeps `data` milliseconds, then echoes; counts cancellations.
    try service.addUnary("Sleep") { (request: Coop_V1_EchoRequest, _) in
        probe.started.add(1, ordering: .relaxed)
        let ms = Int(String(decoding: request.data, as: UTF8.self)) ?? 0
        do {
            try await Task.sleep(for: .milliseconds(ms))
        } catch {
            probe.cancelled.add(1, ordering: .relaxed)
            throw error
        }
        return Coop_V1_EchoResponse.with { $0.data = request.data }
    }
    // Waits until the test opens the gate, then echoes.
    try service.addUnary("Gate") { (request: Coop_V1_EchoRequest, _) in
        probe.started.add(1, ordering: .relaxed)
        while !probe.gateOpen.load(ordering: .relaxed) {
            try await Task.sleep(for: .milliseconds(5))
        }
        return Coop_V1_EchoResponse.with { $0.data = request.data }
    }
    // Sends |n| messages "0", "1", …; a negative n then fails with ABORTED.
    try service.addServerStreaming("Count") {
        (request: Coop_V1_EchoRequest, _, stream: TypedServerStream<Coop_V1_EchoResponse>) in
        let n = Int(String(decoding: request.data, as: UTF8.self)) ?? 0
        for i in 0..<abs(n) {
            try await stream.send(.with { $0.data = Data(String(i).utf8) })
        }
        if n < 0 { throw RPCError(.aborted, "stopped after \(-n)") }
    }
    // Sends 64 KiB messages until a send fails; records why.
    try service.addServerStreaming("Flood") {
        (_: Coop_V1_EchoRequest, _, stream: TypedServerStream<Coop_V1_EchoResponse>) in
        let chunk = Data(repeating: 0x61, count: 64 << 10)
        do {
            while true { try await stream.send(.with { $0.data = chunk }) }
        } catch let error as RPCError {
            probe.streamSendFailure.withLock { $0 = error }
            throw error
        }
    }
    // Fails with an error that is not an RPCError.
    try service.addUnary("Boom") { (_: Coop_V1_EchoRequest, _) -> Coop_V1_EchoResponse in
        struct Secret: Error {}
        throw Secret()
    }
    // Answers with what the server knows of the caller.
    try service.addInline("Whoami") { (_: Coop_V1_EchoRequest, context) in
        let md = context.metadata.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        let deadline = context.deadline == nil ? "none" : "set"
        return Coop_V1_EchoResponse.with {
            $0.data = Data("\(context.peer.pid) \(context.peer.uid) \(context.peer.gid) \(md) \(deadline)".utf8)
        }
    }
    return service
}

/// A fresh directory under /tmp, short enough for socket paths.
func makeTemporaryDirectory() -> String {
    var template = Array("/tmp/coop-test-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    return path
}

/// Runs `body` with a started server on a socket in a temporary directory, and a client for it.
func withTestServer(
    limits: ServerLimits = .defaults, services: [ServiceDefinition] = [],
    _ body: (TTRPCServer, CoopClient, Probe, String) async throws -> Void
) async throws {
    let directory = makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/s.sock"
    let probe = Probe()
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let server = TTRPCServer(
        router: try Router([testService(probe)] + services), limits: limits, group: MultiThreadedEventLoopGroup.singleton,
        logger: logger)
    try await server.start(.path(path))
    let client = CoopClient(socketPath: path)
    do {
        try await body(server, client, probe, path)
    } catch {
        await client.close()
        await server.shutdown(gracePeriod: .seconds(1))
        throw error
    }
    await client.close()
    await server.shutdown(gracePeriod: .seconds(1))
}

extension CoopClient {
    func test(_ method: String, _ text: String, options: CallOptions = .defaults) async throws -> String {
        let reply = try await unary(
            service: "test.v1.Test", method: method, request: Coop_V1_EchoRequest.with { $0.data = Data(text.utf8) },
            as: Coop_V1_EchoResponse.self, options: options)
        return String(decoding: reply.data, as: UTF8.self)
    }

    func testStream(_ method: String, _ text: String) throws -> AsyncThrowingMapSequence<
        AsyncThrowingStream<ByteBuffer, any Error>, Coop_V1_EchoResponse
    > {
        try serverStream(
            service: "test.v1.Test", method: method, request: Coop_V1_EchoRequest.with { $0.data = Data(text.utf8) },
            as: Coop_V1_EchoResponse.self)
    }
}

/// Polls `condition` until it holds or `timeout` (stretched by ``patience``) passes.
func eventually(timeout: Duration = .seconds(20), _ condition: () -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let end = clock.now + timeout.patient
    while clock.now < end {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}
