#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CoopWire
import NIOCore
import NIOPosix

/// Why a server cannot listen on a path.
public struct ListenError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// A listening socket bound to a path by ``UnixSocketListener``.
public struct BoundUnixSocket: Sendable {
    public let channel: any Channel
    public let path: String
    let inode: UInt64

    /// Removes the socket file, if the file at the path is still the one bound (another process may have
    /// taken the path since).
    public func removeFile() {
        var st = stat()
        if lstat(path, &st) == 0, UInt64(st.st_ino) == inode { unlink(path) }
    }
}

/// Binds listening Unix sockets the careful way (the ttrpc socket and the metrics socket alike).
public enum UnixSocketListener {
    /// Binds `bootstrap` to `path`: the directory is created or checked and a stale socket replaced
    /// (``UnixSocketPath/prepare(_:)``), and the socket is bound in a private directory of our own, given `mode`
    /// there (nobody else can swap the path for a link) and renamed into place: it is never visible at `path`
    /// with a looser mode.
    public static func bind(_ bootstrap: ServerBootstrap, path: String, mode: UInt32) async throws -> BoundUnixSocket {
        try UnixSocketPath.prepare(path)
        let staging = try UnixSocketPath.makePrivateDirectory(in: UnixSocketPath.directory(of: path))
        let temporary = staging + "/s"
        defer { rmdir(staging) }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(unixDomainSocketPath: temporary).get()
            do {
                try UnixSocketPath.chmod(temporary, mode)
                try UnixSocketPath.rename(temporary, path)
            } catch {
                try? await channel.close()
                throw error
            }
        } catch {
            unlink(temporary)
            throw error
        }
        var st = stat()
        let inode = lstat(path, &st) == 0 ? UInt64(st.st_ino) : 0
        return BoundUnixSocket(channel: channel, path: path, inode: inode)
    }
}

/// Preparing a Unix socket path: its directory, and what to do with a file already there.
enum UnixSocketPath {
    /// Creates missing parent directories (mode 0700; 0750 for root, so the socket's group may traverse),
    /// refuses a directory another user could tamper with (``TrustedDirectory``; a sticky one like /tmp is
    /// fine, as nobody else can move the socket there), and removes a stale
    /// socket file, refusing if another process accepts on it.
    static func prepare(_ path: String) throws {
        guard path.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else {
            throw ListenError("socket path is too long (\(path.utf8.count) bytes, at most 107): \(path)")
        }
        let directory = self.directory(of: path)
        if let problem = TrustedDirectory.prepare(
            directory, mode: getuid() == 0 ? 0o750 : 0o700, allowingSticky: true)
        {
            throw ListenError("refusing to put the socket in \(directory): \(problem)")
        }
        var st = stat()
        guard lstat(path, &st) == 0 else { return }  // nothing there
        guard (st.st_mode & S_IFMT) == S_IFSOCK else {
            throw ListenError("\(path) exists and is not a socket; refusing to replace it")
        }
        switch probe(path) {
        case 0:
            throw ListenError("another process is already serving \(path); stop it or choose another --socket")
        case ECONNREFUSED, ENOENT:
            // A socket file nobody listens on: left by a process that died. Safe to replace.
            guard unlink(path) == 0 || errno == ENOENT else {
                throw ListenError("cannot remove stale socket \(path): \(String(cString: strerror(errno)))")
            }
        case let err:
            throw ListenError("cannot check existing socket \(path): \(String(cString: strerror(err)))")
        }
    }

    /// Connects to `path`: 0 when something accepts, else the errno.
    static func probe(_ path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { dst in
            let bytes = Array(path.utf8)
            dst.copyBytes(from: bytes.prefix(dst.count - 1))
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return rc == 0 ? 0 : errno
    }

    /// The directory holding `path` ("." for a bare name).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// A new directory only this process's uid can enter (mode 0700), next to where the socket goes.
    static func makePrivateDirectory(in directory: String) throws -> String {
        var template = Array((directory + "/.coopd-XXXXXX").utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw ListenError("cannot create a directory in \(directory): \(String(cString: strerror(errno)))")
        }
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func chmod(_ path: String, _ mode: UInt32) throws {
        guard Glibc.chmod(path, mode_t(mode)) == 0 else {
            throw ListenError("cannot set mode of \(path): \(String(cString: strerror(errno)))")
        }
    }

    static func rename(_ from: String, _ to: String) throws {
        guard Glibc.rename(from, to) == 0 else {
            throw ListenError("cannot move socket into place at \(to): \(String(cString: strerror(errno)))")
        }
    }
}

/// `struct ucred` from <sys/socket.h>, as SO_PEERCRED fills it.
struct UCred: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
