import CoopProto
import CoopTestSupport
import CoopWire
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import SwiftProtobuf
import Testing

@testable import CoopServer

/// The connection handler through an `EmbeddedChannel`: no socket, no threads; time moves only when the test
/// says. (The socket tests in TTRPCServerTests cover the same behaviour end to end.)
@Suite struct ConnectionHandlerTests {
    struct Connection {
        let channel: EmbeddedChannel
        let loop: EmbeddedEventLoop
        var decoder = FrameDecoder()
        /// Writes the handler made that `answers()` read last time.
        var writes = 0

        /// Sends request frames (one write) and runs what they started.
        func send(_ frames: [(UInt32, String, String, String)]) throws {
            var bytes = ByteBuffer()
            for (id, service, method, data) in frames {
                let payload = try Coop_V1_EchoRequest.with { $0.data = Data(data.utf8) }.serializedBuffer()
                bytes.writeRequestFrame(
                    streamID: id, envelope: RequestEnvelope(service: service, method: method, payload: payload))
            }
            try channel.writeInbound(bytes)
            loop.run()
        }

        /// Every answer written so far: stream id, and the echoed text or the error.
        mutating func answers() throws -> [(UInt32, Result<String, RPCError>)] {
            var all = ByteBuffer()
            writes = 0
            while var chunk = try channel.readOutbound(as: ByteBuffer.self) {
                all.writeBuffer(&chunk)
                writes += 1
            }
            var answers: [(UInt32, Result<String, RPCError>)] = []
            while let next = try decoder.decode(buffer: &all) {
                guard case .frame(let frame) = next else { continue }
                let envelope = try ResponseEnvelope(decoding: frame.payload)
                if let error = envelope.error {
                    answers.append((frame.streamID, .failure(error)))
                } else {
                    let reply = try Coop_V1_EchoResponse(buffer: envelope.payload)
                    answers.append((frame.streamID, .success(String(decoding: reply.data, as: UTF8.self))))
                }
            }
            return answers
        }
    }

