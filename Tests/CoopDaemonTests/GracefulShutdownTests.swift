#if canImport(Glibc)
import Glibc
#endif
import CoopClient
import CoopProto
import Foundation
import Synchronization
import Testing

/// SIGTERM: stop accepting, report NOT_SERVING, end streams with UNAVAILABLE, let calls finish, exit 0.
@Suite struct GracefulShutdownTests {
    @Test func healthWatchSeesNotServingThenEndsUnavailableOnStop() async throws {
        try await withDaemon { daemon in
            try await withClient(daemon.socketPath) { client in
                var updates = try client.watchHealth().makeAsyncIterator()
                #expect(try await updates.next() == .serving)
                daemon.signal(SIGTERM)
                #expect(try await updates.next() == .notServing)
                let error = await #expect(throws: RPCError.self) { _ = try await updates.next() }
                #expect(error == RPCError(.unavailable, "server is shutting down"))
            }
            #expect(try await daemon.waitForExit() == .exited(0), "stderr:\n\(daemon.stderr)")
        }
    }

    @Test func pipelinedCallsDuringStopEndOKOrUnavailable() async throws {
        try await withDaemon { daemon in
            let connection = try RawConnection.connect(daemon.socketPath)
            let stopWriting = Flag()
            // Keep a pipeline of Echo calls going: batches of 50, never waiting for answers.
            async let writer: Void = {
                var id: UInt32 = 1
                while !stopWriting.isSet {
                    let batch = (0..<50).flatMap { i in Wire.echo(streamID: id + 2 * UInt32(i), data: [UInt8(i)]) }
                    id += 100
                    do { try await connection.send(batch) } catch { return }
                }
            }()
            var answers: [Answer] = []
            while answers.count < 200 {
                answers.append(try await connection.readAnswer())
            }
            daemon.signal(SIGTERM)
            // Past the 10 s grace period the daemon closes the connection itself; the wait is longer for a daemon
            // slowed down by this flood and the tests around it (under ThreadSanitizer one timed out after 40 s).
            let rest = try await connection.readUntilClosed(timeout: .seconds(30))
            stopWriting.set()
            await writer
            answers += try rest.map { try $0.response() }

            let unexpected = answers.filter { !($0.code == 0 || ($0.code == 14 && $0.message == "server is shutting down")) }
            #expect(unexpected.isEmpty, "\(unexpected.prefix(5))")
            #expect(Set(answers.map(\.streamID)).count == answers.count, "a stream was answered twice")
            #expect(try await daemon.waitForExit() == .exited(0), "stderr:\n\(daemon.stderr)")
        }
    }

    @Test func clientCallsInFlightDuringStopEndOKOrUnavailable() async throws {
        try await withDaemon { daemon in
            try await withClient(daemon.socketPath) { client in
                let succeeded = Counter()
                let failures = try await withThrowingTaskGroup(of: RPCError?.self) { group in
                    for worker in 0..<16 {
                        group.addTask {
                            for i in 0..<1_000_000 {
                                let data = Data("w\(worker) c\(i)".utf8)
                                do {
                                    let reply = try await client.echo(data, options: CallOptions(timeout: .seconds(10)))
                                    guard reply == data else { return RPCError(.dataLoss, "wrong echo") }
                                    succeeded.increment()
                                } catch let error as RPCError {
                                    return error
                                }
                            }
                            return nil
                        }
                    }
                    try await poll("200 calls to succeed") { succeeded.value >= 200 ? true : nil }
                    daemon.signal(SIGTERM)
                    var failures: [RPCError?] = []
                    for try await failure in group { failures.append(failure) }
                    return failures
                }
                #expect(failures.allSatisfy { $0?.code == .unavailable }, "\(failures)")
            }
            #expect(try await daemon.waitForExit() == .exited(0), "stderr:\n\(daemon.stderr)")
        }
    }
}
