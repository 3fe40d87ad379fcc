#if canImport(Glibc)
import Glibc
#endif
import CoopServer
import Foundation
import CoopStore
import CoopWire
import CoreMetrics
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The running daemon: binds (or takes systemd's socket), serves, and follows systemd's lifecycle.
public struct Daemon: Sendable {
    /// Builds the configuration from scratch; called at start and again on every SIGHUP.
    public typealias ConfigurationLoader = @Sendable () throws -> DaemonConfiguration

    private let load: ConfigurationLoader
    private let logLevel: LogLevelSetting
    private let logger: Logger

    public init(load: @escaping ConfigurationLoader, logLevel: LogLevelSetting, logger: Logger) {
        self.load = load
        self.logLevel = logLevel
        self.logger = logger
    }

    /// Runs until SIGTERM or SIGINT; returns the process exit status.
    public func run() async -> Int32 {
        // Trap the stop signals before binding: until the service group traps its own, SIGTERM would kill
        // the process (socket file left behind, no STOPPING=1). One caught early is handed to the group below.
        let earlyStops = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        var configuration: DaemonConfiguration
        do {
            configuration = try load()
        } catch {
            return fail("configuration: \(error)")
        }
        logLevel.level = configuration.logLevel

        let address: ListenAddress
        let passed = Systemd.listenSockets()
        if let socket = passed.first(where: { $0.name == "coopd" }) ?? passed.first {
            guard Systemd.isListeningUnixStreamSocket(socket.fd) else {
                return fail("the socket systemd passed (fd \(socket.fd), \(socket.name)) is not a listening Unix stream socket")
            }
            if passed.count > 1 {
                logger.warning("systemd passed several sockets; serving only one", metadata: ["fd": "\(socket.fd)"])
            }
            address = .fileDescriptor(socket.fd, path: Systemd.socketPath(of: socket.fd))
        } else {
            address = .path(configuration.socketPath, mode: configuration.socketMode)
        }
        let socketDescription: String
        switch address {
        case .path(let p, _): socketDescription = p
        case .fileDescriptor(_, let p): socketDescription = p ?? "\(address)"
        }

        if let problem = TrustedDirectory.prepare(configuration.stateDirectory, mode: 0o700) {
            return fail("refusing to use the state directory \(configuration.stateDirectory): \(problem)")
        }
        if access(configuration.stateDirectory, W_OK) != 0 {
            return fail("state directory \(configuration.stateDirectory) is not writable: \(String(cString: strerror(errno)))")
        }
        configuration.limits = FileDescriptorLimit.fit(configuration.limits, raise: true, logger: logger)

        // The database, migrated, with the shipped dataset loaded once (a first start takes a moment:
        // systemd hears progress and gets its start timeout extended).
        let location = configuration.database ?? .sqlite(path: configuration.stateDirectory + "/coop.sqlite")
        let metrics = DaemonMetrics()
        let store: SQLStore
        do {
            // Migrating a large database takes a while (storing 10^6 observations in listing order: about 10 s):
            // while the store opens, after the first 5 s, systemd's start timeout is extended 30 s at a time.
            let opening = Task.detached {
                try? await Task.sleep(for: .seconds(5))
                while !Task.isCancelled {
                    Systemd.notify("STATUS=opening the database\nEXTEND_TIMEOUT_USEC=30000000")
                    try? await Task.sleep(for: .seconds(10))
                }
            }
            defer { opening.cancel() }
            store = try Self.openStore(
                location, readLocation: configuration.databaseRead, passwordFile: configuration.databasePasswordFile,
                metrics: metrics.factory, logger: logger)
            logger.info("store open", metadata: [
                "database": "\(location)", "database_read": "\(configuration.databaseRead.map { "\($0)" } ?? "none")",
            ])
            if configuration.seed {
                // A status line per step would be hundreds of datagrams; a few a second tell as much.
                var lastNotified: UInt64 = 0
                try await store.importSeedIfNeeded { line in
                    logger.debug("\(line)")
                    let now = Systemd.monotonicMicroseconds()
                    if now - lastNotified >= 250_000 {
                        lastNotified = now
                        Systemd.notify("STATUS=\(line)\nEXTEND_TIMEOUT_USEC=30000000")
                    }
                }
            }
        } catch {
            return fail("cannot open the database \(location): \(error)")
        }

        let group = MultiThreadedEventLoopGroup.singleton
        let health = HealthState()
        let info = DaemonInfo.now(socketPath: socketDescription)
        let serverBox = LockedBox<TTRPCServer?>(nil)
        let writers = LockedBox(configuration.writers)
        let server: TTRPCServer
        do {
            var router = try Router()
            try router.register(
                try DiagnosticsService.definition(server: { serverBox.value }, info: info, metrics: metrics))
            let cache = configuration.responseCacheBytes > 0
                ? ResponseCache(maximumBytes: configuration.responseCacheBytes) : nil
            try router.register(
                try CooperationService(store: store, policy: writers, logger: logger, cache: cache).definition())
            let names = LockedBox<[String]>([])
            try router.register(try HealthService.definition(health: health, services: { names.value }))
            names.value = router.serviceNames
            server = TTRPCServer(router: router, limits: configuration.limits, group: group, logger: logger)
            serverBox.value = server
            metrics.attach(.init(stats: server.stats, cache: cache, watchSubscribers: { store.sequenceSubscriberCount }))
        } catch {
            return fail("cannot set up services: \(error)")
        }

        // Trap SIGHUP before announcing readiness: systemd counts death by SIGHUP as a clean exit.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        var metricsServer: MetricsHTTPServer?
        if let listen = configuration.metricsListen {
            do {
                metricsServer = try await MetricsHTTPServer.start(
                    listen, socketMode: configuration.socketMode, group: group, render: { metrics.render() })
            } catch {
                return fail("cannot serve metrics on \(listen) (--metrics-listen): \(error)")
            }
            logger.notice("serving metrics at \(metricsServer!.url)")
        }
        do {
            try await server.start(address)
        } catch {
            await metricsServer?.stop()
            return fail("cannot listen on \(socketDescription): \(error)")
        }
        Systemd.notify("READY=1\nSTATUS=serving on \(socketDescription)")
        logger.notice("coopd \(CoopdVersion.string) ready", metadata: ["socket": "\(socketDescription)", "pid": "\(getpid())"])
        StartupPages.releaseNowAndOnceStarted(logger: logger)

        let current = LockedBox(configuration)
        let drain = Drain(
            server: server, metricsServer: metricsServer, store: store, health: health, current: current, logger: logger)
        let databaseProblem = LockedBox<String?>(nil)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: WatchdogService(group: group, store: store, logger: logger)),
            .init(service: ServingService(drain: drain)),
            .init(service: StatusService(server: server, socket: socketDescription, databaseProblem: databaseProblem)),
            .init(service: ReloadService(
                hangups: hangups, load: load, current: current, server: server, writers: writers, logLevel: logLevel,
                logger: logger)),
        ]
        if store.readThreads != nil {
            services.append(.init(service: DatabaseHealthService(
                store: store, health: health, drain: drain, problem: databaseProblem, logger: logger)))
        }
        var groupConfiguration = ServiceGroupConfiguration(services: services, logger: logger)
        groupConfiguration.gracefulShutdownSignals = [.sigterm, .sigint]
        groupConfiguration.logging.keys.serviceKey = "service"
        let serviceGroup = ServiceGroup(configuration: groupConfiguration)
        // A later signal reaches the group's own trap too; triggering twice is harmless.
        async let _ = {
            for await _ in earlyStops { await serviceGroup.triggerGracefulShutdown() }
        }()
        do {
            try await serviceGroup.run()
        } catch {
            logger.error("stopped on error", metadata: ["error": "\(error)"])
            await drain.run()
            return 1
        }
        // A stop requested before the group started its services ends the group without running them.
        await drain.run()
        logger.notice("coopd stopped")
        return 0
    }

    private func fail(_ message: String) -> Int32 {
        logger.critical("\(message)")
        Systemd.notify("STATUS=failed: \(message)")
        return 1
    }

    /// The password in `file`, else in the systemd credential `database-password` if the unit loads one; nil
    /// without either.
    private static func passwordFromFile(_ file: String?) throws -> String? {
        let credential = ProcessInfo.processInfo.environment["CREDENTIALS_DIRECTORY"].map { $0 + "/database-password" }
        guard let file = file ?? credential.flatMap({ FileManager.default.fileExists(atPath: $0) ? $0 : nil }) else {
            return nil
        }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw ConfigurationError("cannot read the database password file \(file)")
        }
        return text.trimmingCharacters(in: .newlines)
    }

    /// Opens the store `location` names. A PostgreSQL URL without a password takes one from `passwordFile`, or
    /// from the systemd credential `database-password` when the unit loads one (`LoadCredential=`); without
    /// either, the server must trust the connection (peer authentication on its Unix socket). A standby
    /// (`readLocation`) without a password of its own takes the primary's.
    static func openStore(
        _ location: DatabaseLocation, readLocation: PostgresLocation? = nil, passwordFile: String?,
        metrics: any MetricsFactory, logger: Logger
    ) throws -> SQLStore {
        switch location {
        case .sqlite(let path):
            guard readLocation == nil else {
                throw ConfigurationError("--database-read needs a PostgreSQL --database (a standby of it)")
            }
            return try SQLiteStore(path: path, metrics: metrics)
        case .postgres(var postgres):
            if postgres.password == nil { postgres.password = try passwordFromFile(passwordFile) }
            var standby = readLocation
            if standby?.password == nil { standby?.password = postgres.password }
            let store = try PostgresStore(location: postgres, readLocation: standby, metrics: metrics, logger: logger)
            if let standby {
                // Not fatal: reads go to the primary while the standby cannot be reached.
                do {
                    if try store.readLocationIsStandby() == false {
                        logger.warning("--database-read is not a standby (not in recovery); reads go to it all the same",
                                       metadata: ["database_read": "\(standby)"])
                    }
                } catch {
                    logger.warning("the standby cannot be reached now; reads go to the primary until it can",
                                   metadata: ["database_read": "\(standby)", "error": "\(error)"])
                }
            }
            return store
        }
    }

}

