import CoopWire
import NIOCore
import NIOTestUtils
import Testing

/// Drives a `FrameDecoder` the way the server's connection handler does: bytes the decoder leaves
/// unconsumed are kept and the next read is appended to them.
private struct DecoderDriver {
    var decoder: FrameDecoder
    /// Bytes held between reads: the part of a frame that has arrived but not yet been decoded.
    private(set) var pending = ByteBuffer()

    init(maxPayloadSize: Int = FrameLimits.maxPayloadSize) {
        self.decoder = FrameDecoder(maxPayloadSize: maxPayloadSize)
    }

    mutating func feed(_ bytes: [UInt8]) throws -> [InboundFrame] {
        try self.feed(ByteBuffer(bytes: bytes))
    }

    mutating func feed(_ incoming: ByteBuffer) throws -> [InboundFrame] {
        var buffer = incoming
        if self.pending.readableBytes > 0 {
            buffer = self.pending
            var more = incoming
            buffer.writeBuffer(&more)
        }
        var out: [InboundFrame] = []
        while let next = try self.decoder.decode(buffer: &buffer) {
            out.append(next)
        }
        self.pending = buffer
        return out
    }

    var isMidFrame: Bool { self.decoder.isMidFrame(buffered: self.pending.readableBytes) }
}

private func frame(_ streamID: UInt32, _ type: MessageType, _ flags: FrameFlags = [], _ payload: [UInt8]) -> InboundFrame {
    .frame(Frame(streamID: streamID, type: type, flags: flags, payload: ByteBuffer(bytes: payload)))
}

/// A zero-length Request header on stream 1: what a skipped payload is filled with in these tests,
/// so that reading any of it as a header would produce a frame nobody expects.
private let decoyHeader = frameHeader(length: 0, streamID: 1, type: 0x01)

private func decoyBytes(_ count: Int) -> [UInt8] {
    (0..<count).map { decoyHeader[$0 % decoyHeader.count] }
}

