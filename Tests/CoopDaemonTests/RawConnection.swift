#if canImport(Glibc)
import Glibc
#endif
import CoopProto
import CoopWire
import CoopTestSupport
import Foundation
import NIOCore
import Synchronization

/// One ttrpc frame as it came off the wire.
struct RawFrame: Equatable, CustomStringConvertible {
    var streamID: UInt32
    var type: UInt8
    var flags: UInt8
    var payload: [UInt8]

    var description: String { "frame(id \(streamID), type \(type), flags \(flags), \(payload.count) bytes)" }

    /// Decodes a Response frame's envelope: code 0 and the payload when OK, else the status.
    func response() throws -> Answer {
        guard type == MessageType.response.rawValue else { throw HarnessError("expected a Response frame, got \(self)") }
        let envelope = try ResponseEnvelope(decoding: ByteBuffer(bytes: payload))
        return Answer(
            streamID: streamID, code: envelope.error?.code.rawValue ?? 0, message: envelope.error?.message ?? "",
            payload: Array(buffer: envelope.payload))
    }
}

/// A decoded Response: the stream it answers, the status, and the payload.
struct Answer: Equatable, CustomStringConvertible {
    var streamID: UInt32
    var code: Int32
    var message: String
    var payload: [UInt8]

    var description: String { "answer(id \(streamID), code \(code) \"\(message)\", \(payload.count) payload bytes)" }

    /// The Echo data of an OK Echo answer.
    func echoData() throws -> [UInt8] {
        Array(try Coop_V1_EchoResponse(buffer: ByteBuffer(bytes: payload)).data)
    }
}

/// Builders for hand-written ttrpc frames.
enum Wire {
    static let request: UInt8 = 1
    static let response: UInt8 = 2
    static let data: UInt8 = 3

    /// A frame whose header says `declaredLength` (default: the payload's length).
    static func frame(
        streamID: UInt32, type: UInt8, flags: UInt8 = 0, payload: [UInt8] = [], declaredLength: UInt32? = nil
    ) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeMultipleIntegers(declaredLength ?? UInt32(payload.count), streamID, type, flags)
        buffer.writeBytes(payload)
        return Array(buffer: buffer)
    }

    /// The encoded ttrpc Request envelope.
    static func envelope(service: String, method: String, payload: [UInt8], timeoutNanos: Int64 = 0) -> [UInt8] {
        var buffer = ByteBuffer()
        RequestEnvelope(service: service, method: method, payload: ByteBuffer(bytes: payload), timeoutNanos: timeoutNanos)
            .encode(into: &buffer)
        return Array(buffer: buffer)
    }

    /// A whole Request frame.
    static func request(
        streamID: UInt32, service: String, method: String, payload: [UInt8], flags: UInt8 = 0
    ) -> [UInt8] {
        frame(streamID: streamID, type: request, flags: flags,
              payload: envelope(service: service, method: method, payload: payload))
    }

    /// `coop.v1.EchoRequest { data }` serialized.
    static func echoPayload(_ data: [UInt8]) -> [UInt8] {
        Array(buffer: try! Coop_V1_EchoRequest.with { $0.data = Data(data) }.serializedBuffer())
    }

    /// A Request frame calling `coop.v1.Diagnostics/Echo` with `data`.
    static func echo(streamID: UInt32, data: [UInt8]) -> [UInt8] {
        request(streamID: streamID, service: "coop.v1.Diagnostics", method: "Echo", payload: echoPayload(data))
    }
}

enum RawConnectionError: Error, Equatable, CustomStringConvertible {
    case timedOut(Duration)
    case reset
    case writeFailed(String)

    var description: String {
        switch self {
        case .timedOut(let d): "nothing read within \(d)"
        case .reset: "connection reset by peer"
        case .writeFailed(let e): "write failed: \(e)"
        }
    }
}

/// A blocking Unix stream socket client that writes raw bytes and reads whole ttrpc frames.
///
/// Every blocking call runs on its own thread (``offload(_:)``). Meant for one task at a time.
final class RawConnection: Sendable {
    let fd: Int32
    /// Bytes read but not yet returned as frames.
    private let pending = Locked<[UInt8]>([])
    private let isClosed = Atomic<Bool>(false)

    private init(fd: Int32) { self.fd = fd }

