import CoopWire
import NIOCore

/// Fuzzes the hand-written ttrpc envelope codecs: the input is decoded both as a Request (what the server reads
/// from every Request frame) and as a Response (what clients read). Whatever decodes must survive a round trip
/// through the encoder the other side uses: encoded again and decoded again, it is the same envelope.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEnvelope(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: data == nil ? 0 : size))
    let unlimited = try? RequestEnvelope(decoding: bytes)
    if let request = unlimited {
        checkRoundTrip(request)
    }
    checkMetadataLimits(bytes, unlimited: unlimited)
    if let response = try? ResponseEnvelope(decoding: bytes) {
        checkRoundTrip(response)
    }
    return 0
}

func checkRoundTrip(_ request: RequestEnvelope) {
    // Through a whole Request frame, as a client sends it: the header must announce the envelope's length.
    var frame = ByteBuffer()
    frame.writeRequestFrame(streamID: 1, envelope: request)
    let payload = payloadOfOnlyFrame(frame)
    let again: RequestEnvelope
    do {
        again = try RequestEnvelope(decoding: payload)
    } catch {
        fatalError("a decoded request does not decode once encoded again: \(error)")
    }
    require(again == request, "request changed in a round trip")
}

func checkRoundTrip(_ response: ResponseEnvelope) {
    var frame = ByteBuffer()
    if let error = response.error {
        frame.writeResponseFrame(streamID: 1, error: error)
    } else {
        frame.writeResponseFrame(streamID: 1, payload: response.payload)
    }
    let payload = payloadOfOnlyFrame(frame)
    let again: ResponseEnvelope
    do {
        again = try ResponseEnvelope(decoding: payload)
    } catch {
        fatalError("a decoded response does not decode once encoded again: \(error)")
    }
    // An error answer carries no payload, so a payload sent alongside a status is dropped on purpose.
    require(again.error == response.error, "response status changed in a round trip")
    if response.error == nil {
        require(again.payload == response.payload, "response payload changed in a round trip")
    }
}

/// The server decodes with metadata limits: small ones here, so that inputs reach them. Within the limits the
/// envelope is the one decoded without; refused for its metadata (RESOURCE_EXHAUSTED) only when it has more
/// entries than the limit or more bytes in all than the byte limit.
func checkMetadataLimits(_ bytes: ByteBuffer, unlimited: RequestEnvelope?) {
    let limits = MetadataLimits(maxEntries: 3, maxBytes: 24)
    do {
        let limited = try RequestEnvelope(decoding: bytes, metadataLimits: limits)
        require(limited == unlimited, "metadata limits changed an envelope within them")
        require(limited.metadata.count <= limits.maxEntries, "more metadata entries than the limit")
    } catch {
        if error.isOverLimit {
            if let unlimited {
                require(unlimited.metadata.count > limits.maxEntries || bytes.readableBytes > limits.maxBytes,
                        "refused for metadata within the limits")
            }
        } else {
            require(unlimited == nil, "an envelope that decodes without limits failed with them: \(error)")
        }
    }
}

/// The payload of the single frame `bytes` must hold, read back with the server's decoder.
func payloadOfOnlyFrame(_ bytes: ByteBuffer) -> ByteBuffer {
    var buffer = bytes
    var decoder = FrameDecoder()
    guard case .frame(let frame)? = try! decoder.decode(buffer: &buffer), buffer.readableBytes == 0 else {
        fatalError("an encoded envelope is not exactly one frame")
    }
    return frame.payload
}

/// `precondition` that keeps its message in optimized builds.
func require(_ condition: Bool, _ message: @autoclosure () -> String, line: UInt = #line) {
    if !condition { fatalError(message(), line: line) }
}
