#if canImport(Glibc)
import Glibc
#endif
import CoopClient
import CoopProto
import CoopServer
import CoopWire
import Foundation
import NIOCore
import Synchronization
import Testing

@Suite struct TTRPCServerTests {
    @Test func responsesComeBackInCompletionOrderNotRequestOrder() async throws {
        try await withTestServer { _, client, probe, _ in
            let order = OrderRecorder()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { _ = try await client.test("Gate", "held"); order.append("held") }
                #expect(await eventually { probe.started.load(ordering: .relaxed) == 1 })
                // Asked later on the same connection, answered first.
                #expect(try await client.test("Sleep", "0") == "0")
                order.append("quick")
                probe.gateOpen.store(true, ordering: .relaxed)
                try await group.waitForAll()
            }
            #expect(order.values == ["quick", "held"])
        }
    }

    @Test func deadlinePassingAnswersDeadlineExceededAndCancelsTheHandler() async throws {
        try await withTestServer { server, client, probe, _ in
            // The client waits a little longer than the deadline it sends, so the server's answer is the one seen.
            let error = await #expect(throws: RPCError.self) {
                _ = try await client.test("Sleep", "5000", options: CallOptions(timeout: .milliseconds(150)))
            }
            #expect(error?.code == .deadlineExceeded)
            #expect(await eventually { probe.cancelled.load(ordering: .relaxed) == 1 })
            #expect(await eventually { server.stats.errors[.deadlineExceeded] == 1 })
        }
    }

    @Test func handlerSeesPeerCredentialsMetadataAndDeadline() async throws {
        try await withTestServer { _, client, _, _ in
            let options = CallOptions(
                timeout: .seconds(5),
                metadata: [.init(key: "k", value: "1"), .init(key: "k", value: "2"), .init(key: "x", value: "y")])
            let reply = try await client.test("Whoami", "", options: options)
            #expect(reply == "\(getpid()) \(getuid()) \(getgid()) k=1,k=2,x=y set")
            #expect(try await client.test("Whoami", "") == "\(getpid()) \(getuid()) \(getgid())  none")
        }
    }

    @Test func unexpectedHandlerErrorBecomesGenericInternal() async throws {
        try await withTestServer { server, client, _, _ in
            let error = await #expect(throws: RPCError.self) { _ = try await client.test("Boom", "") }
            #expect(error == RPCError(.internalError, "internal error"))
            #expect(server.stats.errors[.internalError] == 1)
        }
    }

    @Test func unknownServiceAndMethodAreUnimplemented() async throws {
        try await withTestServer { _, client, _, _ in
            let service = await #expect(throws: RPCError.self) {
                _ = try await client.call(service: "nope.v1.Nope", method: "Echo", payload: ByteBuffer())
            }
            #expect(service == RPCError(.unimplemented, "service nope.v1.Nope"))
            let method = await #expect(throws: RPCError.self) {
                _ = try await client.call(service: "test.v1.Test", method: "Nope", payload: ByteBuffer())
            }
            #expect(method == RPCError(.unimplemented, "method Nope"))
        }
    }

    @Test func undecodablePayloadIsInvalidArgumentNamingTheMessage() async throws {
        try await withTestServer { _, client, _, _ in
            let error = await #expect(throws: RPCError.self) {
                _ = try await client.call(service: "test.v1.Test", method: "Sleep", payload: ByteBuffer(bytes: [0xFF, 0xFF, 0xFF]))
            }
            #expect(error == RPCError(.invalidArgument, "payload does not decode as coop.v1.EchoRequest"))
        }
    }

    @Test func callsOverThePerConnectionLimitGetResourceExhausted() async throws {
        var limits = ServerLimits()
        limits.maxConcurrentCallsPerConnection = 2
        try await withTestServer(limits: limits) { (_, client, probe, _) async throws in
            // Two calls held open by the gate fill the connection's allowance.
            async let a = client.test("Gate", "a")
            async let b = client.test("Gate", "b")
            #expect(await eventually { probe.started.load(ordering: .relaxed) == 2 })
            let error = await #expect(throws: RPCError.self) { _ = try await client.test("Sleep", "1") }
            #expect(error?.code == .resourceExhausted)
            probe.gateOpen.store(true, ordering: .relaxed)
            #expect(try await [a, b] == ["a", "b"])
            // Once they finish, the connection takes calls again.
            #expect(try await client.test("Sleep", "1") == "1")
        }
    }

    @Test func serverStreamDeliversEveryMessageThenEnds() async throws {
        try await withTestServer { _, client, _, _ in
            var received: [String] = []
            for try await message in try client.testStream("Count", "50") {
                received.append(String(decoding: message.data, as: UTF8.self))
            }
            #expect(received == (0..<50).map(String.init))
        }
    }

    @Test func serverStreamEndingInErrorDeliversMessagesThenTheStatus() async throws {
        try await withTestServer { _, client, _, _ in
            var received = 0
            let error = await #expect(throws: RPCError.self) {
                for try await _ in try client.testStream("Count", "-3") { received += 1 }
            }
            #expect(received == 3)
            #expect(error == RPCError(.aborted, "stopped after 3"))
        }
    }

    @Test func disconnectCancelsRunningHandlers() async throws {
        try await withTestServer { server, _, probe, path in
            let other = CoopClient(socketPath: path)
            let call = Task { try await other.test("Sleep", "10000") }
            #expect(await eventually { probe.started.load(ordering: .relaxed) == 1 })
            await other.close()
            #expect(await eventually { probe.cancelled.load(ordering: .relaxed) == 1 })
            #expect(await eventually { server.stats.callsInFlight == 0 })
            call.cancel()
        }
    }

    @Test func gracefulShutdownLetsRunningCallsFinish() async throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/s.sock"
        let probe = Probe()
        let server = TTRPCServer(
            router: try Router([testService(probe)]), group: .singletonMultiThreadedEventLoopGroup,
            logger: .init(label: "test"))
        try await server.start(.path(path))
        let client = CoopClient(socketPath: path)
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<5 { group.addTask { try await client.test("Sleep", "300") } }
            #expect(await eventually { probe.started.load(ordering: .relaxed) == 5 })
            await server.shutdown(gracePeriod: .seconds(5))
            var results: [String] = []
            for try await result in group { results.append(result) }
            #expect(results == Array(repeating: "300", count: 5))
        }
        #expect(access(path, F_OK) != 0, "the socket file is removed")
        let error = await #expect(throws: RPCError.self) { _ = try await client.test("Sleep", "1") }
        #expect(error?.code == .unavailable)
    }

    @Test func shutdownClosesCallsThatOutlastTheGracePeriod() async throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/s.sock"
        let probe = Probe()
        let server = TTRPCServer(
            router: try Router([testService(probe)]), group: .singletonMultiThreadedEventLoopGroup,
            logger: .init(label: "test"))
        try await server.start(.path(path))
        let client = CoopClient(socketPath: path)
        let call = Task { try await client.test("Sleep", "30000") }
        #expect(await eventually { probe.started.load(ordering: .relaxed) == 1 })
        let start = ContinuousClock.now
        await server.shutdown(gracePeriod: .milliseconds(200))
        #expect(ContinuousClock.now - start < .seconds(5))
        let error = await #expect(throws: RPCError.self) { _ = try await call.value }
        #expect(error?.code == .unavailable)
        #expect(await eventually { probe.cancelled.load(ordering: .relaxed) == 1 })
    }

    @Test func streamToAClientThatStopsReadingEndsWithoutHurtingOthers() async throws {
        var limits = ServerLimits()
        limits.streamStallTimeout = .milliseconds(300)
        try await withTestServer(limits: limits) { (_, client, probe, path) async throws in
            // A raw socket that asks for the flood and then never reads.
            let fd = try connectRaw(path)
            defer { close(fd) }
            var frame = ByteBuffer()
            var payload = ByteBuffer()
            payload.writeBytes([0x0A, 0x00])
            frame.writeRequestFrame(
                streamID: 1, flags: .remoteClosed,
                envelope: RequestEnvelope(service: "test.v1.Test", method: "Flood", payload: payload))
            _ = frame.withUnsafeReadableBytes { write(fd, $0.baseAddress, $0.count) }
            #expect(await eventually { probe.streamSendFailure.withLock { $0 } != nil })
            #expect(probe.streamSendFailure.withLock { $0?.code } == .resourceExhausted)
            // Everyone else is served throughout.
            #expect(try await client.test("Sleep", "1") == "1")
        }
    }

    @Test func connectionsOverTheLimitAreClosed() async throws {
        var limits = ServerLimits()
        limits.maxConnections = 1
        try await withTestServer(limits: limits) { (server, client, _, path) async throws in
            #expect(try await client.test("Sleep", "1") == "1")
            let second = CoopClient(socketPath: path)
            let error = await #expect(throws: RPCError.self) { _ = try await second.test("Sleep", "1") }
            #expect(error?.code == .unavailable)
            await second.close()
            #expect(try await client.test("Sleep", "1") == "1")
            #expect(server.stats.connectionsOpen == 1)
        }
    }

    @Test func startRefusesAPathAnotherServerServes() async throws {
        try await withTestServer { _, _, _, path in
            let second = TTRPCServer(router: try Router(), group: .singletonMultiThreadedEventLoopGroup, logger: .init(label: "t"))
            let error = await #expect(throws: ListenError.self) { try await second.start(.path(path)) }
            #expect(error?.description.contains("another process is already serving") == true)
        }
    }
}

final class OrderRecorder: Sendable {
    private let storage = Locked<[String]>([])
    func append(_ value: String) { storage.withLock { $0.append(value) } }
    var values: [String] { storage.withLock { $0 } }
}


/// A plain blocking Unix socket connected to `path`.
func connectRaw(_ path: String) throws -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
    let rc = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard rc == 0 else {
        close(fd)
        throw RPCError(.unavailable, "connect failed: \(errno)")
    }
    return fd
}