@Suite struct FrameDecoderTests {
    @Test func verifierDecodesFramesOfEveryTypeFlagAndSize() throws {
        let pairs: [(ByteBuffer, [InboundFrame])] = [
            // Unary request.
            (ByteBuffer(bytes: frameBytes(streamID: 1, type: 0x01, payload: patternBytes(23))),
             [frame(1, .request, [], patternBytes(23))]),
            // Streaming request, zero-length payload: still a frame.
            (ByteBuffer(bytes: frameBytes(streamID: 3, type: 0x01, flags: 0x02, payload: [])),
             [frame(3, .request, .remoteOpen, [])]),
            (ByteBuffer(bytes: frameBytes(streamID: 5, type: 0x01, flags: 0x01, payload: patternBytes(1))),
             [frame(5, .request, .remoteClosed, patternBytes(1))]),
            // A payload above 255 bytes exercises the upper bytes of the length.
            (ByteBuffer(bytes: frameBytes(streamID: 7, type: 0x02, payload: patternBytes(300, seed: 7))),
             [frame(7, .response, [], patternBytes(300, seed: 7))]),
            // Data closing a stream: remote closed + no data, empty.
            (ByteBuffer(bytes: frameBytes(streamID: 9, type: 0x03, flags: 0x05, payload: [])),
             [frame(9, .data, [.remoteClosed, .noData], [])]),
            // A zero-length Data frame without "no data" is an empty message.
            (ByteBuffer(bytes: frameBytes(streamID: 0x7FFF_FFFF, type: 0x03, payload: [])),
             [frame(0x7FFF_FFFF, .data, [], [])]),
            // Unknown type and flag bits come through as they are; ignoring them is the server's job.
            (ByteBuffer(bytes: frameBytes(streamID: 0xFFFF_FFFF, type: 0x7E, flags: 0xFF, payload: patternBytes(4))),
             [frame(0xFFFF_FFFF, MessageType(rawValue: 0x7E), FrameFlags(rawValue: 0xFF), patternBytes(4))]),
            // Two frames in one input.
            (ByteBuffer(
                bytes: frameBytes(streamID: 11, type: 0x03, payload: patternBytes(2))
                    + frameBytes(streamID: 11, type: 0x03, flags: 0x05, payload: [])),
             [frame(11, .data, [], patternBytes(2)), frame(11, .data, [.remoteClosed, .noData], [])]),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { FrameDecoder() }
    }

    @Test func verifierSkipsOversizedFramesAndDecodesWhatFollows() throws {
        let max = 16
        let pairs: [(ByteBuffer, [InboundFrame])] = [
            // maxPayloadSize + 1, its payload made of decoy headers.
            (ByteBuffer(bytes: frameHeader(length: 17, streamID: 21, type: 0x01) + decoyBytes(17)),
             [.oversized(streamID: 21, type: .request, length: 17)]),
            // Far over the limit, on a Data frame.
            (ByteBuffer(bytes: frameHeader(length: 250, streamID: 23, type: 0x03, flags: 0x01) + decoyBytes(250)),
             [.oversized(streamID: 23, type: .data, length: 250)]),
            // Exactly maxPayloadSize is accepted.
            (ByteBuffer(bytes: frameBytes(streamID: 25, type: 0x01, payload: patternBytes(max))),
             [frame(25, .request, [], patternBytes(max))]),
            // An oversized frame immediately followed by a valid one.
            (ByteBuffer(
                bytes: frameHeader(length: 20, streamID: 27, type: 0x01) + decoyBytes(20)
                    + frameBytes(streamID: 29, type: 0x01, payload: patternBytes(5))),
             [.oversized(streamID: 27, type: .request, length: 20), frame(29, .request, [], patternBytes(5))]),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { FrameDecoder(maxPayloadSize: max) }
    }

    @Test func headerFieldsAreReadBigEndian() throws {
        var decoder = FrameDecoder()
        var buffer = ByteBuffer(bytes: [0, 0, 0, 3, 0x01, 0x02, 0x03, 0x04, 0x03, 0x05, 0x61, 0x62, 0x63])
        let decoded = try decoder.decode(buffer: &buffer)
        #expect(decoded == frame(0x0102_0304, .data, [.remoteClosed, .noData], [0x61, 0x62, 0x63]))
        #expect(buffer.readableBytes == 0)
    }

    @Test func frameIsNotProducedUntilItsLastByteArrives() throws {
        var driver = DecoderDriver()
        let bytes = frameBytes(streamID: 1, type: 0x01, payload: patternBytes(12))
        for byte in bytes.dropLast() {
            #expect(try driver.feed([byte]) == [])
            #expect(driver.isMidFrame)
        }
        #expect(try driver.feed([bytes.last!]) == [frame(1, .request, [], patternBytes(12))])
        #expect(driver.pending.readableBytes == 0)
        #expect(!driver.isMidFrame)
    }

    @Test func zeroLengthFrameIsProducedAsSoonAsItsHeaderArrives() throws {
        var driver = DecoderDriver()
        let header = frameHeader(length: 0, streamID: 3, type: 0x03, flags: 0x05)
        #expect(try driver.feed(Array(header.prefix(9))) == [])
        #expect(try driver.feed([header[9]]) == [frame(3, .data, [.remoteClosed, .noData], [])])
        #expect(!driver.isMidFrame)
    }

    @Test func oneByteOverACustomLimitIsOversizedAndExactlyTheLimitIsNot() throws {
        var decoder = FrameDecoder(maxPayloadSize: 16)
        var atLimit = ByteBuffer(bytes: frameBytes(streamID: 1, type: 0x01, payload: patternBytes(16)))
        #expect(try decoder.decode(buffer: &atLimit) == frame(1, .request, [], patternBytes(16)))

        var overLimit = ByteBuffer(bytes: frameBytes(streamID: 3, type: 0x01, payload: patternBytes(17)))
        #expect(try decoder.decode(buffer: &overLimit) == .oversized(streamID: 3, type: .request, length: 17))
        #expect(overLimit.readableBytes == 0)
        #expect(decoder.bytesToSkip == 0)
    }

    @Test func oversizedHeaderIsReportedBeforeAnyPayloadArrives() throws {
        var driver = DecoderDriver(maxPayloadSize: 16)
        let header = frameHeader(length: 17, streamID: 5, type: 0x03, flags: 0x01)
        // An incomplete header is held: nothing can be decided yet.
        #expect(try driver.feed(Array(header.prefix(6))) == [])
        #expect(driver.pending.readableBytes == 6)
        #expect(try driver.feed(Array(header.suffix(4))) == [.oversized(streamID: 5, type: .data, length: 17)])
        // The header is consumed and nothing is held while the payload is awaited.
        #expect(driver.pending.readableBytes == 0)
        #expect(driver.decoder.bytesToSkip == 17)
        #expect(driver.isMidFrame)
    }

    @Test func skippedPayloadArrivingInPiecesIsNeverParsedAsAHeader() throws {
        var driver = DecoderDriver(maxPayloadSize: 16)
        #expect(try driver.feed(frameHeader(length: 43, streamID: 7, type: 0x01))
            == [.oversized(streamID: 7, type: .request, length: 43)])
        var left = 43
        for (index, byte) in decoyBytes(43).enumerated() {
            #expect(try driver.feed([byte]) == [], "decoy byte \(index) produced output")
            left -= 1
            #expect(driver.decoder.bytesToSkip == left)
            #expect(driver.pending.readableBytes == 0)
            #expect(driver.isMidFrame == (left > 0))
        }
        #expect(try driver.feed(frameBytes(streamID: 9, type: 0x01, payload: patternBytes(3)))
            == [frame(9, .request, [], patternBytes(3))])
        #expect(!driver.isMidFrame)
    }

