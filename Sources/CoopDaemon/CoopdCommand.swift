import ArgumentParser
import Foundation
import NIOPosix
import Logging
import CoopStore
import CoreMetrics

/// `coopd`: the command line of the daemon. Serving is the default subcommand, so `coopd --socket …` serves.
public struct CoopdCommand: AsyncParsableCommand {
    /// Starts the event loops' threads on the calling thread's scheduling: call it first, on the main thread.
    /// A thread inherits its niceness from the thread that creates it, and libdispatch runs its workers (where
    /// async code runs) at the niceness of their QoS, 0 whatever coopd was started with: started from there, the
    /// loops that answer every call would run at nice 0 under `nice -n -10 coopd` or systemd's `Nice=`.
    /// The threads of long reads (`NIOThreadPool.singleton`) start here too, for the same reason, and the
    /// PostgreSQL store's threads are started from a thread started here.
    public static func startEventLoops() {
        _ = MultiThreadedEventLoopGroup.singleton.next()
        _ = NIOThreadPool.singleton
        PostgresStore.startThreadsFromHere()
    }

    public static let configuration = CommandConfiguration(
        commandName: "coopd",
        abstract: "Serve bilateral cooperation data over ttrpc on a Unix socket.",
        version: CoopdVersion.string,
        subcommands: [Serve.self, Backup.self, CopyStore.self],
        defaultSubcommand: Serve.self
    )

    public init() {}
}

