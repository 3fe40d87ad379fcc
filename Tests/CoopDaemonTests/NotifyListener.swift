#if canImport(Glibc)
import Glibc
#endif
import CoopTestSupport
import CoopWire
import Foundation
import Synchronization

/// The service manager's end of sd_notify: an AF_UNIX datagram socket bound at a path, for
/// `NOTIFY_SOCKET`. Datagrams are read with a timeout and kept in arrival order.
final class NotifyListener: Sendable {
    let path: String
    private let fd: Int32
    private let history = Locked<[String]>([])

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(String(cString: strerror(errno)))") }
        var address = try sockaddrUnix(path)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            let error = String(cString: strerror(errno))
            close(fd)
            throw HarnessError("bind \(path): \(error)")
        }
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// The environment that points a child at this listener.
    var environment: [String: String] { ["NOTIFY_SOCKET": path] }

    /// Every datagram received so far.
    var received: [String] { history.withLock { $0 } }

    /// The next datagram; throws if none arrives within `timeout`.
    func next(timeout: Duration = .seconds(10)) async throws -> String {
        let message = try await offload { [self] in try receiveBlocking(timeout: timeout) }
        guard let message else {
            throw HarnessError("no notification within \(timeout); received so far: \(received)")
        }
        return message
    }

    /// Blocks (on the calling thread) for the next datagram; nil after `timeout`. For tests that must act
    /// on a notification with no delay; everything else uses ``next(timeout:)``.
    func receiveBlocking(timeout: Duration) throws -> String? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let rc = Glibc.poll(&p, 1, Int32(timeout.patient.milliseconds))
        guard rc > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n >= 0 else { throw HarnessError("recv: \(String(cString: strerror(errno)))") }
        let message = String(decoding: buffer[0..<n], as: UTF8.self)
        history.withLock { $0.append(message) }
        return message
    }

    /// Reads datagrams until one satisfies `predicate` and returns it; throws after `timeout`.
    func waitFor(
        _ what: String, timeout: Duration = .seconds(10), where predicate: (String) -> Bool
    ) async throws -> String {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout.patient
        while true {
            let left = deadline - clock.now
            guard left > .zero else {
                throw HarnessError("no notification with \(what) within \(timeout); received: \(received)")
            }
            let message: String
            do {
                message = try await next(timeout: left)
            } catch {
                throw HarnessError("no notification with \(what) within \(timeout); received: \(received)")
            }
            if predicate(message) { return message }
        }
    }

    /// Reads datagrams until one carries the line `assignment` (e.g. `READY=1`).
    func waitFor(_ assignment: String, timeout: Duration = .seconds(10)) async throws -> String {
        try await waitFor(assignment, timeout: timeout) { notificationLines($0).contains(assignment) }
    }
}

/// The `KEY=VALUE` lines of one sd_notify datagram.
func notificationLines(_ datagram: String) -> [String] {
    datagram.split(separator: "\n").map(String.init)
}

/// The fields of one sd_notify datagram, by key.
func notificationFields(_ datagram: String) -> [String: String] {
    var fields: [String: String] = [:]
    for line in notificationLines(datagram) {
        guard let eq = line.firstIndex(of: "=") else { continue }
        fields[String(line[..<eq])] = String(line[line.index(after: eq)...])
    }
    return fields
}

/// A `sockaddr_un` for `path`; throws if the path does not fit.
func sockaddrUnix(_ path: String) throws -> sockaddr_un {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    let capacity = MemoryLayout.size(ofValue: address.sun_path)
    guard bytes.count < capacity else { throw HarnessError("socket path too long (\(bytes.count) bytes): \(path)") }
    withUnsafeMutableBytes(of: &address.sun_path) { dst in
        dst.copyBytes(from: bytes)
        dst[bytes.count] = 0
    }
    return address
}
