#if canImport(Glibc)
import Glibc
#endif
import CoopClient
import CoopProto
import CoopTestSupport
import Foundation
import NIOCore
import Testing

/// The Swift client against a real daemon.
@Suite struct CoopClientTests {
    @Test func manyConcurrentEchoCallsOnOneClientEachGetTheirOwnData() async throws {
        try await withDaemon { daemon in
            try await withClient(daemon.socketPath) { client in
                try await withThrowingTaskGroup(of: (Int, Data).self) { group in
                    for i in 0..<500 {
                        group.addTask {
                            (i, try await client.echo(Data("call number \(i)".utf8), options: CallOptions(timeout: .seconds(20))))
                        }
                    }
                    var seen = Set<Int>()
                    for try await (i, reply) in group {
                        #expect(reply == Data("call number \(i)".utf8))
                        seen.insert(i)
                    }
                    #expect(seen.count == 500)
                }
                // One connection carried them all.
                let info = try await client.serverInfo()
                #expect(info.connectionsAccepted == 2)  // the harness's readiness probe, and this client
                #expect(info.callsTotal == 501)
            }
        }
    }

    @Test func watchWithATimeoutYieldsServingThenEndsWithDeadlineExceeded() async throws {
        try await withDaemon { daemon in
            try await withClient(daemon.socketPath) { client in
                #expect(try await client.health() == .serving)  // connected before the clock starts
                // On a loaded machine the first update can itself take longer than the deadline; such an
                // attempt shows nothing either way and is made again with twice the deadline (0.3 s to 4.8 s).
                for attempt in 1...5 {
                    let clock = ContinuousClock()
                    let start = clock.now
                    let deadline = (Duration.milliseconds(300) * (1 << (attempt - 1))).patient
                    var updates = try client.watchHealth(options: CallOptions(timeout: deadline))
                        .makeAsyncIterator()
                    let first: Grpc_Health_V1_HealthCheckResponse.ServingStatus?
                    do {
                        first = try await updates.next()
                    } catch let error as RPCError where error.code == .deadlineExceeded && attempt < 5 {
                        continue
                    }
                    #expect(first == .serving)
                    let error = await #expect(throws: RPCError.self) { _ = try await updates.next() }
                    #expect(error == RPCError(.deadlineExceeded, "deadline exceeded"))
                    #expect(clock.now - start >= deadline)
                    break
                }
                // The client and its connection carry on.
                #expect(try await client.health() == .serving)
            }
        }
    }

    @Test func clientReconnectsAfterTheDaemonRestartsOnTheSameSocket() async throws {
        try await withTemporaryDirectory { directory in
            try await withClient(directory.file("coopd.sock")) { client in
                let first = try await DaemonProcess.start(in: directory)
                defer { first.kill() }
                #expect(try await client.serverInfo().pid == first.pid)
                #expect(try await first.terminate() == .exited(0))

                let second = try await DaemonProcess.start(in: directory)
                defer { second.kill() }
                // The very next call reconnects: no retry by the caller.
                #expect(try await client.echo(Data("again".utf8)) == Data("again".utf8))
                #expect(try await client.serverInfo().pid == second.pid)
            }
        }
    }

    @Test func callToAStoppedDaemonFailsUnavailable() async throws {
        try await withTemporaryDirectory { directory in
            try await withClient(directory.file("coopd.sock")) { client in
                let error = await #expect(throws: RPCError.self) { _ = try await client.echo(Data()) }
                #expect(error?.code == .unavailable)
                #expect(error?.message.hasPrefix("cannot connect to coopd at \(directory.file("coopd.sock")):") == true,
                        "\(String(describing: error))")
            }
        }
    }

    @Test func serverInfoReportsItsProcessAndCounters() async throws {
        try await withDaemon { daemon in
            let version = try await runToCompletion(try TestBinaries.coopd(), ["--version"], in: daemon.directory)
            try await withClient(daemon.socketPath) { client in
                let first = try await client.serverInfo()
                #expect(first.pid == daemon.pid)
                #expect(!first.version.isEmpty)
                #expect(first.version == version.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
                #expect(first.socketPath == daemon.socketPath)
                #expect(first.connectionsOpen >= 1)
                #expect(first.callsTotal == 1)  // this call
                #expect(first.callsInFlight == 0)
                #expect(first.errors.isEmpty)
                #expect(first.uptimeNano > 0)

                #expect(try await client.echo(Data("ok".utf8)) == Data("ok".utf8))
                let bad = await #expect(throws: RPCError.self) {
                    _ = try await client.call(
                        service: "coop.v1.Diagnostics", method: "Echo", payload: ByteBuffer(bytes: [0x0a, 0x05, 0x01]))
                }
                #expect(bad == RPCError(.invalidArgument, "payload does not decode as coop.v1.EchoRequest"))

                let second = try await client.serverInfo()
                #expect(second.callsTotal == 4)
                #expect(second.errors == [Coop_V1_StatusCount.with {
                    $0.code = 3
                    $0.name = "INVALID_ARGUMENT"
                    $0.count = 1
                }])
                #expect(second.startTimeUnixNano == first.startTimeUnixNano)
                #expect(second.uptimeNano > first.uptimeNano)
            }
        }
    }
}