    static func connect(
        draining: Bool = false, more: [ServiceDefinition] = [], _ configure: (inout ServerLimits) -> Void = { _ in }
    ) throws -> Connection {
        var service = ServiceDefinition(name: "test.v1.Test")
        try service.addInline("Echo") { (request: Coop_V1_EchoRequest, _) in
            Coop_V1_EchoResponse.with { $0.data = request.data }
        }
        var limits = ServerLimits()
        limits.idleTimeout = .seconds(60)
        configure(&limits)
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(loop: loop)
        let router = try Router([service] + more)
        let handler = ServerConnectionHandler(
            router: router, stats: ServerStats(methods: router.methods), limits: limits,
            peer: PeerCredentials(pid: 1, uid: 1000, gid: 1000), logger: Logger(label: "test"),
            isDraining: { draining })
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(unixDomainSocketPath: "/coopd-test.sock")).wait()
        return Connection(channel: channel, loop: loop)
    }

    @Test func inlineCallsAreAnsweredInOneWritePerReadAndRefusalsOnTheirOwnStream() throws {
        var connection = try Self.connect()
        try connection.send([
            (1, "test.v1.Test", "Echo", "one"), (3, "test.v1.Test", "Echo", "two"), (3, "test.v1.Test", "Echo", "again"),
            (5, "test.v1.Test", "Nope", ""), (7, "other.Service", "Echo", ""),
        ])
        let answers = try connection.answers()
        #expect(connection.writes == 1)  // one read batch, one write
        #expect(answers.map(\.0) == [1, 3, 3, 5, 7])
        #expect(try answers[0].1.get() == "one" && answers[1].1.get() == "two")
        #expect(answers.dropFirst(2).map { $0.1.failureCode } == [.invalidArgument, .unimplemented, .unimplemented])
    }

    @Test func eachCallIsRoutedByItsOwnNamesAlsoWhenTheyDifferFromTheLastCallsOnlyInTheirBytes() throws {
        // A connection remembers the route its last call found and compares names byte for byte: names of the
        // same length, or one name the same and the other not, must still reach their own methods.
        func service(_ name: String, _ methods: [String: String]) throws -> ServiceDefinition {
            var service = ServiceDefinition(name: name)
            for (method, tag) in methods {
                try service.addInline(method) { (request: Coop_V1_EchoRequest, _) in
                    Coop_V1_EchoResponse.with { $0.data = Data(tag.utf8) + request.data }
                }
            }
            return service
        }
        var connection = try Self.connect(more: [
            try service("test.v1.Tset", ["Echo": "tset-echo:", "Ohce": "tset-ohce:"]),
            try service("test.v1.Test2", ["Echo": "test2-echo:"]),
        ])
        let calls: [(String, String, String)] = [
            ("test.v1.Test", "Echo", "a"), ("test.v1.Tset", "Echo", "tset-echo:b"), ("test.v1.Tset", "Ohce", "tset-ohce:c"),
            ("test.v1.Tset", "Ohce", "tset-ohce:d"), ("test.v1.Test2", "Echo", "test2-echo:e"), ("test.v1.Test", "Echo", "f"),
            ("test.v1.Test", "Ohce", "unimplemented"), ("test.v1.Test", "Echo", "g"),
        ]
        for (i, (service, method, expected)) in calls.enumerated() {
            let streamID = UInt32(2 * i + 1)
            let data = expected.split(separator: ":").last.map(String.init) ?? ""
            try connection.send([(streamID, service, method, data)])
            let answer = try #require(try connection.answers().first)
            #expect(answer.0 == streamID)
            if expected == "unimplemented" {
                #expect(answer.1.failureCode == .unimplemented)
            } else {
                #expect(try answer.1.get() == expected, "\(service)/\(method)")
            }
        }
        // Names that are not UTF-8 are refused as such, also right after a call that found its route.
        for (streamID, envelope, reason) in [
            (UInt32(101), [0x0A, 0x02, 0xC3, 0x28, 0x12, 0x04] + Array("Echo".utf8), "service is not valid UTF-8"),
            (105, [0x0A, 0x0C] + Array("test.v1.Test".utf8) + [0x12, 0x04, 0x45, 0x63, 0x68, 0xFF], "method is not valid UTF-8"),
        ] {
            try connection.send([(streamID - 2, "test.v1.Test", "Echo", "h")])
            var bytes = ByteBuffer()
            bytes.writeFrameHeader(length: envelope.count, streamID: streamID, type: .request, flags: [])
            bytes.writeBytes(envelope)
            try connection.channel.writeInbound(bytes)
            connection.loop.run()
            let answers = try connection.answers()
            #expect(try answers.map(\.0) == [streamID - 2, streamID] && answers[0].1.get() == "h")
            #expect(answers.last?.1.failure == RPCError(.invalidArgument, "request envelope does not decode: \(reason)"))
        }
    }

    /// A batch's answers go out in the buffer the batch before last used, once the channel is done with it: answers
    /// the channel still holds (not yet taken by the client) are never written over by later batches.
    @Test func answersStillQueuedAreNotOverwrittenByLaterBatches() throws {
        var connection = try Self.connect()
        for batch in 0..<4 {
            try connection.send((0..<3).map { i in
                (UInt32(6 * batch + 2 * i + 1), "test.v1.Test", "Echo", "batch \(batch) call \(i)")
            })
        }
        let answers = try connection.answers()
        #expect(connection.writes == 4)
        let texts = answers.compactMap { try? $0.1.get() }
        #expect(texts == (0..<4).flatMap { batch in (0..<3).map { "batch \(batch) call \($0)" } })
    }

    /// Answers queued behind a client that does not read hold about what they take, not the room a large batch
    /// before them needed: a buffer grown by large answers is not kept, and one still queued is replaced by one sized
    /// for the batch.
    @Test func answersQueuedBehindAClientThatDoesNotReadHoldLittleMemoryEach() throws {
        let connection = try Self.connect()
        // A batch of 40 answers of 4 KiB (more than the 128 KiB kept)...
        try connection.send((0..<40).map { (UInt32(2 * $0 + 1), "test.v1.Test", "Echo", String(repeating: "x", count: 4096)) })
        // ...then small ones, a batch at a time, none of it read by the client yet.
        for i in 0..<5 {
            try connection.send([(UInt32(101 + 2 * i), "test.v1.Test", "Echo", "small")])
        }
        var buffers: [ByteBuffer] = []
        while let buffer = try connection.channel.readOutbound(as: ByteBuffer.self) { buffers.append(buffer) }
        #expect(buffers.count == 6)
        // Each batch gets room for one like the batch before it, at most the kept 128 KiB: the first small one
        // after the large batch, then room for small ones.
        #expect(buffers[1].capacity <= 128 << 10)
        #expect(buffers.dropFirst(2).allSatisfy { $0.capacity <= 4096 }, "capacities \(buffers.map(\.capacity))")
    }

    /// A connection without calls for a second gives back its batch-sized buffers: the next answer after the pause
    /// comes in a small buffer, where one right after a large batch gets room for another like it.
    @Test func anIdleConnectionGivesBackItsAnswerBuffers() throws {
        var connection = try Self.connect()
        let large = String(repeating: "x", count: 4096)
        func batchThenOneMore(pause: TimeAmount, from id: UInt32) throws -> Int {
            try connection.send((0..<20).map { (id + UInt32(2 * $0), "test.v1.Test", "Echo", large) })
            _ = try connection.answers()  // the client takes them: the buffer is the handler's alone again
            connection.loop.advanceTime(by: pause)
            try connection.send([(id + 40, "test.v1.Test", "Echo", "small")])
            let buffer = try #require(try connection.channel.readOutbound(as: ByteBuffer.self))
            return buffer.capacity
        }
        #expect(try batchThenOneMore(pause: .zero, from: 1) >= 64 << 10)
        #expect(try batchThenOneMore(pause: .seconds(5), from: 101) <= 1024)
    }

    /// Requests cut anywhere between reads (every byte its own read, every cut in two, random pieces) are each
    /// answered once, in order, with their own data; one over the frame limit is refused on its own stream and
    /// the next is answered. (A read completes only the frame the last one left unfinished; the frames after it
    /// are decoded in place.)
    @Test func requestsCutAnywhereBetweenReadsAreEachAnsweredOnceInOrder() throws {
        let texts = ["a", "", String(repeating: "b", count: 300), "c", String(repeating: "d", count: 600), "e"]
        var stream = ByteBuffer()
        for (i, text) in texts.enumerated() {
            let payload = try Coop_V1_EchoRequest.with { $0.data = Data(text.utf8) }.serializedBuffer()
            stream.writeRequestFrame(
                streamID: UInt32(2 * i + 1), envelope: RequestEnvelope(service: "test.v1.Test", method: "Echo", payload: payload))
        }
        let bytes = Array(buffer: stream)
        // The 600-byte one is over the limit.
        let expected: [String] = texts.map { $0.count == 600 ? "refused" : $0 }

        func run(_ pieces: [Range<Int>]) throws -> [String] {
            var connection = try Self.connect { $0.maxFrameSize = 400 }
            for piece in pieces {
                try connection.channel.writeInbound(ByteBuffer(bytes: bytes[piece]))
                connection.loop.run()
            }
            let answers = try connection.answers()
            let streams: [UInt32] = answers.map(\.0)
            let asked: [UInt32] = (0..<texts.count).map { UInt32(2 * $0 + 1) }
            #expect(streams == asked)
            return answers.map { answer -> String in
                if case .success(let text) = answer.1 { return text }
                return answer.1.failureCode == .resourceExhausted ? "refused" : "\(answer.1)"
            }
        }

        #expect(try run((0..<bytes.count).map { $0..<$0 + 1 }) == expected)
        for cut in 1..<bytes.count {
            #expect(try run([0..<cut, cut..<bytes.count]) == expected, "cut at \(cut)")
        }
        var generator = SplitMix64(seed: 7)
        for _ in 0..<50 {
            var pieces: [Range<Int>] = []
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + Int.random(in: 1...700, using: &generator))
                pieces.append(start..<end)
                start = end
            }
            #expect(try run(pieces) == expected)
        }
    }

    @Test func aDrainingServerRefusesNewCallsWithUnavailable() throws {
        var connection = try Self.connect(draining: true)
        try connection.send([(1, "test.v1.Test", "Echo", "x")])
        #expect(try connection.answers().map { $0.1.failureCode } == [.unavailable])
    }

    @Test func aClientThatStopsReadingIsNotReadFromAndIsClosedPastTheStallTimeout() throws {
        var connection = try Self.connect { $0.outputStallTimeout = .seconds(30) }
        try connection.send([(1, "test.v1.Test", "Echo", "a")])
        #expect(try connection.answers().map(\.0) == [1])
        // The client stops taking its answers: requests that arrive wait undecoded.
        connection.channel.isWritable = false
        connection.channel.pipeline.fireChannelWritabilityChanged()
        try connection.send([(3, "test.v1.Test", "Echo", "b"), (5, "test.v1.Test", "Echo", "c")])
        #expect(try connection.answers().isEmpty)
        connection.loop.advanceTime(by: .seconds(20))
        #expect(connection.channel.isActive)
        // It reads again in time: the waiting requests are answered.
        connection.channel.isWritable = true
        connection.channel.pipeline.fireChannelWritabilityChanged()
        #expect(try connection.answers().map(\.0) == [3, 5])
        // It stops again, for good: closed once the stall lasts past the timeout.
        connection.channel.isWritable = false
        connection.channel.pipeline.fireChannelWritabilityChanged()
        connection.loop.advanceTime(by: .seconds(29))
        #expect(connection.channel.isActive)
        connection.loop.advanceTime(by: .seconds(10))
        #expect(!connection.channel.isActive)
    }

    @Test func aFrameLeftHalfSentClosesTheConnectionPastThePartialFrameTimeout() throws {
        let connection = try Self.connect { $0.partialFrameTimeout = .seconds(10) }
        var half = ByteBuffer()
        half.writeInteger(UInt32(100))  // a header announcing 100 bytes, and nothing more
        try connection.channel.writeInbound(half)
        connection.loop.advanceTime(by: .seconds(9))
        #expect(connection.channel.isActive)
        connection.loop.advanceTime(by: .seconds(5))
        #expect(!connection.channel.isActive)
    }

    /// The same after a whole request in the same read: the half frame's timer starts on the loop's clock, as the
    /// answered call's end does.
    @Test func aFrameLeftHalfSentAfterAnAnsweredRequestClosesTheConnectionPastThePartialFrameTimeout() throws {
        var connection = try Self.connect { $0.partialFrameTimeout = .seconds(10) }
        var bytes = ByteBuffer()
        let payload = try Coop_V1_EchoRequest.with { $0.data = Data("whole".utf8) }.serializedBuffer()
        bytes.writeRequestFrame(
            streamID: 1, envelope: RequestEnvelope(service: "test.v1.Test", method: "Echo", payload: payload))
        bytes.writeInteger(UInt32(100))  // then a header announcing 100 bytes, and nothing more
        try connection.channel.writeInbound(bytes)
        connection.loop.run()
        #expect(try connection.answers().map { try $0.1.get() } == ["whole"])
        connection.loop.advanceTime(by: .seconds(9))
        #expect(connection.channel.isActive)
        connection.loop.advanceTime(by: .seconds(5))
        #expect(!connection.channel.isActive)
    }

    @Test func anIdleConnectionIsClosedAndABusyOneIsNot() throws {
        var connection = try Self.connect { $0.idleTimeout = .seconds(60) }
        connection.loop.advanceTime(by: .seconds(40))
        try connection.send([(1, "test.v1.Test", "Echo", "x")])
        _ = try connection.answers()
        connection.loop.advanceTime(by: .seconds(40))
        #expect(connection.channel.isActive)
        connection.loop.advanceTime(by: .seconds(30))
        #expect(!connection.channel.isActive)
    }

    @Test func drainingWithNoCallRunningClosesTheConnection() throws {
        let connection = try Self.connect()
        connection.channel.pipeline.fireUserInboundEventTriggered(DrainConnectionEvent())
        connection.loop.run()
        #expect(!connection.channel.isActive)
    }
}

extension Result where Failure == RPCError {
    fileprivate var failureCode: StatusCode? { failure?.code }

    fileprivate var failure: RPCError? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