    /// Connects to `path`.
    static func connect(_ path: String) throws -> RawConnection {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(String(cString: strerror(errno)))") }
        var address = try sockaddrUnix(path)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            let error = String(cString: strerror(errno))
            Glibc.close(fd)
            throw HarnessError("connect \(path): \(error)")
        }
        return RawConnection(fd: fd)
    }

    /// True if something accepts connections on `path` right now.
    static func canConnect(_ path: String) -> Bool {
        guard let connection = try? connect(path) else { return false }
        connection.close()
        return true
    }

    deinit { close() }

    func close() {
        if !isClosed.exchange(true, ordering: .relaxed) { Glibc.close(fd) }
    }

    /// Writes every byte (blocking until the peer has taken them).
    func send(_ bytes: [UInt8]) async throws {
        let fd = self.fd
        try await offload {
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw RawConnectionError.writeFailed(String(cString: strerror(errno)))
                }
                offset += n
            }
        }
    }

    /// The next whole frame; nil at end of stream (a partial frame before EOF is dropped).
    /// Throws ``RawConnectionError/timedOut(_:)`` if no whole frame arrives in time, ``RawConnectionError/reset`` on ECONNRESET.
    func readFrame(timeout: Duration = .seconds(10)) async throws -> RawFrame? {
        let fd = self.fd
        return try await offload { [self] () throws -> RawFrame? in
            let clock = ContinuousClock()
            let deadline = clock.now + timeout.patient
            var chunk = [UInt8](repeating: 0, count: 64 << 10)
            while true {
                if let frame = pending.withLock({ Self.takeFrame(&$0) }) { return frame }
                let left = deadline - clock.now
                guard left > .zero else { throw RawConnectionError.timedOut(timeout) }
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let rc = Glibc.poll(&p, 1, Int32(max(1, left.milliseconds.rounded(.up))))
                if rc < 0 && errno == EINTR { continue }
                if rc == 0 { continue }
                let n = recv(fd, &chunk, chunk.count, 0)
                if n == 0 { return nil }
                if n < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    if errno == ECONNRESET { throw RawConnectionError.reset }
                    throw HarnessError("recv: \(String(cString: strerror(errno)))")
                }
                pending.withLock { $0.append(contentsOf: chunk[0..<n]) }
            }
        }
    }

    /// The next frame decoded as a Response; fails on EOF.
    func readAnswer(timeout: Duration = .seconds(10)) async throws -> Answer {
        guard let frame = try await readFrame(timeout: timeout) else {
            throw HarnessError("connection closed while waiting for a response")
        }
        return try frame.response()
    }

    /// Reads until the peer closes (EOF or reset); returns the frames that came before.
    /// Throws ``RawConnectionError/timedOut(_:)`` if the connection is still open after `timeout`.
    func readUntilClosed(timeout: Duration = .seconds(10)) async throws -> [RawFrame] {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout.patient
        var frames: [RawFrame] = []
        while true {
            let left = deadline - clock.now
            guard left > .zero else { throw RawConnectionError.timedOut(timeout) }
            do {
                guard let frame = try await readFrame(timeout: left) else { return frames }
                frames.append(frame)
            } catch RawConnectionError.reset {
                return frames
            } catch RawConnectionError.timedOut {
                throw RawConnectionError.timedOut(timeout)
            }
        }
    }

    /// Makes one Echo call on `streamID` and returns the echoed data (checking the answer is OK and on that id).
    func echo(streamID: UInt32, data: [UInt8], timeout: Duration = .seconds(10)) async throws -> [UInt8] {
        try await send(Wire.echo(streamID: streamID, data: data))
        let answer = try await readAnswer(timeout: timeout)
        guard answer.streamID == streamID, answer.code == 0 else {
            throw HarnessError("echo on stream \(streamID) got \(answer)")
        }
        return try answer.echoData()
    }

    /// Writes frames made by `next` without ever reading, until the peer stops taking bytes for
    /// `stallFor`; returns the number of bytes written. The socket stays blocked-up afterwards.
    func writeUntilStalled(stallFor: Duration, limit: Int = 256 << 20, next: @escaping @Sendable (Int) -> [UInt8])
        async throws -> Int
    {
        let fd = self.fd
        return try await offload {
            var written = 0
            var index = 0
            while written < limit {
                let bytes = next(index)
                index += 1
                var offset = 0
                while offset < bytes.count {
                    let n = bytes[offset...].withUnsafeBytes {
                        Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                    }
                    if n > 0 {
                        offset += n
                        written += n
                        continue
                    }
                    if n < 0 && errno == EINTR { continue }
                    guard n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) else {
                        throw RawConnectionError.writeFailed(String(cString: strerror(errno)))
                    }
                    var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    if Glibc.poll(&p, 1, Int32(stallFor.milliseconds)) == 0 {
                        return written  // the peer has stopped reading
                    }
                }
            }
            throw HarnessError("wrote \(written) bytes and the peer kept reading")
        }
    }

    /// Splits one whole frame off the front of `bytes`, if there is one.
    private static func takeFrame(_ bytes: inout [UInt8]) -> RawFrame? {
        guard bytes.count >= 10 else { return nil }
        let length = Int(UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3]))
        guard bytes.count >= 10 + length else { return nil }
        let id = UInt32(bytes[4]) << 24 | UInt32(bytes[5]) << 16 | UInt32(bytes[6]) << 8 | UInt32(bytes[7])
        let frame = RawFrame(streamID: id, type: bytes[8], flags: bytes[9], payload: Array(bytes[10..<(10 + length)]))
        bytes.removeFirst(10 + length)
        return frame
    }
}
