import Foundation
import Testing

@testable import CoopDaemon

@Suite struct StartupPagesTests {
    /// Giving back start-up's pages takes file-backed pages out of the resident set and loses nothing: this
    /// process goes on running the code and reading the data whose pages it gave back, its own and its libraries'.
    @Test func givingBackStartUpPagesShrinksTheResidentSetAndLosesNothing() throws {
        let before = try Self.residentFileKiB()
        let advised = StartupPages.release()
        let after = try Self.residentFileKiB()
        #expect(advised > 1 << 20, "\(advised) bytes advised")
        #expect(after < before - 1024, "file-backed resident set \(before) -> \(after) KiB")
        let numbers = (0..<1_000).map { String($0) }.joined(separator: ",")
        #expect(numbers.split(separator: ",").compactMap { Int($0) }.reduce(0, +) == 499_500)
        #expect(String(format: "%.2f", 3.14159) == "3.14")
        #expect(try JSONDecoder().decode([String: Int].self, from: Data(#"{"a":1}"#.utf8)) == ["a": 1])
    }

    private static func residentFileKiB() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("RssFile:") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
    }
}
