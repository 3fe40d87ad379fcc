import Testing

/// Hand-written ttrpc frames against a running coopd: every protocol error is answered on the
/// offending stream with the status protocol.md gives, and the connection (and the daemon) carry on.
@Suite struct WireProtocolTests {
    /// One frame that coopd must answer with an error status on `streamID`.
    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var streamID: UInt32
        var code: Int32
        var message: String
        var testDescription: String { name }
    }

    static let errorCases: [ErrorCase] = [
        ErrorCase(
            name: "even stream id", bytes: Wire.echo(streamID: 2, data: Array("x".utf8)),
            streamID: 2, code: 3, message: "StreamID must be odd for client initiated streams"),
        ErrorCase(
            name: "unknown service",
            bytes: Wire.request(streamID: 1, service: "coop.v1.Nope", method: "Echo", payload: Wire.echoPayload([1])),
            streamID: 1, code: 12, message: "service coop.v1.Nope"),
        ErrorCase(
            name: "unknown method",
            bytes: Wire.request(streamID: 1, service: "coop.v1.Diagnostics", method: "Nope", payload: []),
            streamID: 1, code: 12, message: "method Nope"),
        ErrorCase(
            name: "request envelope that does not decode",
            bytes: Wire.frame(streamID: 1, type: Wire.request, payload: [0x0a, 0x05, 0x61]),  // service: 5 bytes promised, 1 sent
            streamID: 1, code: 3, message: "request envelope does not decode: truncated service"),
        ErrorCase(
            name: "Echo payload that does not decode",
            bytes: Wire.request(streamID: 1, service: "coop.v1.Diagnostics", method: "Echo", payload: [0x0a, 0x05, 0x01]),
            streamID: 1, code: 3, message: "payload does not decode as coop.v1.EchoRequest"),
        ErrorCase(
            name: "Data frame on a stream never opened",
            bytes: Wire.frame(streamID: 5, type: Wire.data, payload: Wire.echoPayload([1])),
            streamID: 5, code: 3, message: "StreamID is no longer active"),
    ]

    @Test(arguments: errorCases)
    func protocolErrorIsAnsweredOnItsStreamAndTheConnectionStaysOpen(_ errorCase: ErrorCase) async throws {
        try await withDaemon { daemon in
            let connection = try RawConnection.connect(daemon.socketPath)
            try await connection.send(errorCase.bytes)
            let answer = try await connection.readAnswer()
            #expect(answer == Answer(streamID: errorCase.streamID, code: errorCase.code, message: errorCase.message, payload: []))
            // Same connection, next stream: answered normally.
            #expect(try await connection.echo(streamID: 7, data: Array("after".utf8)) == Array("after".utf8))
            try await expectAnotherConnectionIsAnswered(daemon)
        }
    }

    /// Echo's answer is the canonical encoding of what was asked, whatever form the request took.
    @Test func echoAnswersEveryFormOfARequestWithTheCanonicalAnswer() async throws {
        let cases: [(request: [UInt8], answer: [UInt8])] = [
            ([0x0A, 0x03, 0x61, 0x62, 0x63], [0x0A, 0x03, 0x61, 0x62, 0x63]),
            ([], []),
            ([0x0A, 0x00], []),
            ([0x0A, 0x83, 0x00, 0x61, 0x62, 0x63], [0x0A, 0x03, 0x61, 0x62, 0x63]),
            ([0x0A, 0x01, 0x78, 0x10, 0x05], [0x0A, 0x01, 0x78]),
            ([0x0A, 0x01, 0x78, 0x0A, 0x01, 0x79], [0x0A, 0x01, 0x79]),
        ]
        try await withDaemon { daemon in
            let connection = try RawConnection.connect(daemon.socketPath)
            for (i, c) in cases.enumerated() {
                let id = UInt32(2 * i + 1)
                try await connection.send(
                    Wire.request(streamID: id, service: "coop.v1.Diagnostics", method: "Echo", payload: c.request))
                #expect(try await connection.readAnswer() == Answer(streamID: id, code: 0, message: "", payload: c.answer))
            }
        }
    }

    @Test func reusedOrDecreasingStreamIDIsInvalidArgument() async throws {
        try await withDaemon { daemon in
            let connection = try RawConnection.connect(daemon.socketPath)
            #expect(try await connection.echo(streamID: 5, data: [1]) == [1])
            try await connection.send(Wire.echo(streamID: 5, data: [2]))
            #expect(try await connection.readAnswer()
                == Answer(streamID: 5, code: 3, message: "StreamID cannot be re-used and must increment", payload: []))
            try await connection.send(Wire.echo(streamID: 3, data: [3]))
            #expect(try await connection.readAnswer()
                == Answer(streamID: 3, code: 3, message: "StreamID cannot be re-used and must increment", payload: []))
            #expect(try await connection.echo(streamID: 7, data: [4]) == [4])
            try await expectAnotherConnectionIsAnswered(daemon)
        }
    }

    @Test func dataFrameOnAFinishedStreamIsInvalidArgument() async throws {
        try await withDaemon { daemon in
            let connection = try RawConnection.connect(daemon.socketPath)
            #expect(try await connection.echo(streamID: 1, data: [1]) == [1])
            try await connection.send(Wire.frame(streamID: 1, type: Wire.data, payload: Wire.echoPayload([2])))
            #expect(try await connection.readAnswer()
                == Answer(streamID: 1, code: 3, message: "StreamID is no longer active", payload: []))
            #expect(try await connection.echo(streamID: 3, data: [3]) == [3])
        }
    }

    @Test func oversizedFrameIsSkippedAndAnsweredWithResourceExhausted() async throws {
        try await withDaemon { daemon in
            let connection = try RawConnection.connect(daemon.socketPath)
            let length = (4 << 20) + 1
            let oversized = Wire.frame(
                streamID: 1, type: Wire.request, payload: [UInt8](repeating: 0x0a, count: length),
                declaredLength: UInt32(length))
            try await connection.send(oversized + Wire.echo(streamID: 3, data: Array("still here".utf8)))
            let first = try await connection.readAnswer()
            #expect(first == Answer(
                streamID: 1, code: 8, message: "message length 4194305 exceeds maximum message size of 4194304",
                payload: []))
            let second = try await connection.readAnswer()
            #expect(second.streamID == 3)
            #expect(second.code == 0, "\(second)")
            #expect(try second.echoData() == Array("still here".utf8))
            try await expectAnotherConnectionIsAnswered(daemon)
        }
    }

    @Test func frameOfExactlyTheMaximumSizeIsServed() async throws {
        try await withDaemon { daemon in
            let connection = try RawConnection.connect(daemon.socketPath)
            // Envelope overhead: service (2+19), method (2+4), payload tag+length (1+4), data tag+length (1+4).
            let data = [UInt8](repeating: 0x5a, count: (4 << 20) - 37)
            let frame = Wire.echo(streamID: 1, data: data)
            #expect(frame.count - 10 == 4 << 20)
            try await connection.send(frame)
            let answer = try await connection.readAnswer()
            #expect(answer.code == 0, "\(answer)")
            #expect(try answer.echoData() == data)
        }
    }

    @Test func unknownMessageTypeIsIgnoredAndTheNextCallAnswered() async throws {
        try await withDaemon { daemon in
            let connection = try RawConnection.connect(daemon.socketPath)
            try await connection.send(
                Wire.frame(streamID: 1, type: 7, flags: 0x05, payload: [1, 2, 3])
                    + Wire.echo(streamID: 3, data: Array("next".utf8)))
            // Frames are handled in order: an answer to the type-7 frame would come first.
            let answer = try await connection.readAnswer()
            #expect(answer.streamID == 3)
            #expect(answer.code == 0, "\(answer)")
            #expect(try answer.echoData() == Array("next".utf8))
            try await expectAnotherConnectionIsAnswered(daemon)
        }
    }

    @Test func truncatedFrameThenDisconnectLeavesTheDaemonServing() async throws {
        try await withDaemon { daemon in
            let connection = try RawConnection.connect(daemon.socketPath)
            try await connection.send(Wire.frame(
                streamID: 1, type: Wire.request, payload: [UInt8](repeating: 1, count: 10), declaredLength: 100))
            connection.close()
            try await expectAnotherConnectionIsAnswered(daemon)
            #expect(daemon.process.isRunning)
        }
    }

    @Test func pipelinedCallsOnOneConnectionAreEachAnsweredOnTheirOwnStream() async throws {
        try await withDaemon { daemon in
            let connection = try RawConnection.connect(daemon.socketPath)
            let ids = (0..<200).map { UInt32(2 * $0 + 1) }
            try await connection.send(ids.flatMap { Wire.echo(streamID: $0, data: Array("call \($0)".utf8)) })
            var seen: Set<UInt32> = []
            for _ in ids {
                let answer = try await connection.readAnswer()
                #expect(answer.code == 0, "\(answer)")
                #expect(try answer.echoData() == Array("call \(answer.streamID)".utf8))
                seen.insert(answer.streamID)
            }
            #expect(seen == Set(ids))
        }
    }
}

/// A fresh connection to `daemon` gets an Echo answered.
func expectAnotherConnectionIsAnswered(
    _ daemon: DaemonProcess, sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    let other = try RawConnection.connect(daemon.socketPath)
    defer { other.close() }
    let data = Array("another connection".utf8)
    #expect(try await other.echo(streamID: 1, data: data) == data, sourceLocation: sourceLocation)
}
