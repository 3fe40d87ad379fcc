#if canImport(Glibc)
import Glibc
#endif
import CoopWire
import Foundation

/// Finds coopd's socket the way coopd chooses it: an explicit path (`--socket`, else `$COOP_SOCKET`, else
/// `$COOPD_SOCKET`) is the only one tried; without one, the systemd path `/run/coopd/coopd.sock`, then the
/// per-user default (`$XDG_RUNTIME_DIR/coopd/coopd.sock`, then `/tmp/coopd-$UID/coopd.sock`).
public struct SocketLocator: Sendable {
    public struct Candidate: Sendable, Equatable {
        public var path: String
        /// Where the path came from, for the error message.
        public var origin: String
        /// A per-user default: used only when its directory is this user's alone (``TrustedDirectory``),
        /// so that another user who created it first cannot stand in for coopd.
        public var mustBeTrusted = false
    }

    public var candidates: [Candidate]
    private let uid: uid_t

    public init(explicit: String?, environment: [String: String], uid: uid_t = getuid()) {
        self.uid = uid
        if let explicit, !explicit.isEmpty {
            candidates = [Candidate(path: explicit, origin: "--socket")]
            return
        }
        for name in ["COOP_SOCKET", "COOPD_SOCKET"] {
            if let path = environment[name], !path.isEmpty {
                candidates = [Candidate(path: path, origin: "$\(name)")]
                return
            }
        }
        var list = [Candidate(path: "/run/coopd/coopd.sock", origin: "systemd")]
        if let xdg = environment["XDG_RUNTIME_DIR"], xdg.hasPrefix("/") {
            list.append(Candidate(path: xdg + "/coopd/coopd.sock", origin: "$XDG_RUNTIME_DIR", mustBeTrusted: true))
        }
        if uid != 0 {
            list.append(Candidate(path: "/tmp/coopd-\(uid)/coopd.sock", origin: "per-user default", mustBeTrusted: true))
        }
        var seen = Set<String>()
        candidates = list.filter { seen.insert($0.path).inserted }
    }

    /// The first candidate that accepts a connection; otherwise a `CtlError(.unreachable)` naming every path
    /// tried and why it failed.
    public func locate() throws -> String {
        var failures: [String] = []
        for candidate in candidates {
            if candidate.mustBeTrusted, let reason = Self.untrusted(candidate.path, uid: uid) {
                failures.append("  \(candidate.path) (\(candidate.origin)): not trusted: \(reason)")
            } else if let reason = Self.probe(candidate.path) {
                failures.append("  \(candidate.path) (\(candidate.origin)): \(reason)")
            } else {
                return candidate.path
            }
        }
        let hint =
            candidates.count == 1
            ? "start coopd there, or point --socket / COOP_SOCKET at its socket"
            : "start coopd (make run, or systemctl start coopd.socket), or give its socket with --socket or COOP_SOCKET"
        throw CtlError(
            .unreachable,
            "cannot reach coopd; tried:\n" + failures.joined(separator: "\n") + "\n" + hint)
    }

    /// nil when a socket at `path` can only have been put there by `uid` (its directory is theirs alone and
    /// the socket is theirs), else why not. A missing directory is left to ``probe(_:)`` to report.
    static func untrusted(_ path: String, uid: uid_t) -> String? {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        var info = stat()
        guard stat(directory, &info) == 0 else { return nil }
        if let problem = TrustedDirectory.problem(with: directory, uid: uid) { return problem }
        if lstat(path, &info) == 0 && info.st_uid != uid {
            return "\(path) is owned by uid \(info.st_uid), not \(uid)"
        }
        return nil
    }

    /// nil when `path` accepts a Unix stream connection, else why not.
    static func probe(_ path: String) -> String? {
        let bytes = Array(path.utf8)
        var address = sockaddr_un()
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else {
            return "path longer than \(capacity - 1) bytes (the limit of a Unix socket address)"
        }
        var info = stat()
        if stat(path, &info) != 0 {
            let e = errno
            switch e {
            case ENOENT: return "no such file (coopd is not running here)"
            case EACCES: return "permission denied on a directory on the way"
            case ENOTDIR: return "a path component is not a directory"
            default: return String(cString: strerror(e))
            }
        }
        if info.st_mode & S_IFMT != S_IFSOCK {
            return "not a socket"
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return "socket(): " + String(cString: strerror(errno)) }
        defer { close(fd) }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if rc == 0 { return nil }
        let e = errno
        switch e {
        case ECONNREFUSED: return "connection refused (a stale socket file: nobody is listening)"
        case EACCES, EPERM:
            return "permission denied (the socket's mode or group keeps this user out; see coopd --socket-mode)"
        case EAGAIN: return "coopd's accept queue is full (overloaded)"
        default: return String(cString: strerror(e))
        }
    }
}
