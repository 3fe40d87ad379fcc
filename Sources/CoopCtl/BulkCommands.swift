import ArgumentParser
import CoopClient
import CoopProto
import CoopWire
import Foundation

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import figures from CSV (the shipped dataset's format) or JSON, in atomic batches; safe to re-run.",
        discussion: """
            CSV columns: \(FiguresFile.columns.joined(separator: ",")). An indicator written CODE:VALUE is \
            broken down by status_of_residence=VALUE; value and unit are as published ("2.6","trillion JPY"); \
            qualifier is exact, approx, at_least, at_most, derived, as_worded or provisional; source_date is \
            the value's vintage. JSON: the output of figures --json or export --json, or an array of observations.

            Missing sources are created first (matched by URL), and missing indicators (from the file's \
            descriptions, else described by their code). Rows already present — same indicator, pair, \
            breakdown, period, value, source and vintage — are skipped, so importing a file twice changes \
            nothing. Other rows are stored with AddObservations in batches (all of a batch or none) whose \
            request ids derive from the file's content, so a re-run after an interruption repeats nothing. \
            A later vintage of a figure already stored is stored as its revision.

            A progress bar is drawn on stderr when it is a terminal. The summary lists imported, skipped and \
            rejected rows (with line numbers and reasons); any rejected row makes the exit status 5.

            Example:
              coopctl import vn-jp-figures.csv
            """)

    @Argument(help: "File to import ('-' for stdin).", completion: .file(extensions: ["csv", "json"]))
    var file: String

    @Option(help: "csv or json (default: from the extension, else the content).")
    var format: String?

    @Option(help: "Observations per AddObservations batch, 1 to 1000.")
    var batchSize = 200

    @Flag(help: "Check and count without writing.")
    var dryRun = false

    @Flag(inversion: .prefixedNo, help: "Create indicators the file uses that coopd lacks.")
    var createIndicators = true

    @Flag(inversion: .prefixedNo, help: "Store a later vintage of a stored figure as its revision.")
    var revisions = true

    @OptionGroup var connection: ConnectionOptions

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func validate() throws {
        guard (1...1000).contains(batchSize) else { throw ValidationError("--batch-size must be 1…1000") }
        if let format, !["csv", "json"].contains(format.lowercased()) {
            throw ValidationError("--format must be csv or json")
        }
    }

    func run() async throws {
        let data: Data
        if file == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: file) else {
                let exists = FileManager.default.fileExists(atPath: file)
                throw CtlError(
                    exists ? .permissionDenied : .notFound, "\(file): " + (exists ? "cannot be read" : "no such file"))
            }
            data = contents
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CtlError.invalidInput("\(file) is not UTF-8 text")
        }
        let kind: String
        if let format {
            kind = format.lowercased()
        } else if file.lowercased().hasSuffix(".json") {
            kind = "json"
        } else if file.lowercased().hasSuffix(".csv") {
            kind = "csv"
        } else {
            let first = text.first { !$0.isWhitespace }
            kind = first == "{" || first == "[" ? "json" : "csv"
        }
        let parsed: (items: [ImportItem], rejected: [ImportRejection], indicators: [Coop_V1_Indicator])
        if kind == "json" {
            parsed = try FiguresFile.readJSON(text)
        } else {
            let csv = try FiguresFile.read(text)
            parsed = (csv.items, csv.rejected, [])
        }

        let progress = Terminal.stderrIsTerminal ? ProgressBar(label: dryRun ? "checking" : "importing") : nil
        let summary: ImportSummary
        do {
            summary = try await connection.run { client in
                var importer = Importer(client: client, options: connection.callOptions, digest: SHA256.hex(data))
                importer.batchSize = batchSize
                importer.dryRun = dryRun
                importer.createIndicators = createIndicators
                importer.revise = revisions
                importer.progress = progress.map { bar in { done, total in bar.update(done, total) } }
                do {
                    return try await importer.run(
                        items: parsed.items, rejected: parsed.rejected, indicators: parsed.indicators)
                } catch let stopped as ImportStopped {
                    progress?.finish()
                    Console.err(stopped.summary.text())
                    throw stopped.error
                }
            }
        } catch {
            progress?.finish()
            throw error
        }
        progress?.finish()
        Console.out(json ? summary.json(file: file) : summary.text())
        if !summary.rejected.isEmpty {
            throw CtlError(.invalidArgument, "\(summary.rejected.count) of \(summary.rows) rows rejected (listed above)")
        }
    }
}

/// A one-line progress bar on stderr, redrawn in place.
final class ProgressBar: @unchecked Sendable {
    let label: String
    private var drawn = false

    init(label: String) { self.label = label }

    func update(_ done: Int, _ total: Int) {
        let width = 30
        let fraction = total == 0 ? 1 : Double(done) / Double(total)
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        Console.err("\r\(label) \(bar) \(done)/\(total)", terminator: "")
        drawn = true
    }

    func finish() {
        if drawn { Console.err("\r\u{1B}[K", terminator: "") }
        drawn = false
    }
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export figures as CSV (the shipped dataset's format, the default) or JSON, for import.",
        discussion: """
            Every vintage (--latest-only: the latest), totals and every breakdown (--breakdown: only the \
            breakdowns named), without retracted values (--retracted: with them). \
            The CSV is what coopctl import reads, so export then import round-trips; it carries what the \
            dataset format has (no locator, and of statuses only provisional). --json is lossless: \
            {"observations": [...], "sources": [...], "indicators": [...]}.

            Example:
              coopctl export --from VN --to JP > vn-jp.csv
            """)

    @OptionGroup var filters: FigureFilters

    @Flag(help: "Only the latest vintage of each figure.")
    var latestOnly = false

    @Option(
        name: [.short, .long], help: ArgumentHelp("Write to this file instead of stdout.", valueName: "file"),
        completion: .file())
    var output: String?

    @Flag(help: "Write JSON.")
    var json = false

    @Flag(help: "Write CSV (the default).")
    var csv = false

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if json && csv { throw ValidationError("--json and --csv cannot be used together") }
    }

    func run() async throws {
        let request = try filters.request(allVintages: !latestOnly, anyBreakdown: filters.breakdown.isEmpty)
        let (observations, sources, indicators) = try await connection.run { client in
            let (observations, sources) = try await fetchObservations(client, request, connection.callOptions)
            let used = Set(observations.map(\.indicator))
            let indicators = try await client.listIndicators(options: connection.callOptions).filter { used.contains($0.code) }
            return (observations, sources, indicators)
        }
        let byID = Dictionary(sources.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var text: String
        if json {
            text = JSONOutput.object([
                ("observations", try JSONOutput.array(observations)), ("sources", try JSONOutput.array(sources)),
                ("indicators", try JSONOutput.array(indicators)),
            ]) + "\n"
        } else {
            text = FiguresFile.header() + "\n"
            for o in observations { text += FiguresFile.line(o, source: byID[o.sourceID]) + "\n" }
        }
        if let output, output != "-" {
            do {
                try text.write(toFile: output, atomically: true, encoding: .utf8)
            } catch {
                throw CtlError(.failure, "cannot write \(output): \(error.localizedDescription)")
            }
            Console.err("exported \(observations.count) observations to \(output)")
        } else {
            Console.out(text, terminator: "")
        }
    }
}
