import CoopTestSupport
import Foundation
import Testing

/// One run of the coopctl binary.
struct CtlRun: CustomStringConvertible {
    var arguments: [String]
    var termination: Termination
    var stdout: String
    var stderr: String

    var status: Int32? {
        if case .exited(let code) = termination { return code }
        return nil
    }

    var description: String {
        "coopctl \(arguments.joined(separator: " ")): \(termination)\nstdout: \(stdout.prefix(2000))\nstderr: \(stderr.prefix(2000))"
    }

    /// stdout parsed as one JSON document.
    func json() throws -> Any {
        try JSONSerialization.jsonObject(with: Data(stdout.utf8), options: [.fragmentsAllowed])
    }

    func object() throws -> [String: Any] {
        guard let object = try json() as? [String: Any] else { throw HarnessError("not a JSON object: \(self)") }
        return object
    }

    /// stdout as CSV records (header first).
    func csv() throws -> [[String]] {
        try CSVTestParser.parse(stdout)
    }

    var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty } }
}

/// Runs coopctl to completion against `socket` (through $COOP_SOCKET unless nil), optionally as user nobody.
func coopctl(
    _ arguments: [String], socket: String?, environment extra: [String: String] = [:], asNobody: Bool = false,
    timeout: Duration = .seconds(60)
) async throws -> CtlRun {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    chmod(directory.path, 0o777)
    var environment = ChildProcess.cleanEnvironment()
    if let socket { environment["COOP_SOCKET"] = socket }
    environment.merge(extra) { $1 }
    let executable = try TestBinaries.coopctl()
    let child: ChildProcess
    if asNobody {
        // A copy in the world-readable temporary directory, so nobody can run it wherever the checkout lives.
        let copy = directory.file("coopctl")
        try FileManager.default.copyItem(atPath: executable, toPath: copy)
        chmod(copy, 0o755)
        child = try ChildProcess(
            "/usr/bin/setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", copy] + arguments,
            environment: environment, stdout: directory.file("out"), stderr: directory.file("err"))
    } else {
        child = try ChildProcess(
            executable, arguments, environment: environment, stdout: directory.file("out"), stderr: directory.file("err"))
    }
    defer { child.kill() }
    let termination = try await child.waitForExit(timeout: timeout)
    return CtlRun(
        arguments: arguments, termination: termination, stdout: readText(directory.file("out")),
        stderr: readText(directory.file("err")))
}

/// Runs coopctl and expects exit status 0.
func ok(_ arguments: [String], socket: String?, environment: [String: String] = [:]) async throws -> CtlRun {
    let run = try await coopctl(arguments, socket: socket, environment: environment)
    guard run.status == 0 else { throw HarnessError("expected success: \(run)") }
    return run
}

enum CSVTestParser {
    /// Minimal RFC 4180 (quotes, doubled quotes, LF or CRLF).
    static func parse(_ text: String) throws -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var quoted = false
        var chars = Array(text)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" {
                        field.append("\"")
                        chars = chars.dropFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                record.append(field)
                field = ""
            } else if c == "\n" || c == "\r\n" || c == "\r" {
                record.append(field)
                records.append(record)
                record = []
                field = ""
            } else {
                field.append(c)
            }
        }
        if quoted { throw HarnessError("unterminated quote in CSV") }
        if !field.isEmpty || !record.isEmpty {
            record.append(field)
            records.append(record)
        }
        return records
    }
}

// MARK: JSON access

extension Dictionary where Key == String, Value == Any {
    func int(_ key: String) -> Int64? { (self[key] as? NSNumber)?.int64Value }
    func string(_ key: String) -> String? { self[key] as? String }
    func objects(_ key: String) -> [[String: Any]] { self[key] as? [[String: Any]] ?? [] }
    func object(_ key: String) -> [String: Any] { self[key] as? [String: Any] ?? [:] }
}

/// MHLW foreign workers from Viet Nam in Japan, end of October 2015–2023, as shipped.
let shippedMHLW: [Int64] = [110013, 172018, 240259, 316840, 401326, 443998, 453344, 462384, 518364]
