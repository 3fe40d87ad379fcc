#if canImport(Glibc)
import Glibc
#endif
import CoopClient
import CoopProto
import CoopWire
import CoopTestSupport
import Foundation
import NIOCore
import Testing

/// What one hostile or broken local client can make coopd hold or do: bounded, and never at the expense of
/// the other clients.
@Suite struct HostileClientTests {
    static let seeded = ["COOPD_SEED": "yes"]

    /// A page of every breakdown with its sources: tens of kilobytes of answer for a request of a few bytes.
    static let bigPage: [UInt8] = try! Coop_V1_ListObservationsRequest.with {
        $0.anyBreakdown = true
        $0.includeSources = true
        $0.pageSize = 100
    }.serializedBytes()

    static func bigPageRequest(_ i: Int) -> [UInt8] {
        Wire.request(
            streamID: UInt32(2 * i + 1), service: "coop.v1.Cooperation", method: "ListObservations", payload: bigPage)
    }

    @Test func clientsThatPipelineAndNeverReadCannotGrowTheDaemon() async throws {
        // The hogs are read again at the end: under a slow run (ThreadSanitizer's, 86 s once) the default 30 s
        // output stall timeout closed the first one before that. The timeout is the next test's subject, not this one's.
        try await withDaemon(arguments: ["--output-stall-timeout", "600"], environment: Self.seeded) { daemon in
            let before = try residentMiB(daemon.pid)
            var hogs: [RawConnection] = []
            for _ in 0..<4 {
                let hog = try RawConnection.connect(daemon.socketPath)
                hogs.append(hog)
                // Without backpressure coopd would take all 4 MiB (some 70,000 requests; writeUntilStalled throws)
                // and queue every answer.
                _ = try await hog.writeUntilStalled(stallFor: .milliseconds(500), limit: 4 << 20) { i in
                    Self.bigPageRequest(i)
                }
            }
            let during = try residentMiB(daemon.pid)
            #expect(during < 128, "RSS \(before) MiB before, \(during) MiB with four clients not reading")

            // Everyone else is served meanwhile.
            try await withClient(daemon.socketPath) { client in
                let page = try await client.listObservations(.with {
                    $0.origin = "VN"
                    $0.destination = "JP"
                    $0.pageSize = 20
                }, options: CallOptions(timeout: .seconds(10)))
                #expect(page.observations.count == 20)
            }
            // A client that starts reading again gets its answers, in order.
            for i in 0..<50 {
                let answer = try await hogs[0].readAnswer()
                #expect(answer.streamID == UInt32(2 * i + 1) && answer.code == 0, "\(answer)")
            }
        }
    }

    @Test func clientThatLeavesItsAnswersUnreadIsDisconnected() async throws {
        try await withDaemon(arguments: ["--output-stall-timeout", "2"], environment: Self.seeded) { daemon in
            let hog = try RawConnection.connect(daemon.socketPath)
            do {
                _ = try await hog.writeUntilStalled(stallFor: .milliseconds(300), limit: 4 << 20) { i in
                    Self.bigPageRequest(i)
                }
            } catch RawConnectionError.writeFailed {
                // On a slow machine (TSan) the stall timeout can pass while the hog is still writing: coopd has
                // closed it already, which is what this test waits for next.
            }
            try await daemon.waitForStderr(containing: "the client has not read its answers past the output stall timeout")
            // What was queued before the close still arrives, then the end of the stream.
            let frames = try await hog.readUntilClosed(timeout: .seconds(10))
            #expect(!frames.isEmpty)
            #expect(try frames.map { try $0.response().code }.allSatisfy { $0 == 0 })
            try await withClient(daemon.socketPath) { client in
                let reply = try await client.echo(Data("still here".utf8))
                #expect(reply == Data("still here".utf8))
            }
        }
    }

    @Test func requestWithTooMuchMetadataIsRefusedAndTheConnectionCarriesOn() async throws {
        try await withDaemon { daemon in
            let connection = try RawConnection.connect(daemon.socketPath)
            func echo(streamID: UInt32, entries: Int) -> [UInt8] {
                var buffer = ByteBuffer()
                RequestEnvelope(
                    service: "coop.v1.Diagnostics", method: "Echo", payload: ByteBuffer(bytes: Wire.echoPayload([7])),
                    metadata: Array(repeating: MetadataEntry(key: "k", value: "v"), count: entries)
                ).encode(into: &buffer)
                return Wire.frame(streamID: streamID, type: Wire.request, payload: Array(buffer: buffer))
            }
            // 400,000 entries: 3.2 MB, under the 4 MiB frame limit.
            try await connection.send(echo(streamID: 1, entries: 400_000))
            let refused = try await connection.readAnswer()
            #expect(refused.code == StatusCode.resourceExhausted.rawValue, "\(refused)")
            #expect(refused.message.contains("metadata"), "\(refused)")

            try await connection.send(echo(streamID: 3, entries: 100))
            #expect(try await connection.readAnswer().echoData() == [7])
        }
    }

