import CoopWire
import NIOCore

/// Fuzzes `FrameDecoder` the way the server drives it: reads arrive in arbitrary pieces, each appended to what
/// is left of the last one, decoded until the decoder wants more, and the consumed bytes discarded.
///
/// Input: one byte choosing the payload limit (255: the real 4 MiB, else 16 × the byte, so that oversized
/// frames and their skipping are common), two bytes seeding the read sizes, then the byte stream.
///
/// Checked: the stream decodes to the same frames whether it arrives whole or in pieces; no frame exceeds
/// the limit and every oversized report does; each frame returned consumes its bytes (so the read loop ends);
/// every byte is either part of a reported frame, still to be skipped, or buffered; and what stays buffered
/// is never a complete frame.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrame(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size >= 3 else { return 0 }
    let input = UnsafeBufferPointer(start: data, count: size)
    let limit = input[0] == 255 ? FrameLimits.maxPayloadSize : Int(input[0]) * 16
    let stream = ByteBuffer(bytes: input[3...])

    let whole = decode(stream, limit: limit) { _ in stream.readableBytes }
    var random = ReadSizes(seed: UInt32(input[1]) << 8 | UInt32(input[2]))
    let pieces = decode(stream, limit: limit) { _ in random.next() }
    require(whole == pieces, "frames depend on how the stream was split")
    return 0
}

/// What came out of one decoding run.
struct Decoded: Equatable {
    var frames: [InboundFrame] = []
    /// Bytes the decoder consumed (moved the reader index over).
    var consumed = 0
    /// Bytes left buffered at the end, and payload bytes of an oversized frame still to be skipped.
    var buffered = 0
    var toSkip = 0
}

/// Feeds `stream` to a fresh decoder in reads of `readSize` bytes (capped at what is left), checking the
/// invariants after every step.
func decode(_ stream: ByteBuffer, limit: Int, readSize: (Int) -> Int) -> Decoded {
    var decoder = FrameDecoder(maxPayloadSize: limit)
    var source = stream
    var inbound = ByteBuffer()
    var result = Decoded()
    while source.readableBytes > 0 {
        let read = source.readSlice(length: min(max(1, readSize(source.readableBytes)), source.readableBytes))!
        inbound.writeImmutableBuffer(read)
        while true {
            let before = inbound.readerIndex
            // A call first finishes skipping an oversized frame, then reads the next header.
            let skipping = decoder.bytesToSkip
            let next = try! decoder.decode(buffer: &inbound)
            let used = inbound.readerIndex - before
            require(used >= 0, "decoder moved the reader index backwards")
            result.consumed += used
            guard let next else { break }
            switch next {
            case .frame(let frame):
                let length = frame.payload.readableBytes
                require(length <= limit, "frame of \(length) bytes, limit \(limit)")
                require(
                    used == skipping + FrameLimits.headerSize + length,
                    "frame of \(length) bytes consumed \(used) (\(skipping) to skip)")
            case .oversized(_, _, let length):
                require(length > limit, "oversized frame of \(length) bytes, limit \(limit)")
                require(used >= skipping + FrameLimits.headerSize, "oversized header not consumed")
            }
            result.frames.append(next)
        }
        inbound.discardReadBytes()
        checkIdle(decoder, inbound, limit: limit)
    }
    require((try! decoder.decodeLast(buffer: &inbound, seenEOF: true)) == nil, "decodeLast found a frame decode missed")
    result.buffered = inbound.readableBytes
    result.toSkip = decoder.bytesToSkip
    require(result.consumed + result.buffered == stream.readableBytes, "bytes lost")
    let reported = result.frames.reduce(0) { total, frame in
        switch frame {
        case .frame(let f): total + FrameLimits.headerSize + f.payload.readableBytes
        case .oversized(_, _, let length): total + FrameLimits.headerSize + length
        }
    }
    require(reported == result.consumed + result.toSkip, "consumed bytes do not add up to the frames reported")
    return result
}

/// When the decoder asks for more input, what it holds must not already be a whole frame.
func checkIdle(_ decoder: FrameDecoder, _ buffered: ByteBuffer, limit: Int) {
    if decoder.bytesToSkip > 0 {
        require(buffered.readableBytes == 0, "skipping with input left over")
        return
    }
    guard buffered.readableBytes >= FrameLimits.headerSize,
        let length = buffered.getInteger(at: buffered.readerIndex, as: UInt32.self)
    else { return }
    require(Int(length) <= limit, "oversized header left undecoded")
    require(buffered.readableBytes < FrameLimits.headerSize + Int(length), "complete frame left undecoded")
}

/// `precondition` that keeps its message in optimized builds.
func require(_ condition: Bool, _ message: @autoclosure () -> String, line: UInt = #line) {
    if !condition { fatalError(message(), line: line) }
}

/// Read sizes from a small PRNG (xorshift): mostly a few bytes, sometimes up to 1 KiB.
struct ReadSizes {
    var state: UInt32

    init(seed: UInt32) { state = seed | 1 }

    mutating func next() -> Int {
        state ^= state << 13
        state ^= state >> 17
        state ^= state << 5
        return state & 3 == 0 ? 1 + Int(state >> 8) % 1024 : 1 + Int(state >> 8) % 16
    }
}