/// Connections are file descriptors: more of them than the process may open would make accept fail
/// (and clients hang) long before `--max-connections` refuses them cleanly.
enum FileDescriptorLimit {
    /// Descriptors kept for everything but connections: the database's files, event loops, the journal.
    static let reserved = 64

    /// `limits` with `maxConnections` lowered to what the descriptor limit allows. With `raise`, first lifts
    /// the soft limit to the hard one (a shell's 1024 is a default, not a decision). Says so when it lowers.
    static func fit(_ limits: ServerLimits, raise: Bool, logger: Logger) -> ServerLimits {
        var rl = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &rl) == 0 else { return limits }
        if raise && rl.rlim_cur < rl.rlim_max {
            var raised = rl
            raised.rlim_cur = rl.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 {
                logger.debug("raised the file-descriptor limit", metadata: ["from": "\(rl.rlim_cur)", "to": "\(rl.rlim_max)"])
                rl = raised
            }
        }
        let allowed = max(1, Int(min(rl.rlim_cur, rlim_t(Int.max / 2))) - reserved)
        guard limits.maxConnections > allowed else { return limits }
        var fitted = limits
        fitted.maxConnections = allowed
        logger.notice(
            "max-connections lowered from \(limits.maxConnections) to \(allowed) to fit the file-descriptor limit of \(rl.rlim_cur)",
            metadata: ["hint": "raise LimitNOFILE= (or ulimit -n) to allow more"])
        return fitted
    }
}

