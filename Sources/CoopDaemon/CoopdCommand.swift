import ArgumentParser
import Foundation
import Logging

/// `coopd`: the command line of the daemon.
public struct CoopdCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "coopd",
        abstract: "Serve bilateral cooperation data over ttrpc on a Unix socket.",
        discussion: """
            Run by hand, coopd listens on $XDG_RUNTIME_DIR/coopd/coopd.sock and keeps its data in \
            $XDG_STATE_HOME/coopd. Under systemd it takes the socket systemd passes (socket activation) \
            or $RUNTIME_DIRECTORY/coopd.sock, and keeps data in $STATE_DIRECTORY.

            Every option can also be set as an environment variable (COOPD_SOCKET, COOPD_LOG_LEVEL, \
            COOPD_MAX_CONNECTIONS, ...) or as "key = value" in the --config file (socket = ..., \
            log-level = ...). Flags win over the environment, the environment over the file. \
            SIGHUP re-reads the file and applies the log level and limits; SIGTERM and SIGINT stop \
            accepting, let running calls finish (--shutdown-timeout), and exit 0.
            """,
        version: CoopdVersion.string
    )

    @Option(help: "Unix socket path to listen on (when systemd passes no socket).")
    var socket: String?

    @Option(help: "Octal mode of the socket file coopd creates (default 0660).")
    var socketMode: String?

    @Option(help: "Directory for the database.")
    var stateDirectory: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (default info).")
    var logLevel: String?

    @Option(help: "Configuration file of key = value lines, re-read on SIGHUP.")
    var config: String?

    @Option(help: "Most connections open at once (default 1024).")
    var maxConnections: String?

    @Option(help: "Most calls running at once on one connection (default 256).")
    var maxCallsPerConnection: String?

    @Option(help: "Close connections idle this many seconds; 0 never (default 0).")
    var idleTimeout: String?

    @Option(help: "Close a connection whose frame stays incomplete this many seconds (default 10).")
    var partialFrameTimeout: String?

    @Option(help: "End a server stream whose client stops reading for this many seconds (default 5).")
    var streamStallTimeout: String?

    @Option(help: "Seconds running calls get to finish after SIGTERM (default 10).")
    var shutdownTimeout: String?

    @Option(help: "Users allowed to write, besides root and coopd's own user: names or uids, comma-separated.")
    var writerUid: String?

    @Option(help: "Groups whose members (by primary group) may write: names or gids, comma-separated.")
    var writerGid: String?

    @Flag(inversion: .prefixedNo, help: "Load the shipped Vietnam–Japan dataset into an empty database (default yes).")
    var seed: Bool?

    public init() {}

    public func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let flags: [(String, String?)] = [
            ("socket", socket), ("socket-mode", socketMode), ("state-directory", stateDirectory),
            ("log-level", logLevel), ("max-connections", maxConnections),
            ("max-calls-per-connection", maxCallsPerConnection), ("idle-timeout", idleTimeout),
            ("partial-frame-timeout", partialFrameTimeout), ("stream-stall-timeout", streamStallTimeout),
            ("shutdown-timeout", shutdownTimeout), ("writer-uid", writerUid), ("writer-gid", writerGid),
            ("seed", seed.map { $0 ? "yes" : "no" }),
        ]
        let configFile = config ?? environment["COOPD_CONFIG"]
        let load: Daemon.ConfigurationLoader = {
            var configuration = DaemonConfiguration.defaults(environment: environment)
            if let configFile {
                let contents: String
                do {
                    contents = try String(contentsOfFile: configFile, encoding: .utf8)
                } catch {
                    throw ConfigurationError("cannot read \(configFile): \(error.localizedDescription)")
                }
                try configuration.apply(fileContents: contents, path: configFile)
                configuration.configFile = configFile
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

        let level = LogLevelSetting(.info)
        let journal = StderrLogHandler.stderrIsJournal()
        LoggingSystem.bootstrap { label in StderrLogHandler(label: label, level: level, journal: journal) }
        let logger = Logger(label: "coopd")

        let status = await Daemon(load: load, logLevel: level, logger: logger).run()
        if status != 0 { throw ExitCode(status) }
    }
}
