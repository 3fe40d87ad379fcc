import ArgumentParser
import CoopClient
import CoopFormats
import CoopProto
import CoopWire
import Foundation

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import figures from CSV (the shipped dataset's format) or JSON, or restore a dump; safe to re-run.",
        discussion: """
            CSV columns: \(FiguresTable.columns.joined(separator: ",")). An indicator written CODE:VALUE is \
            broken down by status_of_residence=VALUE; value and unit are as published ("2.6","trillion JPY"); \
            qualifier is exact, approx, at_least, at_most, derived, as_worded or provisional; source_date is \
            the value's vintage. JSON: the output of figures --json or export --json, or an array of observations; \
            the conflicts_with links between its observations are made too.

            Missing sources are created first (matched by URL), and missing indicators (from the file's \
            descriptions, else described by their code). Rows already present — same indicator, pair, \
            breakdown, period, value, source and vintage — are skipped, so importing a file twice changes \
            nothing. Other rows are stored with AddObservations in batches (all of a batch or none) whose \
            request ids derive from the file's content, so a re-run after an interruption repeats nothing. \
            A later vintage of a figure already stored is stored as its revision.

            A progress bar is drawn on stderr when it is a terminal. The summary lists imported, skipped and \
            rejected rows (with line numbers and reasons); any rejected row makes the exit status 5.

            A dump (export --all, "format": "coopd-dump") is restored whole into an empty coopd (coopd --no-seed): \
            indicators, sources, observations with their revisions and retractions, conflict links, events, \
            agreements, statements and relationships, in that order, each kind in the dump's order, so exporting \
            again gives the same document byte for byte. Request ids derive from the document, so running the \
            same import again repeats nothing. Into a coopd that already holds exactly the dump, nothing is done; \
            into one holding anything else it is refused unless --force (to resume an interrupted import of the \
            same file, or to add the dump beside what is there), which always runs the import.

            Examples:
              coopctl import vn-jp-figures.csv
              coopctl export --all -o coopd-dump.json && coopctl --socket /tmp/new/coopd.sock import coopd-dump.json
            """)

    @Argument(help: "File to import ('-' for stdin).", completion: .file(extensions: ["csv", "json"]))
    var file: String

    @Option(help: "csv or json (default: from the extension, else the content).")
    var format: String?

    @Option(help: "Observations per AddObservations batch, 1 to 1000; a dump goes in batches of at most 200.")
    var batchSize = 200

    @Flag(help: "Check and count without writing.")
    var dryRun = false

    @Flag(inversion: .prefixedNo, help: "Create indicators the file uses that coopd lacks.")
    var createIndicators = true

    @Flag(inversion: .prefixedNo, help: "Store a later vintage of a stored figure as its revision.")
    var revisions = true

    @Flag(help: "Restore a dump whatever coopd holds (resumes an interrupted import of it; repeats nothing done).")
    var force = false

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
        if kind == "json", let dump = try Dump.decode(text) {
            return try await restore(dump, digest: SHA256.hex(data))
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

extension Import {
    /// Restores a dump (see `Dump`), after checking that coopd is empty or already holds it.
    func restore(_ dump: Dump, digest: String) async throws {
        let progress = Terminal.stderrIsTerminal ? ProgressBar(label: dryRun ? "checking" : "restoring") : nil
        defer { progress?.finish() }
        let summary = try await connection.run { client in
            let options = connection.callOptions
            if !force, try await !Dump.targetIsEmpty(client, options) {
                let held = try await Dump.fetch(client, options)
                if try held.encoded() == dump.encoded() {
                    return DumpSummary(dryRun: dryRun, alreadyPresent: true)
                }
                guard force else {
                    throw CtlError(
                        .conflict,
                        "coopd already holds data (\(held.counts)); a dump is restored into an empty coopd "
                            + "(coopd --no-seed). To resume an interrupted import of this file, or to add the dump "
                            + "beside what is there, run again with --force")
                }
            }
            var importer = DumpImporter(client: client, options: options, digest: digest)
            importer.dryRun = dryRun
            importer.progress = progress.map { bar in { done, total in bar.update(done, total) } }
            return try await importer.run(dump)
        }
        progress?.finish()
        Console.out(json ? summary.json(file: file) : summary.text())
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
        abstract: "Export figures as CSV (the shipped dataset's format, the default) or JSON, or everything as a dump.",
        discussion: """
            Every vintage (--latest-only: the latest), totals and every breakdown (--breakdown: only the \
            breakdowns named), without retracted values (--retracted: with them). \
            The CSV is what coopctl import reads, so export then import round-trips; it carries what the \
            dataset format has (no locator, and of statuses only provisional). --json is lossless: \
            {"observations": [...], "sources": [...], "indicators": [...]}.

            --all writes everything coopd holds as one JSON document (a dump), which coopctl import restores \
            into an empty coopd:

              {"format": "coopd-dump", "version": 1,
               "indicators": [...], "sources": [...], "observations": [...], "conflicts": [...],
               "events": [...], "agreements": [...], "statements": [...], "relationships": [...]}

            one entity per line, each as --json prints it. observations holds every vintage (supersedes_id, \
            superseded_by_id), retracted ones with retraction_reason, and the figures statements claim; \
            conflicts holds each link once, {"observation_id": A, "conflicts_with_id": B, "note": "..."} with \
            A < B; events keep related_event_ids, statements their speaker, claim_observation_id and \
            conflicts_with, relationships their history. Indicators are ordered by code, relationships by pair, \
            the rest by id. Ids are the dump's own: each kind numbered 1, 2, 3… in coopd's order, references \
            alike, so the same data gives the same bytes from any coopd. What coopd assigns itself (change-log \
            sequences, times) is left out.

            Examples:
              coopctl export --from VN --to JP > vn-jp.csv
              coopctl export --all -o coopd-dump.json
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

    @Flag(help: "Everything coopd holds, as one JSON document (a dump) for import into an empty coopd.")
    var all = false

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if json && csv { throw ValidationError("--json and --csv cannot be used together") }
        if all && (csv || latestOnly || filters.isSet) {
            throw ValidationError("--all writes everything, as JSON: it takes no filters, --latest-only or --csv")
        }
    }

    func run() async throws {
        if all { return try await exportDump() }
        var request = try filters.request(allVintages: !latestOnly, anyBreakdown: filters.breakdown.isEmpty)
        // A copy to import elsewhere: claims too (import files them under their claim indicators again).
        request.includeClaims = true
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
            text = FiguresTable.header() + "\n"
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

    private func exportDump() async throws {
        let dump = try await connection.run { client in try await Dump.fetch(client, connection.callOptions) }
        let text = try dump.encoded()
        if let output, output != "-" {
            do {
                try text.write(toFile: output, atomically: true, encoding: .utf8)
            } catch {
                throw CtlError(.failure, "cannot write \(output): \(error.localizedDescription)")
            }
            Console.err("exported \(dump.counts) to \(output)")
        } else {
            Console.out(text, terminator: "")
        }
    }
}