/// A value shared between services and replaced at run time (on reload, or once built).
final class LockedBox<Value: Sendable>: Sendable {
    private let mutex: Locked<Value>
    init(_ value: Value) { mutex = Locked(value) }
    var value: Value {
        get { mutex.withLock { $0 } }
        set { mutex.withLock { $0 = newValue } }
    }
}

/// Serves until graceful shutdown, then drains: `STOPPING=1`, stop accepting, finish running calls.
struct ServingService: Service {
    let drain: Drain

    func run() async throws {
        try? await gracefulShutdown()
        await drain.run()
    }
}

/// The stop sequence: `STOPPING=1`, NOT_SERVING, stop accepting, let running calls finish, close the store.
/// Runs once, from whichever path gets there first (the service group, or a stop signal that arrived
/// before the group started its services).
final class Drain: Sendable {
    let server: TTRPCServer
    let metricsServer: MetricsHTTPServer?
    let store: SQLStore
    let health: HealthState
    let current: LockedBox<DaemonConfiguration>
    let logger: Logger
    private let started = Atomic<Bool>(false)

    /// True once the stop sequence has begun.
    var isStopping: Bool { started.load(ordering: .relaxed) }

    init(
        server: TTRPCServer, metricsServer: MetricsHTTPServer?, store: SQLStore, health: HealthState,
        current: LockedBox<DaemonConfiguration>, logger: Logger
    ) {
        self.server = server
        self.metricsServer = metricsServer
        self.store = store
        self.health = health
        self.current = current
        self.logger = logger
    }

