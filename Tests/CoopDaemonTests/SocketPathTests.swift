#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// How coopd prepares, protects and cleans up the socket path it binds itself.
@Suite struct SocketPathTests {
    private func fileMode(_ path: String) throws -> mode_t {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw HarnessError("lstat \(path): \(String(cString: strerror(errno)))") }
        return st.st_mode
    }

    @Test func missingParentDirectoriesAreCreated() async throws {
        try await withTemporaryDirectory { directory in
            let socketPath = directory.file("run/coopd/coopd.sock")
            try await withDaemon(in: directory, socketPath: socketPath) { daemon in
                #expect(try fileMode(directory.file("run/coopd")) & S_IFMT == S_IFDIR)
                #expect(try fileMode(socketPath) & S_IFMT == S_IFSOCK)
                let connection = try RawConnection.connect(socketPath)
                #expect(try await connection.echo(streamID: 1, data: [1]) == [1])
            }
        }
    }

    @Test(arguments: [(nil, 0o660), ("0600", 0o600), ("0666", 0o666)] as [(String?, mode_t)])
    func socketFileGetsTheConfiguredMode(_ flag: String?, _ expected: mode_t) async throws {
        try await withDaemon(arguments: flag.map { ["--socket-mode", $0] } ?? []) { daemon in
            let mode = try fileMode(daemon.socketPath)
            #expect(mode & S_IFMT == S_IFSOCK)
            #expect(mode & 0o7777 == expected, "mode \(String(mode & 0o7777, radix: 8))")
        }
    }

    @Test func staleSocketFileIsReplaced() async throws {
        try await withTemporaryDirectory { directory in
            let socketPath = directory.file("coopd.sock")
            // A socket file nobody listens on, as a crashed daemon leaves behind.
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = try sockaddrUnix(socketPath)
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            #expect(rc == 0)
            close(fd)
            #expect(!RawConnection.canConnect(socketPath))
            #expect(try fileMode(socketPath) & S_IFMT == S_IFSOCK)

            try await withDaemon(in: directory) { daemon in
                let connection = try RawConnection.connect(socketPath)
                #expect(try await connection.echo(streamID: 1, data: [1]) == [1])
            }
        }
    }

    @Test func regularFileAtTheSocketPathIsNotReplaced() async throws {
        try await withTemporaryDirectory { directory in
            let socketPath = directory.file("coopd.sock")
            try "precious".write(toFile: socketPath, atomically: false, encoding: .utf8)
            let daemon = try await DaemonProcess.start(in: directory, waitUntilServing: false)
            defer { daemon.kill() }
            #expect(try await daemon.waitForExit() == .exited(1))
            #expect(daemon.stderr.contains("\(socketPath) exists and is not a socket; refusing to replace it"), "\(daemon.stderr)")
            #expect(readText(socketPath) == "precious")
        }
    }

    @Test func secondDaemonOnAServedPathExitsNonZeroAndTheFirstKeepsServing() async throws {
        try await withTemporaryDirectory { directory in
            try await withDaemon(in: directory) { first in
                let second = try await DaemonProcess.start(in: directory, waitUntilServing: false)
                defer { second.kill() }
                #expect(try await second.waitForExit() == .exited(1))
                #expect(second.stderr.contains("another process is already serving \(first.socketPath)"), "\(second.stderr)")

                let connection = try RawConnection.connect(first.socketPath)
                #expect(try await connection.echo(streamID: 1, data: [1]) == [1])
                try await withClient(first.socketPath) { client in
                    let info = try await client.serverInfo()
                    #expect(info.pid == first.pid)
                }
            }
        }
    }

    @Test func socketFileIsRemovedOnStop() async throws {
        try await withDaemon { daemon in
            #expect(FileManager.default.fileExists(atPath: daemon.socketPath))
            #expect(try await daemon.terminate() == .exited(0), "stderr:\n\(daemon.stderr)")
            var st = stat()
            #expect(lstat(daemon.socketPath, &st) == -1 && errno == ENOENT)
            // Nothing else was left behind in the socket's directory (such as the temporary bind name).
            let left = try FileManager.default.contentsOfDirectory(atPath: daemon.directory.path)
            #expect(!left.contains { $0.hasSuffix(".sock") }, "\(left)")
        }
    }
}