/// `coopd serve` (the default): run the daemon.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve bilateral cooperation data over ttrpc on a Unix socket (the default).",
        discussion: """
            Run by hand, coopd listens on $XDG_RUNTIME_DIR/coopd/coopd.sock and keeps its data in \
            $XDG_STATE_HOME/coopd. Under systemd it takes the socket systemd passes (socket activation) \
            or $RUNTIME_DIRECTORY/coopd.sock, and keeps data in $STATE_DIRECTORY.

            Every option can also be set as an environment variable (COOPD_SOCKET, COOPD_LOG_LEVEL, \
            COOPD_MAX_CONNECTIONS, ...) or as "key = value" in the --config file (socket = ..., \
            log-level = ...). Flags win over the environment, the environment over the file. \
            SIGHUP re-reads the file and applies the log level and limits; SIGTERM and SIGINT stop \
            accepting, let running calls finish (--shutdown-timeout), and exit 0.

            Metrics (calls by method and status code, call durations, calls in flight, connections, bytes, \
            write groups and commit durations, response cache, WatchChanges subscribers) are served in the \
            Prometheus text format by coop.v1.Diagnostics/GetMetrics (coopctl metrics) and, with \
            --metrics-listen, over HTTP at /metrics, on a loopback port or a Unix socket (bound with \
            --socket-mode). The shipped coopd.service has no network and Unix sockets only \
            (PrivateNetwork=yes, RestrictAddressFamilies=AF_UNIX, IPAddressDeny=any): a TCP port there needs a \
            drop-in that lifts them (see the README, "Metrics").
            """
    )

    @Option(help: "Unix socket path to listen on (when systemd passes no socket).")
    var socket: String?

    @Option(help: "Octal mode of the socket file coopd creates (default 0660).")
    var socketMode: String?

    @Option(help: "Directory for the database.")
    var stateDirectory: String?

    @Option(help: ArgumentHelp(
        "The store: sqlite:PATH (default: coop.sqlite in the state directory) or postgresql://USER@HOST/DATABASE "
            + "(a Unix socket directory as ?host=/run/postgresql), shared by many coopd.",
        valueName: "url"))
    var database: String?

    @Option(help: ArgumentHelp(
        "A streaming standby of the PostgreSQL database that serves reads; this coopd's own writes stay visible "
            + "(a read waits up to replay_wait_ms=100 for the standby to replay them, else asks the primary).",
        valueName: "url"))
    var databaseRead: String?

    @Option(help: "File holding the PostgreSQL password (default: the systemd credential database-password).")
    var databasePasswordFile: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (default info).")
    var logLevel: String?

    @Option(help: "Configuration file of key = value lines, re-read on SIGHUP.")
    var config: String?

    @Option(help: "Most connections open at once (default 1024; lowered to fit the file-descriptor limit).")
    var maxConnections: String?

    @Option(help: "Most connections one uid may hold; root and coopd's own uid are exempt (default 256).")
    var maxConnectionsPerUid: String?

    @Option(help: "Most calls running at once on one connection (default 256).")
    var maxCallsPerConnection: String?

    @Option(help: "KiB of answers queued for one client before coopd stops reading its requests (default 256).")
    var maxQueuedOutputKib: String?

    @Option(help: "Close connections idle this many seconds; 0 never (default 300). A running stream is not idle.")
    var idleTimeout: String?

    @Option(help: "Close a connection whose frame stays incomplete this many seconds (default 10).")
    var partialFrameTimeout: String?

    @Option(help: "End a server stream whose client stops reading for this many seconds (default 5).")
    var streamStallTimeout: String?

    @Option(help: "Close a connection whose client leaves its answers unread this many seconds (default 30).")
    var outputStallTimeout: String?

    @Option(help: "Seconds running calls get to finish after SIGTERM (default 10).")
    var shutdownTimeout: String?

    @Option(help: "Users allowed to write, besides root and coopd's own user: names or uids, comma-separated.")
    var writerUid: String?

    @Option(help: "Groups whose members (by primary group) may write: names or gids, comma-separated.")
    var writerGid: String?

    @Option(help: "MiB of read answers kept for repeated requests between writes (default 8; 0 = off).")
    var responseCacheMib: String?

    @Option(
        help: ArgumentHelp(
            "Also serve metrics over HTTP (GET /metrics, Prometheus text) on a loopback port (127.0.0.1:9464, "
                + "[::1]:9464, localhost:9464) or a Unix socket path; no other address is accepted.",
            valueName: "address"))
    var metricsListen: String?

    @Flag(inversion: .prefixedNo, help: "Load the shipped Vietnam–Japan dataset into an empty database (default yes).")
    var seed: Bool?

    func run() async throws {
        let load = configurationLoader(config: config, flags: flags)
        let level = LogLevelSetting(.info)
        let journal = StderrLogHandler.stderrIsJournal()
        // COOPD_JOURNAL_FIELDS=no keeps records on the stream (priority-prefixed lines, no fields).
        let fields = journal && ProcessInfo.processInfo.environment["COOPD_JOURNAL_FIELDS"] != "no"
        LoggingSystem.bootstrap { label -> any LogHandler in
            fields
                ? JournalLogHandler(label: label, level: level)
                : StderrLogHandler(label: label, level: level, journal: journal)
        }
        let logger = Logger(label: "coopd")

        let status = await Daemon(load: load, logLevel: level, logger: logger).run()
        if status != 0 { throw ExitCode(status) }
    }

    private var flags: [(String, String?)] {
        [
            ("socket", socket), ("socket-mode", socketMode), ("state-directory", stateDirectory),
            ("log-level", logLevel), ("max-connections", maxConnections),
            ("max-connections-per-uid", maxConnectionsPerUid),
            ("max-calls-per-connection", maxCallsPerConnection), ("max-queued-output-kib", maxQueuedOutputKib),
            ("idle-timeout", idleTimeout), ("partial-frame-timeout", partialFrameTimeout),
            ("stream-stall-timeout", streamStallTimeout), ("output-stall-timeout", outputStallTimeout),
            ("shutdown-timeout", shutdownTimeout), ("writer-uid", writerUid), ("writer-gid", writerGid),
            ("seed", seed.map { $0 ? "yes" : "no" }), ("response-cache-mib", responseCacheMib),
            ("database", database), ("database-read", databaseRead), ("database-password-file", databasePasswordFile),
            ("metrics-listen", metricsListen),
        ]
    }
}