    func run() async {
        guard !started.exchange(true, ordering: .relaxed) else { return }
        let inFlight = server.stats.callsInFlight
        Systemd.notify("STOPPING=1\nSTATUS=stopping: finishing \(inFlight) running calls")
        logger.notice("stopping", metadata: ["running_calls": "\(inFlight)"])
        health.status = .notServing
        // Health watchers learn NOT_SERVING before their streams end with UNAVAILABLE.
        try? await Task.sleep(for: .milliseconds(50))
        await server.shutdown(gracePeriod: current.value.shutdownGracePeriod)
        await metricsServer?.stop()
        do {
            try store.closeStore()
        } catch {
            logger.error("closing the database failed", metadata: ["error": "\(error)"])
        }
    }
}

/// Sends `WATCHDOG=1` every half `WATCHDOG_USEC`, but only after every event loop has answered,
/// so a wedged daemon stops petting the watchdog and systemd restarts it.
struct WatchdogService: Service {
    let group: MultiThreadedEventLoopGroup
    let store: any CooperationStore
    let logger: Logger

    func run() async throws {
        guard let interval = Systemd.watchdogInterval() else {
            // Nothing to do, but a service that returns early would stop the group.
            try? await gracefulShutdown()
            return
        }
        logger.debug("watchdog on", metadata: ["interval": "\(interval)"])
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if !(await self.eventLoopsRespond(within: interval)) {
                    self.logger.error("an event loop did not respond; withholding the watchdog ping")
                } else if store.readThreads == nil, let error = await self.storeFails() {
                    // An embedded database that does not answer is a hung coopd; a database server that does not
                    // is not (calls fail with UNAVAILABLE meanwhile, and health says NOT_SERVING).
                    self.logger.error("the database did not answer; withholding the watchdog ping",
                                      metadata: ["error": "\(error)"])
                } else {
                    Systemd.notify("WATCHDOG=1")
                }
                try await Task.sleep(for: interval)
            }
        }
    }

    private func storeFails() async -> (any Error)? {
        do {
            try await store.ping()
            return nil
        } catch {
            return error
        }
    }

    private func eventLoopsRespond(within limit: Duration) async -> Bool {
        let loops = Array(group.makeIterator())
        let deadline = NIODeadline.now() + .nanoseconds(Int64(limit.components.seconds) * 1_000_000_000
            + limit.components.attoseconds / 1_000_000_000)
        for loop in loops {
            let probe = loop.submit {}
            let timeout = loop.scheduleTask(deadline: deadline) {}
            let answered = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let once = Locked(false)
                let resume: @Sendable (Bool) -> Void = { value in
                    if once.withLock({ done in defer { done = true }; return !done }) { continuation.resume(returning: value) }
                }
                probe.whenComplete { _ in resume(true) }
                timeout.futureResult.whenComplete { _ in resume(false) }
            }
            timeout.cancel()
            if !answered { return false }
        }
        return true
    }
}

