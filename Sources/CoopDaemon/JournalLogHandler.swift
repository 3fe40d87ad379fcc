#if canImport(Glibc)
import Glibc
#endif
import CoopStore
import Logging
import Synchronization

/// The process-wide log level, changeable at run time (on reload).
public final class LogLevelSetting: Sendable {
    private let raw: Atomic<UInt8>

    public init(_ level: Logger.Level) { raw = Atomic(Self.code(level)) }

    public var level: Logger.Level {
        get { Logger.Level.allCases[Int(raw.load(ordering: .relaxed))] }
        set { raw.store(Self.code(newValue), ordering: .relaxed) }
    }

    private static func code(_ level: Logger.Level) -> UInt8 {
        UInt8(Logger.Level.allCases.firstIndex(of: level)!)
    }
}

/// Log lines on stderr. Under systemd (`JOURNAL_STREAM` set) each line starts with a `<N>`
/// syslog priority so journald keeps the level, and carries no timestamp (journald adds one).
public struct StderrLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let setting: LogLevelSetting
    private let journal: Bool

    public init(label: String, level: LogLevelSetting, journal: Bool) {
        self.label = label
        self.setting = level
        self.journal = journal
    }

    /// Whether stderr is connected to the journal, as systemd documents for `JOURNAL_STREAM`.
    public static func stderrIsJournal() -> Bool {
        guard let value = getenv("JOURNAL_STREAM").map({ String(cString: $0) }) else { return false }
        let parts = value.split(separator: ":")
        var st = stat()
        guard parts.count == 2, fstat(2, &st) == 0 else { return false }
        return String(st.st_dev) == parts[0] && String(st.st_ino) == parts[1]
    }

    public var logLevel: Logger.Level {
        get { setting.level }
        set { setting.level = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = ""
        if journal {
            line = "<\(Self.syslogPriority(event.level))>"
        } else {
            line = "\(Self.timestamp()) \(event.level.rawValue.uppercased()) "
        }
        line += event.message.description
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { $1 } }
        if let extra = event.metadata { all.merge(extra) { $1 } }
        for (key, value) in all.sorted(by: { $0.key < $1.key }) {
            line += " \(key)=\(value)"
        }
        line += "\n"
        // One write per line keeps lines whole when several threads log at once.
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    private static func timestamp() -> String {
        UTCTime.rfc3339(nanos: UTCTime.nowNanos())
    }
}
