#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CoopClient
import CoopFormats
import Foundation

/// `coopctl`: the command-line client of coopd.
public struct Coopctl: AsyncParsableCommand {
    public static let version = "0.1.0"

    public static let configuration = CommandConfiguration(
        commandName: "coopctl",
        abstract: "Query and update coopd's bilateral cooperation data from the shell.",
        discussion: """
            coopctl talks to coopd over its Unix socket: --socket PATH, else $COOP_SOCKET (or $COOPD_SOCKET), \
            else /run/coopd/coopd.sock (systemd), then the per-user socket $XDG_RUNTIME_DIR/coopd/coopd.sock \
            (/tmp/coopd-$UID/coopd.sock without XDG_RUNTIME_DIR). When none answers it lists each path tried and \
            why it failed.

            Output is an aligned table fitted to the terminal's width ($COLUMNS, else the window size; never \
            cut when piped) by cutting free text (titles, names, notes) with an ellipsis; codes, ids, dates and \
            numbers stay whole. --json prints one JSON document (JSON lines for watch) in the protobuf JSON \
            mapping with the .proto's field names; --csv prints CSV with full values. Dates may be partial: \
            2023, 2023-06, 2023-06-30. Countries are ISO 3166-1 alpha-2 codes; _T means all partners.

            Reading needs only access to the socket. Writing needs a writer uid (root, coopd's own user, or one \
            given to coopd --writer-uid / --writer-gid). Every write carries a request id (--request-id, random \
            by default): retrying with the same id applies the write once.

            The options shared by every command (--socket, --timeout, --json, --csv) may also come before \
            the subcommand. Errors are one line naming coopd's status and what to do.

            \(ExitStatus.documentation)

            Shell completions: coopctl --generate-completion-script bash|zsh|fish.
            """,
        version: version,
        subcommands: [],
        groupedSubcommands: [
            CommandGroup(name: "Daemon", subcommands: [Ping.self, Health.self, Info.self, MetricsCommand.self]),
            CommandGroup(
                name: "Reading",
                subcommands: [
                    Countries.self, Indicators.self, Figures.self, Series.self, Events.self, Agreements.self,
                    Statements.self, Sources.self, Search.self, Summary.self, Watch.self,
                ]),
            CommandGroup(
                name: "Writing",
                subcommands: [
                    SourceCommand.self, IndicatorCommand.self, FigureCommand.self, EventCommand.self,
                    AgreementCommand.self, StatementCommand.self, ConflictCommand.self,
                ]),
            CommandGroup(name: "Bulk", subcommands: [Import.self, Export.self]),
        ]
    )

    public init() {}

    /// Parses the command line, runs the command, and exits with coopctl's status for what happened.
    public static func runMain(arguments: [String]? = nil) async -> Never {
        let status: ExitStatus
        do {
            // The async parse: it also answers the shell's requests for completions (CodeCompletion) by asking coopd.
            var command = try await asyncParseAsRoot(
                hoistingGlobalOptions(arguments ?? Array(CommandLine.arguments.dropFirst())))
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            status = .ok
        } catch {
            status = report(error)
        }
        Console.flush()
        Glibc.exit(status.rawValue)
    }

    /// `coopctl --socket PATH health` means `coopctl health --socket PATH`: the options every command shares
    /// may come before the subcommand; they are moved after it.
    static func hoistingGlobalOptions(_ arguments: [String]) -> [String] {
        let withValue: Set<String> = ["--socket", "--timeout"]
        let flags: Set<String> = ["--json", "--csv"]
        var leading: [String] = []
        var rest = arguments[...]
        while let first = rest.first {
            let name = first.split(separator: "=", maxSplits: 1).first.map(String.init) ?? first
            if withValue.contains(name) {
                leading.append(first)
                rest = rest.dropFirst()
                if !first.contains("="), let value = rest.first {
                    leading.append(value)
                    rest = rest.dropFirst()
                }
            } else if flags.contains(first) {
                leading.append(first)
                rest = rest.dropFirst()
            } else {
                break
            }
        }
        if leading.isEmpty || rest.isEmpty { return arguments }
        // After the subcommand path, before a "--" terminator if there is one.
        var tail = Array(rest)
        let end = tail.firstIndex(of: "--") ?? tail.endIndex
        tail.insert(contentsOf: leading, at: end)
        return tail
    }

    /// Prints `error` (help and completion scripts to stdout, failures to stderr) and returns the exit status.
    static func report(_ error: any Error) -> ExitStatus {
        if let error = error as? CtlError {
            Console.flush()
            Console.err("coopctl: " + error.message)
            return error.status
        }
        if let error = error as? RPCError {
            return report(CtlError.from(error))
        }
        if let error = error as? FormatError {
            return report(CtlError.invalidInput(error.message))
        }
        if let code = error as? ExitCode {
            return code.rawValue == 0 ? .ok : .failure
        }
        let code = exitCode(for: error)
        let message = fullMessage(for: error)
        if code == .success {
            if !message.isEmpty { Console.out(message) }
            return .ok
        }
        if code == .validationFailure {
            Console.err(message)
            return .usage
        }
        Console.err("coopctl: " + (message.isEmpty ? "\(error)" : message))
        return .failure
    }
}