/// Keeps `STATUS=` current: connections and calls served.
struct StatusService: Service {
    let server: TTRPCServer
    let socket: String
    /// Why the database cannot be used now, when it cannot (see `DatabaseHealthService`).
    let databaseProblem: LockedBox<String?>

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var last = ""
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(2))
                let stats = server.stats
                var line = "serving on \(socket): \(stats.connectionsOpen) connections, "
                    + "\(stats.callsTotal) calls served"
                if let problem = databaseProblem.value {
                    line = "not serving: the database is unavailable (\(problem)); retrying. " + line
                }
                if line != last {
                    Systemd.notify("STATUS=\(line)")
                    last = line
                }
            }
        }
    }
}

/// For a database server (PostgreSQL): asks it every second whether it answers. While it does not, health says
/// NOT_SERVING and `STATUS=` says why; calls meanwhile fail with UNAVAILABLE, and the store connects again by
/// itself. When it answers again, health says SERVING. (The watchdog does not depend on it: a database that is
/// away is not a hung coopd.)
struct DatabaseHealthService: Service {
    let store: any CooperationStore
    let health: HealthState
    let drain: Drain
    let problem: LockedBox<String?>
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let failure: String?
                do {
                    try await store.ping()
                    failure = nil
                } catch {
                    failure = "\(error)"
                }
                guard !drain.isStopping else { return }
                let previous = problem.value
                if let failure, previous == nil {
                    logger.error("the database is unavailable; not serving until it answers",
                                 metadata: ["error": "\(failure)"])
                    health.status = .notServing
                } else if failure == nil, previous != nil {
                    logger.notice("the database answers again; serving")
                    health.status = .serving
                }
                problem.value = failure
                try await Task.sleep(for: .seconds(1))
            }
        }
    }
}

/// On SIGHUP: `RELOADING=1`, re-read the configuration (log level, limits), `READY=1`.
struct ReloadService: Service {
    let hangups: UnixSignalsSequence
    let load: Daemon.ConfigurationLoader
    let current: LockedBox<DaemonConfiguration>
    let server: TTRPCServer
    let writers: LockedBox<WriterPolicy>
    let logLevel: LogLevelSetting
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in hangups {
                Systemd.notifyReloading()
                do {
                    let fresh = try load()
                    let old = current.value
                    if fresh.socketPath != old.socketPath || fresh.stateDirectory != old.stateDirectory
                        || fresh.responseCacheBytes != old.responseCacheBytes || fresh.metricsListen != old.metricsListen
                    {
                        logger.warning(
                            "socket, state directory, response cache and metrics-listen changes take effect on restart")
                    }
                    logLevel.level = fresh.logLevel
                    server.limits = FileDescriptorLimit.fit(fresh.limits, raise: false, logger: logger)
                    writers.value = fresh.writers
                    current.value = fresh
                    logger.notice("configuration reloaded", metadata: ["log_level": "\(fresh.logLevel)"])
                    Systemd.notify("READY=1\nSTATUS=configuration reloaded")
                } catch {
                    logger.error("reload failed; keeping the running configuration", metadata: ["error": "\(error)"])
                    Systemd.notify("READY=1\nSTATUS=reload failed: \(error)")
                }
            }
        }
    }
}
