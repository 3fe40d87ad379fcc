import Foundation
import Testing

/// The committed C code must be what protoc-c generates from Proto/ today.
@Suite struct GeneratedCodeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func committedCCodeMatchesWhatProtocCGeneratesNow() throws {
        let proto = Self.root.appendingPathComponent("Proto")
        let committed = Self.root.appendingPathComponent("Sources/CCoopClient/generated")
        let fresh = FileManager.default.temporaryDirectory.appendingPathComponent("coop-protoc-c-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: fresh, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: fresh) }

        let files = try FileManager.default.subpathsOfDirectory(atPath: proto.path)
            .filter { $0.hasSuffix(".proto") }.sorted()
        #expect(!files.isEmpty)
        let protoc = Process()
        protoc.executableURL = URL(fileURLWithPath: "/usr/bin/protoc-c")
        protoc.currentDirectoryURL = proto
        protoc.arguments = ["--c_out=\(fresh.path)"] + files
        try protoc.run()
        protoc.waitUntilExit()
        #expect(protoc.terminationStatus == 0, "protoc-c failed")

        let generated = try FileManager.default.subpathsOfDirectory(atPath: fresh.path)
            .filter { $0.hasSuffix(".pb-c.c") || $0.hasSuffix(".pb-c.h") }.sorted()
        let existing = try FileManager.default.subpathsOfDirectory(atPath: committed.path)
            .filter { $0.hasSuffix(".pb-c.c") || $0.hasSuffix(".pb-c.h") }.sorted()
        #expect(generated == existing, "run Proto/generate.sh: the set of generated C files differs")
        for file in generated where existing.contains(file) {
            let now = try Data(contentsOf: fresh.appendingPathComponent(file))
            let then = try Data(contentsOf: committed.appendingPathComponent(file))
            #expect(now == then, "run Proto/generate.sh: \(file) differs from what protoc-c generates")
        }
    }
}