    @Test func skipEndingInsideAReadLeavesTheRestToBeDecoded() throws {
        var driver = DecoderDriver(maxPayloadSize: 16)
        #expect(try driver.feed(frameHeader(length: 30, streamID: 7, type: 0x01) + decoyBytes(10))
            == [.oversized(streamID: 7, type: .request, length: 30)])
        #expect(driver.decoder.bytesToSkip == 20)
        // The last 20 skipped bytes, a whole frame and the start of another, in one read.
        let next = frameBytes(streamID: 9, type: 0x01, payload: patternBytes(4))
        let partial = Array(frameBytes(streamID: 11, type: 0x01, payload: patternBytes(8)).prefix(12))
        #expect(try driver.feed(decoyBytes(20) + next + partial) == [frame(9, .request, [], patternBytes(4))])
        #expect(driver.decoder.bytesToSkip == 0)
        #expect(driver.pending.readableBytes == 12)
        #expect(driver.isMidFrame)
    }

    @Test func frameDeclaringMaxUInt32LengthIsSkippedWithoutBufferingAndTheNextFrameDecodes() throws {
        var driver = DecoderDriver()
        let length = Int(UInt32.max)
        #expect(try driver.feed(frameHeader(length: UInt32.max, streamID: 13, type: 0x01))
            == [.oversized(streamID: 13, type: .request, length: length)])
        #expect(driver.decoder.bytesToSkip == length)
        #expect(driver.pending.readableBytes == 0)

        // All 4 GiB, in 1 MiB reads of decoy headers: each read is thrown away at once.
        let chunkSize = 1 << 20
        let chunk = ByteBuffer(bytes: decoyBytes(chunkSize))
        var left = length
        while left > chunkSize {
            let out = try driver.feed(chunk)
            left -= chunkSize
            // One report at most, rather than one per read.
            guard out.isEmpty, driver.decoder.bytesToSkip == left, driver.pending.readableBytes == 0, driver.isMidFrame
            else {
                Issue.record("after \(length - left) skipped bytes: output \(out), isMidFrame \(driver.isMidFrame), \(driver)")
                return
            }
        }
        // The tail of the skipped payload and a valid frame arrive together.
        let last = decoyBytes(left) + frameBytes(streamID: 15, type: 0x01, payload: patternBytes(9))
        #expect(try driver.feed(last) == [frame(15, .request, [], patternBytes(9))])
        #expect(driver.decoder.bytesToSkip == 0)
        #expect(!driver.isMidFrame)
    }

    @Test func frameOneByteOverTheRealLimitIsSkippedInPiecesAndTheNextFrameDecodes() throws {
        var driver = DecoderDriver()
        let length = FrameLimits.maxPayloadSize + 1
        #expect(length == 4_194_305)
        #expect(try driver.feed(frameHeader(length: UInt32(length), streamID: 17, type: 0x01))
            == [.oversized(streamID: 17, type: .request, length: length)])
        // Pieces of a size that does not divide the length, so the last one is short.
        let pieceSize = 65_537
        let piece = ByteBuffer(bytes: decoyBytes(pieceSize))
        var left = length
        while left > pieceSize {
            let out = try driver.feed(piece)
            left -= pieceSize
            guard out.isEmpty, driver.decoder.bytesToSkip == left, driver.pending.readableBytes == 0, driver.isMidFrame
            else {
                Issue.record("after \(length - left) skipped bytes: output \(out), isMidFrame \(driver.isMidFrame), \(driver)")
                return
            }
        }
        #expect(try driver.feed(decoyBytes(left)) == [])
        #expect(!driver.isMidFrame)
        #expect(try driver.feed(frameBytes(streamID: 19, type: 0x01, payload: [])) == [frame(19, .request, [], [])])
    }

    @Test func frameOfExactlyTheRealLimitIsAccepted() throws {
        var driver = DecoderDriver()
        let payload = patternBytes(FrameLimits.maxPayloadSize, seed: 3)
        #expect(payload.count == 4_194_304)
        let header = frameHeader(length: UInt32(payload.count), streamID: 21, type: 0x02)
        // At the limit the decoder waits for the payload instead of reporting it oversized.
        #expect(try driver.feed(header) == [])
        #expect(driver.pending.readableBytes == 10)
        #expect(driver.decoder.bytesToSkip == 0)
        #expect(try driver.feed(Array(payload.dropLast())) == [])
        #expect(driver.isMidFrame)
        #expect(try driver.feed([payload.last!]) == [frame(21, .response, [], payload)])
        #expect(!driver.isMidFrame)
    }

    @Test func isMidFrameIsTrueFromTheFirstByteOfAFrameUntilItsLast() {
        let decoder = FrameDecoder(maxPayloadSize: 16)
        #expect(!decoder.isMidFrame(buffered: 0))
        #expect(decoder.isMidFrame(buffered: 1))
        #expect(decoder.isMidFrame(buffered: 9))
        #expect(decoder.isMidFrame(buffered: 10))
    }

    @Test func decodeLastDropsATruncatedFrameAndStillDecodesAWholeOne() throws {
        var decoder = FrameDecoder()
        var truncated = ByteBuffer(bytes: Array(frameBytes(streamID: 1, type: 0x01, payload: patternBytes(8)).prefix(14)))
        #expect(try decoder.decodeLast(buffer: &truncated, seenEOF: true) == nil)

        var decoder2 = FrameDecoder()
        var whole = ByteBuffer(bytes: frameBytes(streamID: 1, type: 0x01, payload: patternBytes(8)))
        #expect(try decoder2.decodeLast(buffer: &whole, seenEOF: true) == frame(1, .request, [], patternBytes(8)))
    }

    @Test func decodedPayloadIsTheFramesBytesOnly() throws {
        var decoder = FrameDecoder()
        var buffer = ByteBuffer(
            bytes: frameBytes(streamID: 1, type: 0x01, payload: [0xAA, 0xBB])
                + frameBytes(streamID: 3, type: 0x01, payload: [0xCC]))
        guard case .frame(let first)? = try decoder.decode(buffer: &buffer) else {
            Issue.record("no first frame")
            return
        }
        #expect(readable(first.payload) == [0xAA, 0xBB])
        #expect(buffer.readableBytes == 11)
        guard case .frame(let second)? = try decoder.decode(buffer: &buffer) else {
            Issue.record("no second frame")
            return
        }
        #expect(second.streamID == 3)
        #expect(readable(second.payload) == [0xCC])
        #expect(try decoder.decode(buffer: &buffer) == nil)
    }

    /// The server completes a frame left unfinished by one read from the next read's first bytes only: at every
    /// cut of a stream (frames of several sizes, one oversized, a zero-length one), `bytesMissing` is exactly
    /// what reaches the end of the frame being cut, or of its header first; 0 at a boundary and inside a
    /// payload that is skipped.
    @Test func bytesMissingReachesTheEndOfTheFrameBeingCut() throws {
        let limit = 64
        let payloads = [patternBytes(5), [], patternBytes(64), patternBytes(100), patternBytes(1), patternBytes(30)]
        var stream: [UInt8] = []
        var starts: [Int] = []
        for (i, payload) in payloads.enumerated() {
            starts.append(stream.count)
            stream += frameBytes(streamID: UInt32(2 * i + 1), type: 0x01, payload: payload)
        }
        for cut in 0...stream.count {
            // The frame the cut falls in: the last one starting before it.
            let index = starts.lastIndex { $0 < cut }
            let expected: Int
            if let index {
                let start = starts[index]
                let end = start + 10 + payloads[index].count
                if cut - start < 10 {
                    expected = 10 - (cut - start)
                } else {
                    expected = payloads[index].count > limit || cut == end ? 0 : end - cut
                }
            } else {
                expected = 0
            }
            let decoder = FrameDecoder(maxPayloadSize: limit)
            // A buffer whose reader index is not at zero, as the server's are.
            var buffer = ByteBuffer(bytes: [0xEE, 0xEE] + stream.prefix(cut))
            buffer.moveReaderIndex(forwardBy: 2)
            #expect(decoder.bytesMissing(in: buffer) == expected, "cut at \(cut)")
        }
    }

    /// Bytes still to be skipped of an oversized frame come first: a buffer holding only those misses nothing.
    @Test func bytesMissingCountsFromTheEndOfASkip() throws {
        var decoder = FrameDecoder(maxPayloadSize: 8)
        var first = ByteBuffer(bytes: frameBytes(streamID: 1, type: 0x01, payload: patternBytes(20)).prefix(15))
        guard case .oversized? = try decoder.decode(buffer: &first) else {
            Issue.record("not reported oversized")
            return
        }
        #expect(decoder.bytesToSkip == 15)
        #expect(decoder.bytesMissing(in: ByteBuffer(bytes: decoyBytes(15))) == 0)
        // The skip, then half a header of the next frame.
        let next = frameBytes(streamID: 3, type: 0x01, payload: patternBytes(4))
        #expect(decoder.bytesMissing(in: ByteBuffer(bytes: decoyBytes(15) + next.prefix(4))) == 6)
        #expect(decoder.bytesMissing(in: ByteBuffer(bytes: decoyBytes(15) + next.prefix(12))) == 2)
        #expect(decoder.bytesMissing(in: ByteBuffer(bytes: decoyBytes(15) + next)) == 0)
    }
}