/// `coopd copy-store --from URL --to URL`: moves a deployment between stores (SQLite to PostgreSQL, or back).
struct CopyStore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy-store",
        abstract: "Copy every entity from one store into a new, empty one, with ids, links, vintages and the change log.",
        discussion: """
            For moving a deployment: coopd copy-store --from sqlite:/var/lib/coopd/coop.sqlite \
            --to postgresql:///coop?host=/run/postgresql. The destination is migrated, must hold no data yet \
            (no seed), and is written in one transaction: a failed copy leaves it empty. Stop the coopd writing \
            to the source first, or writes made during the copy are left behind. Prints the rows copied per table.
            """)

    @Option(help: ArgumentHelp("The store to copy: sqlite:PATH or postgresql://USER@HOST/DATABASE.", valueName: "url"))
    var from: String

    @Option(help: ArgumentHelp("The store to fill, holding no data: sqlite:PATH or postgresql://USER@HOST/DATABASE.", valueName: "url"))
    var to: String

    @Option(help: "File holding the PostgreSQL password, for a URL without one.")
    var databasePasswordFile: String?

    func run() async throws {
        let logger = Logger(label: "coopd.copy-store")
        func open(_ text: String, mustExist: Bool) throws -> SQLStore {
            let location = try DatabaseLocation(parsing: text)
            if mustExist, case .sqlite(let path) = location, !FileManager.default.fileExists(atPath: path) {
                throw ValidationError("--from: no database at \(path)")
            }
            return try Daemon.openStore(
                location, passwordFile: databasePasswordFile, metrics: NOOPMetricsHandler.instance, logger: logger)
        }
        do {
            let source = try open(from, mustExist: true)
            let destination = try open(to, mustExist: false)
            let report = try await StoreCopy.copy(from: source, to: destination)
            try destination.closeStore()
            try source.closeStore()
            for table in report.tables {
                print("\(table.name): \(table.rows)")
            }
            print("copied \(try DatabaseLocation(parsing: from)) to \(try DatabaseLocation(parsing: to)); "
                + "change log up to \(report.latestSequence)")
        } catch let error as StoreError {
            FileHandle.standardError.write(Data("coopd copy-store: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// `coopd backup FILE`: a consistent copy of the database, taken while the daemon serves.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the database to FILE with SQLite's online backup API, while coopd keeps serving.",
        discussion: """
            The copy is one consistent snapshot in a single file, checked with PRAGMA integrity_check. Find the \
            database as coopd does (--state-directory, COOPD_STATE_DIRECTORY, $STATE_DIRECTORY, the per-user \
            default; under systemd's DynamicUser: /var/lib/coopd, run as root). To restore: stop coopd, replace \
            coop.sqlite in the state directory with the copy (and delete coop.sqlite-wal and coop.sqlite-shm), \
            start coopd.
            """)

    @Argument(help: "Where to write the copy (must not exist).")
    var output: String

    @Option(help: "Directory holding coop.sqlite.")
    var stateDirectory: String?

    @Option(help: "Configuration file of key = value lines.")
    var config: String?

    func run() async throws {
        let configuration = try configurationLoader(config: config, flags: [("state-directory", stateDirectory)])()
        let database = configuration.stateDirectory + "/coop.sqlite"
        do {
            let result = try SQLiteStore.backup(databaseAt: database, to: output)
            guard result.integrity == ["ok"] else {
                print("backup written to \(result.path) but integrity_check says: \(result.integrity.joined(separator: "; "))")
                throw ExitCode(1)
            }
            print("backed up \(database) to \(result.path): \(result.bytes) bytes, change log up to \(result.latestSequence), integrity ok")
        } catch let error as StoreError {
            print("coopd backup: \(error)")
            throw ExitCode(1)
        }
    }
}

/// Builds the configuration as the daemon does: defaults, then the file, then `COOPD_*`, then flags.
func configurationLoader(config: String?, flags: [(String, String?)]) -> Daemon.ConfigurationLoader {
    let environment = ProcessInfo.processInfo.environment
    let configFile = config ?? environment["COOPD_CONFIG"]
    return {
        var configuration = DaemonConfiguration.defaults(environment: environment)
        if let configFile {
            let contents: String
            do {
                contents = try String(contentsOfFile: configFile, encoding: .utf8)
            } catch {
                throw ConfigurationError("cannot read \(configFile): \(error.localizedDescription)")
            }
            try configuration.apply(fileContents: contents, path: configFile)
        }
        for key in DaemonConfiguration.keys {
            if let value = environment[DaemonConfiguration.environmentName(key)] {
                do {
                    try configuration.apply(key: key, value: value)
                } catch let error as ConfigurationError {
                    throw ConfigurationError("\(DaemonConfiguration.environmentName(key)): \(error)")
                }
            }
        }
        for case let (key, value?) in flags {
            do {
                try configuration.apply(key: key, value: value)
            } catch let error as ConfigurationError {
                throw ConfigurationError("--\(error)")
            }
        }
        return configuration
    }
}
