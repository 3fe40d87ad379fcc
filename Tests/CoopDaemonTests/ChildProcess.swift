#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CoopTestSupport
import Synchronization

extension ChildProcess {
    /// Waits for the process to end; throws after `timeout` (the process keeps running).
    func waitForExit(timeout: Duration = .seconds(15)) async throws -> Termination {
        try await poll("\(executable) (pid \(pid)) to exit", timeout: timeout) { checkExited() }
    }
}

/// Runs a command to completion with a timeout; returns its termination, stdout and stderr.
func runToCompletion(
    _ executable: String, _ arguments: [String], in directory: TemporaryDirectory,
    environment: [String: String] = ChildProcess.cleanEnvironment(), timeout: Duration = .seconds(30)
) async throws -> (termination: Termination, stdout: String, stderr: String) {
    let tag = UUID().uuidString.prefix(8)
    let out = directory.file("run-\(tag).out")
    let err = directory.file("run-\(tag).err")
    let child = try ChildProcess(executable, arguments, environment: environment, stdout: out, stderr: err)
    defer { child.kill() }
    let termination = try await child.waitForExit(timeout: timeout)
    return (termination, readText(out), readText(err))
}
