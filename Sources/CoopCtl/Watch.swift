#if canImport(Glibc)
import CoopFormats
import Glibc
#endif
import ArgumentParser
import CoopClient
import CoopProto
import Dispatch
import Foundation

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stream the change log until interrupted (Ctrl-C exits 0).",
        discussion: """
            One line per change: sequence, time, entity, operation, id, writer uid and summary. --json prints one \
            JSON object per line (a coop.v1.Change), --csv one CSV line per change. Output is flushed after \
            every change, so it can be piped.

            Examples:
              coopctl watch                      # changes from now on
              coopctl watch --from-sequence 1    # the whole history, then live
            """)

    @Option(help: ArgumentHelp("First sequence to show (default: only changes from now on).", valueName: "n"))
    var fromSequence: Int64?

    @Option(name: [.customShort("n"), .long], help: "Stop after this many changes (default: never).")
    var count: Int?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (fromSequence ?? 0) >= 0 else { throw ValidationError("--from-sequence must not be negative") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    }

    func run() async throws {
        let interrupts = Self.exitCleanlyOnInterrupt()
        defer { interrupts.forEach { $0.cancel() } }
        let format = output.format
        let width = Terminal.width()
        if format == .csv {
            Console.out(CSV.line(["sequence", "time", "entity_kind", "operation", "entity_id", "entity_key", "writer_uid", "summary"]))
            Console.flush()
        }
        var seen = 0
        try await connection.run { client in
            // The stream has no deadline: it runs until interrupted or coopd ends it.
            let changes = try client.watchChanges(fromSequence: fromSequence ?? 0, options: CallOptions())
            for try await change in changes {
                switch format {
                case .json:
                    Console.out(try JSONOutput.message(change))
                case .csv:
                    Console.out(CSV.line(Self.fields(change)))
                case .table:
                    let f = Self.fields(change)
                    let id = change.entityID != 0 ? String(change.entityID) : change.entityKey
                    var line = "\(f[0].padded(to: 6, right: true))  \(f[1])  \(f[2].padded(to: 11)) \(f[3].padded(to: 7)) "
                        + "\(id.padded(to: 6, right: true))  uid \(f[6].padded(to: 5))  \(f[7])"
                    if let width { line = line.truncated(toWidth: width) }
                    Console.out(line)
                }
                Console.flush()
                seen += 1
                if let count, seen >= count { return }
            }
            throw CtlError(.unavailable, "coopd ended the change stream")
        }
    }

    static func fields(_ c: Coop_V1_Change) -> [String] {
        [
            String(c.sequence), c.time, c.entityKind, c.operation.shortName, c.entityID == 0 ? "" : String(c.entityID),
            c.entityKey, String(c.writerUid), c.summary,
        ]
    }

    /// SIGINT and SIGTERM flush what was printed and exit 0: stopping a watch is how it ends.
    static func exitCleanlyOnInterrupt() -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                Console.flush()
                Glibc.exit(0)
            }
            source.resume()
            return source
        }
    }
}