    @Test func answersQueuedForASlowReaderAreDeliveredAtShutdown() async throws {
        // Room for every answer below, so that coopd computes them all before its client reads any.
        try await withDaemon(arguments: ["--max-queued-output-kib", "1024"], environment: Self.seeded) { daemon in
            let size = try await withClient(daemon.socketPath) { client in
                let page = try await client.listObservations(.with {
                    $0.anyBreakdown = true
                    $0.includeSources = true
                    $0.pageSize = 100
                })
                let bytes: [UInt8] = try page.serializedBytes()
                return bytes.count
            }
            // More than the kernel's socket buffers hold, so that answers wait in coopd.
            let count = max(2, (400 << 10) / size)
            #expect(count * size > 300 << 10, "answers of \(size) bytes")
            try await withClient(daemon.socketPath) { client in
                // Every ServerInfo call counts itself: all `count` are answered when the total is past them too.
                var expected = try await client.serverInfo().callsTotal + UInt64(count)
                let reader = try RawConnection.connect(daemon.socketPath)
                try await reader.send((0..<count).flatMap { Self.bigPageRequest($0) })
                try await poll("coopd to answer \(count) calls") { () async throws -> Bool? in
                    expected += 1
                    return try await client.serverInfo().callsTotal >= expected ? true : nil
                }
                try await Task.sleep(for: .milliseconds(100))  // the last answer is handed to the socket
                daemon.signal(SIGTERM)
                try await Task.sleep(for: .milliseconds(300))  // the reader is slow
                let frames = try await reader.readUntilClosed(timeout: .seconds(15))
                #expect(frames.count == count, "\(frames.count) of \(count) answers arrived")
                #expect(try frames.map { try $0.response().code }.allSatisfy { $0 == 0 })
            }
            #expect(try await daemon.waitForExit() == .exited(0), "stderr:\n\(daemon.stderr)")
        }
    }

    @Test func oneUidCannotTakeEveryConnectionSlot() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        chmod(directory.path, 0o711)
        try await withDaemon(
            in: directory, arguments: ["--socket-mode", "0666", "--max-connections-per-uid", "2"]
        ) { daemon in
            // As nobody: three connections; one is closed at once, two stay open.
            let script = """
                import socket, sys, time
                held = []
                for _ in range(3):
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.connect(sys.argv[1])
                    held.append(s)
                time.sleep(0.5)
                states = []
                for s in held:
                    try:
                        states.append("closed" if s.recv(1, socket.MSG_DONTWAIT) == b"" else "data")
                    except BlockingIOError:
                        states.append("open")
                print(" ".join(states), flush=True)
                time.sleep(float(sys.argv[2]))
                """
            try script.write(toFile: directory.file("hold.py"), atomically: true, encoding: .utf8)
            chmod(directory.file("hold.py"), 0o644)
            let holder = try ChildProcess(
                "/usr/bin/setpriv",
                ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/python3", directory.file("hold.py"),
                 daemon.socketPath, "3"],
                environment: ChildProcess.cleanEnvironment(), stdout: directory.file("hold.out"),
                stderr: directory.file("hold.err"))
            defer { holder.kill() }
            let states = try await poll("the holder to report") { () -> String? in
                let out = readText(directory.file("hold.out"))
                return out.hasSuffix("\n") ? out : nil
            }
            // Which one is refused depends on which event loop admits it first.
            #expect(states.split(separator: " ").map { $0.trimmingCharacters(in: .newlines) }.sorted()
                == ["closed", "open", "open"], "\(states) \(readText(directory.file("hold.err")))")
            try await daemon.waitForStderr(containing: "connection refused: the peer's uid holds its share of connections")
            // coopd's own uid is exempt, and is served while nobody holds its share.
            try await withClient(daemon.socketPath) { client in
                let reply = try await client.echo(Data([1]))
                #expect(reply == Data([1]))
            }
        }
    }

    @Test func reusedRequestIDWithAnotherBodyIsRefused() async throws {
        try await withDaemon { daemon in
            try await withClient(daemon.socketPath) { client in
                let source = Coop_V1_Source.with {
                    $0.title = "Labour statistics"
                    $0.publisher = "MHLW"
                }
                let first = try await client.putSource(source, requestID: "put-1")
                // A retry of the same request is answered with the first result.
                #expect(try await client.putSource(source, requestID: "put-1") == first)
                var other = source
                other.title = "Something else"
                do {
                    _ = try await client.putSource(other, requestID: "put-1")
                    Issue.record("a different body under a used request_id was accepted")
                } catch let error as RPCError {
                    #expect(error.code == .failedPrecondition, "\(error)")
                    #expect(error.message.contains("request_id"), "\(error)")
                }
                let sources = try await client.listSources(.with { $0.pageSize = 1000 })
                #expect(!sources.sources.contains { $0.title == "Something else" })
            }
        }
    }
}

/// Resident memory of process `pid` in MiB.
func residentMiB(_ pid: pid_t) throws -> Int {
    let status = readText("/proc/\(pid)/status")
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    else { throw HarnessError("no VmRSS in /proc/\(pid)/status") }
    return kib >> 10
}
