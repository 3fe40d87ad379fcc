#if canImport(Glibc)
import Glibc
#endif
import CoopClient
import CoopTestSupport
import Foundation
import Testing

/// Socket activation as systemd does it, through `systemd-socket-activate`: coopd serves the socket it is passed.
@Suite struct SocketActivationTests {
    @Test func passedSocketIsServedFromTheFirstConnection() async throws {
        try await withTemporaryDirectory { directory in
            let socketPath = directory.file("activated.sock")
            let stateDirectory = directory.file("state")
            let listener = try NotifyListener(path: directory.file("notify.sock"))
            var environment = ChildProcess.cleanEnvironment()
            environment.merge(listener.environment) { $1 }
            let activator = try ChildProcess(
                try TestBinaries.systemdSocketActivate(),
                ["-l", socketPath, "--fdname=coopd", "-E", "NOTIFY_SOCKET",
                 try TestBinaries.coopd(), "--state-directory", stateDirectory],
                environment: environment, stdout: directory.file("activate.out"), stderr: directory.file("activate.err"))
            defer { activator.kill() }

            try await poll("systemd-socket-activate to listen on \(socketPath)") { () throws -> Bool? in
                if let ended = activator.checkExited() {
                    throw HarnessError("systemd-socket-activate \(ended): \(readText(directory.file("activate.err")))")
                }
                var st = stat()
                return lstat(socketPath, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK ? true : nil
            }
            // systemd-socket-activate execs coopd only once a client connects: nothing of coopd runs yet.
            #expect(activator.commandName == "systemd-socket-")
            #expect(!FileManager.default.fileExists(atPath: stateDirectory))
            #expect(listener.received.isEmpty, "\(listener.received)")

            try await withClient(socketPath) { client in
                let info = try await client.serverInfo(options: CallOptions(timeout: .seconds(20)))
                #expect(info.socketPath == socketPath)
                #expect(info.pid == activator.pid)
                #expect(try await client.echo(Data("activated".utf8)) == Data("activated".utf8))
            }
            let ready = try await listener.waitFor("READY=1")
            #expect(notificationFields(ready)["STATUS"] == "serving on \(socketPath)", "\(ready)")
            #expect(activator.commandName == "coopd")
            #expect(FileManager.default.fileExists(atPath: stateDirectory))

            activator.signal(SIGTERM)
            #expect(try await activator.waitForExit() == .exited(0), "\(readText(directory.file("activate.err")))")
            // The socket belongs to systemd (the socket unit): coopd leaves it in place.
            #expect(FileManager.default.fileExists(atPath: socketPath))
        }
    }
}
