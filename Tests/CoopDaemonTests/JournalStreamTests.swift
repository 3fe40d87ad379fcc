#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// Log lines under journald (`JOURNAL_STREAM` naming stderr) carry `<N>` syslog priorities and no timestamp.
@Suite struct JournalStreamTests {
    enum Stream: String, CaseIterable, Sendable {
        case matchingStderr = "JOURNAL_STREAM naming stderr"
        case unset = "no JOURNAL_STREAM"
        case otherFile = "JOURNAL_STREAM naming another file"
    }

    private func createFile(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw HarnessError("create \(path): \(String(cString: strerror(errno)))") }
        close(fd)
    }

    private func deviceAndInode(_ path: String) throws -> String {
        var st = stat()
        guard stat(path, &st) == 0 else { throw HarnessError("stat \(path): \(String(cString: strerror(errno)))") }
        return "\(st.st_dev):\(st.st_ino)"
    }

    @Test(arguments: Stream.allCases)
    func logLinesCarrySyslogPrioritiesOnlyWhenStderrIsTheJournal(_ stream: Stream) async throws {
        try await withTemporaryDirectory { directory in
            var environment: [String: String] = [:]
            let stderrPath = directory.file("stderr")
            switch stream {
            case .matchingStderr:
                try createFile(stderrPath)
                environment["JOURNAL_STREAM"] = try deviceAndInode(stderrPath)
                // The stream form (records the journal does not take go there too); fields are tested under the
                // real systemd (Tests/systemd/run.sh), where the records reach a journal.
                environment["COOPD_JOURNAL_FIELDS"] = "no"
            case .otherFile:
                let path = directory.file("other")
                try createFile(path)
                environment["JOURNAL_STREAM"] = try deviceAndInode(path)
            case .unset:
                break
            }
            try await withDaemon(in: directory, environment: environment, stderrPath: stderrPath) { daemon in
                let stderr = try await daemon.waitForStderr(containing: " ready")
                let lines = stderr.split(separator: "\n").map(String.init)
                let ready = try #require(lines.first { $0.contains("coopd 0.1.0 ready") })
                let listening = try #require(lines.first { $0.contains("listening") })
                switch stream {
                case .matchingStderr:
                    #expect(ready.hasPrefix("<5>coopd 0.1.0 ready "), "\(ready)")
                    #expect(listening.hasPrefix("<6>listening "), "\(listening)")
                    #expect(lines.allSatisfy { $0.wholeMatch(of: /<[0-7]>.*/) != nil }, "\(stderr)")
                case .unset, .otherFile:
                    #expect(ready.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z NOTICE coopd 0\.1\.0 ready .*/) != nil,
                            "\(ready)")
                    #expect(listening.wholeMatch(of: /\S+Z INFO listening .*/) != nil, "\(listening)")
                    #expect(!lines.contains { $0.hasPrefix("<") }, "\(stderr)")
                }
            }
        }
    }
}
