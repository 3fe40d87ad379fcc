import CoopClient
import CoopProto
import Foundation
import SwiftProtobuf
import Testing

/// The limits coopd enforces on connections: each ends in a clean close, and never touches other clients.
@Suite struct ConnectionLimitTests {
    @Test func connectionHoldingHalfAFrameIsClosedAfterThePartialFrameTimeout() async throws {
        try await withDaemon(arguments: ["--partial-frame-timeout", "0.3"]) { daemon in
            let healthy = try RawConnection.connect(daemon.socketPath)
            #expect(try await healthy.echo(streamID: 1, data: [1]) == [1])

            let stuck = try RawConnection.connect(daemon.socketPath)
            let clock = ContinuousClock()
            let start = clock.now
            // A header promising 20 bytes, and 10 of them.
            try await stuck.send(Wire.frame(
                streamID: 1, type: Wire.request, payload: [UInt8](repeating: 0x0a, count: 10), declaredLength: 20))
            async let closed = stuck.readUntilClosed(timeout: .seconds(10))
            // While that connection waits for its close, the healthy one keeps working.
            var id: UInt32 = 3
            for i in 0..<5 {
                #expect(try await healthy.echo(streamID: id, data: [UInt8(i)]) == [UInt8(i)])
                id += 2
            }
            let frames = try await closed
            let elapsed = clock.now - start
            #expect(frames.isEmpty, "\(frames)")
            #expect(elapsed >= .milliseconds(300), "closed after \(elapsed), before the 0.3 s timeout")
            #expect(try await healthy.echo(streamID: id, data: [9]) == [9])
        }
    }

    @Test func idleConnectionIsClosedAfterTheIdleTimeout() async throws {
        try await withDaemon(arguments: ["--idle-timeout", "0.3"]) { daemon in
            // A connection with a server stream running is not idle, however long it stays quiet.
            let watching = try RawConnection.connect(daemon.socketPath)
            try await watching.send(Wire.request(
                streamID: 1, service: "grpc.health.v1.Health", method: "Watch", payload: [], flags: 0x01))
            let first = try #require(try await watching.readFrame())
            #expect(first == RawFrame(streamID: 1, type: Wire.data, flags: 0, payload: [0x08, 0x01]))

            let idle = try RawConnection.connect(daemon.socketPath)
            // Taken before the last bytes go out, so the server's idle clock cannot have started earlier.
            let clock = ContinuousClock()
            let start = clock.now
            #expect(try await idle.echo(streamID: 1, data: [1]) == [1])
            let frames = try await idle.readUntilClosed(timeout: .seconds(10))
            let elapsed = clock.now - start
            #expect(frames.isEmpty, "\(frames)")
            #expect(elapsed >= .milliseconds(300), "closed after \(elapsed), before the 0.3 s timeout")

            // Past the idle timeout, the watching connection is still served.
            #expect(try await watching.echo(streamID: 3, data: [2]) == [2])
        }
    }

    @Test func connectionBeyondMaxConnectionsIsClosedAtOnceWhileTheOthersWork() async throws {
        try await withDaemon(arguments: ["--max-connections", "2"]) { daemon in
            let first = try RawConnection.connect(daemon.socketPath)
            #expect(try await first.echo(streamID: 1, data: [1]) == [1])
            // The harness's readiness probe may still count as open for a moment: wait until only `first` does.
            var id: UInt32 = 3
            try await poll("connections_open to drop to 1") { () async throws -> Bool? in
                try await first.send(Wire.request(
                    streamID: id, service: "coop.v1.Diagnostics", method: "GetServerInfo", payload: []))
                let answer = try await first.readAnswer()
                id += 2
                let info = try Coop_V1_ServerInfo(serializedBytes: answer.payload)
                return info.connectionsOpen == 1 ? true : nil
            }
            let second = try RawConnection.connect(daemon.socketPath)
            #expect(try await second.echo(streamID: 1, data: [2]) == [2])

            let third = try RawConnection.connect(daemon.socketPath)
            try? await third.send(Wire.echo(streamID: 1, data: [3]))
            let frames = try await third.readUntilClosed(timeout: .seconds(10))
            #expect(frames.isEmpty, "the connection over the limit got \(frames)")

            #expect(try await first.echo(streamID: id, data: [4]) == [4])
            #expect(try await second.echo(streamID: 3, data: [5]) == [5])
            try await daemon.waitForStderr(containing: "connection refused: at the connection limit limit=2")
        }
    }

    @Test func clientThatNeverReadsDoesNotDelayAnotherClient() async throws {
        // The stalled client must outlast the other's calls however slow the machine (TSan, load): not a test of
        // the stall timeout (HostileClientTests is).
        try await withDaemon(arguments: ["--output-stall-timeout", "600"]) { daemon in
            let stalled = try RawConnection.connect(daemon.socketPath)
            let data = [UInt8](repeating: 0x33, count: 256 << 10)
            let written = try await stalled.writeUntilStalled(stallFor: .milliseconds(500)) { i in
                Wire.echo(streamID: UInt32(2 * i + 1), data: data)
            }
            #expect(written > data.count, "only \(written) bytes written before the stall")

            // Were the stalled connection to hold up the daemon, these would wait until their deadline.
            try await withClient(daemon.socketPath) { client in
                for i in 0..<20 {
                    let reply = try await client.echo(Data("call \(i)".utf8), options: CallOptions(timeout: .seconds(20)))
                    #expect(reply == Data("call \(i)".utf8))
                }
            }
            // The stalled client is still connected and gets its answers once it reads.
            let answer = try await stalled.readAnswer()
            #expect(answer.streamID == 1)
            #expect(answer.code == 0, "\(answer)")
        }
    }
}
