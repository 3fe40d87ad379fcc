#if canImport(Glibc)
import Glibc
#endif
import CoopTestSupport
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

    @Test func socketDirectoryOthersCanWriteIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let shared = directory.file("shared")
            mkdir(shared, 0o777)
            chmod(shared, 0o777)
            let daemon = try await DaemonProcess.start(
                in: directory, socketPath: shared + "/coopd.sock", waitUntilServing: false)
            defer { daemon.kill() }
            #expect(try await daemon.waitForExit() == .exited(1))
            #expect(daemon.stderr.contains("refusing to put the socket in \(shared)"), "\(daemon.stderr)")
            #expect(daemon.stderr.contains("writable by other users (mode 0777)"), "\(daemon.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: shared).isEmpty)
        }
    }

    /// A sticky directory like /tmp is shared, but nobody else can move or replace the socket in it.
    @Test func socketDirectlyInAStickyDirectoryIsServed() async throws {
        try await withTemporaryDirectory { directory in
            let shared = directory.file("tmp")
            mkdir(shared, 0o777)
            chmod(shared, 0o1777)
            try await withDaemon(in: directory, socketPath: shared + "/coopd.sock") { daemon in
                let connection = try RawConnection.connect(daemon.socketPath)
                #expect(try await connection.echo(streamID: 1, data: [1]) == [1])
            }
        }
    }

    @Test(.enabled(if: getuid() == 0, "needs root to give a directory to another user"))
    func directoriesOwnedByAnotherUserAreRefused() async throws {
        try await withTemporaryDirectory { directory in
            let theirs = directory.file("theirs")
            mkdir(theirs, 0o755)
            chown(theirs, 65534, 65534)
            let socketDaemon = try await DaemonProcess.start(
                in: directory, socketPath: theirs + "/coopd.sock", waitUntilServing: false)
            defer { socketDaemon.kill() }
            #expect(try await socketDaemon.waitForExit() == .exited(1))
            #expect(socketDaemon.stderr.contains("\(theirs) is owned by uid 65534, not by uid 0"), "\(socketDaemon.stderr)")

            let stateDaemon = try await DaemonProcess.start(
                in: directory, arguments: ["--state-directory", theirs + "/state"], waitUntilServing: false)
            defer { stateDaemon.kill() }
            #expect(try await stateDaemon.waitForExit() == .exited(1))
            #expect(stateDaemon.stderr.contains("refusing to use the state directory \(theirs)/state"), "\(stateDaemon.stderr)")
            #expect(!FileManager.default.fileExists(atPath: theirs + "/state"), "created inside another user's directory")
        }
    }

    /// The attack on the per-user default: another user creates /tmp/coopd-UID first, open to all.
    @Test(.enabled(if: getuid() == 0, "needs root to run coopd as another user"))
    func perUserDefaultCreatedByAnotherUserIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            chmod(directory.path, 0o755)
            let planted = "/tmp/coopd-65534"
            try? FileManager.default.removeItem(atPath: planted)
            mkdir(planted, 0o777)
            chmod(planted, 0o777)
            defer { try? FileManager.default.removeItem(atPath: planted) }
            let copy = directory.file("coopd")
            try FileManager.default.copyItem(atPath: try TestBinaries.coopd(), toPath: copy)
            chmod(copy, 0o755)
            var environment = ChildProcess.cleanEnvironment()
            environment["XDG_RUNTIME_DIR"] = nil
            environment["XDG_STATE_HOME"] = nil
            environment["HOME"] = nil
            environment["COOPD_SEED"] = "no"
            let run = try await runToCompletion(
                "/usr/bin/setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", copy], in: directory,
                environment: environment)
            #expect(run.termination == .exited(1), "\(run)")
            #expect(run.stderr.contains("refusing to use the state directory /tmp/coopd-65534/state"), "\(run.stderr)")
            #expect(run.stderr.contains("/tmp/coopd-65534 is writable by other users (mode 0777)"), "\(run.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: planted).isEmpty)
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
            #expect(!left.contains { $0.hasSuffix(".sock") || $0.hasPrefix(".coopd-") }, "\(left)")
        }
    }
}
