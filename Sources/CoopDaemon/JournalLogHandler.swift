#if canImport(Glibc)
import Glibc
#endif
import CSystemd
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
        let all = Self.merged(metadata, metadataProvider, event)
        var line = ""
        if journal {
            line = "<\(Self.syslogPriority(event.level))>"
        } else {
            line = "\(Self.timestamp()) \(event.level.rawValue.uppercased()) "
        }
        line += Self.text(event.message, all) + "\n"
        // One write per line keeps lines whole when several threads log at once.
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    static func merged(
        _ metadata: Logger.Metadata, _ provider: Logger.MetadataProvider?, _ event: LogEvent
    ) -> Logger.Metadata {
        var all = metadata
        if let provided = provider?.get() { all.merge(provided) { $1 } }
        if let extra = event.metadata { all.merge(extra) { $1 } }
        return all
    }

    /// The message and its metadata, `key=value` in key order: one line a person reads.
    static func text(_ message: Logger.Message, _ metadata: Logger.Metadata) -> String {
        var line = message.description
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            line += " \(key)=\(value)"
        }
        return line
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

/// Log records sent to the journal itself (`sd_journal_sendv`) when stderr is the journal, each with fields a query
/// can select on: PRIORITY, MESSAGE (the same line as on stderr), CODE_FILE, CODE_LINE, CODE_FUNC, and the call's
/// metadata as COOPD_* fields: COOPD_METHOD, COOPD_PEER_UID, COOPD_PEER_PID, COOPD_REQUEST_ID, COOPD_STATUS
/// (`journalctl -u coopd COOPD_PEER_UID=1000`). A record the journal does not take goes to stderr instead.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let setting: LogLevelSetting
    private let fallback: StderrLogHandler

    public init(label: String, level: LogLevelSetting) {
        self.setting = level
        self.fallback = StderrLogHandler(label: label, level: level, journal: true)
    }

    public var logLevel: Logger.Level {
        get { setting.level }
        set { setting.level = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The metadata keys coopd logs calls with, and the journal fields they become; any other key becomes
    /// COOPD_ and the key in capitals.
    static let fieldNames = [
        "method": "COOPD_METHOD", "uid": "COOPD_PEER_UID", "pid": "COOPD_PEER_PID", "request_id": "COOPD_REQUEST_ID",
        "status": "COOPD_STATUS",
    ]

    static func fieldName(_ key: String) -> String {
        if let name = fieldNames[key] { return name }
        // Journal field names are capitals, digits and underscores.
        return "COOPD_" + String(key.uppercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    }

    /// The fields of one record, "NAME=value" each.
    static func fields(_ event: LogEvent, _ metadata: Logger.Metadata) -> [String] {
        var fields = [
            "PRIORITY=\(StderrLogHandler.syslogPriority(event.level))",
            "MESSAGE=\(StderrLogHandler.text(event.message, metadata))",
            "CODE_FILE=\(event.file)", "CODE_LINE=\(event.line)", "CODE_FUNC=\(event.function)",
            "SYSLOG_IDENTIFIER=coopd",
        ]
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            fields.append("\(fieldName(key))=\(value)")
        }
        return fields
    }

    public func log(event: LogEvent) {
        let fields = Self.fields(event, StderrLogHandler.merged(metadata, metadataProvider, event))
        var sent = Int32(-1)
        // Each field as one iovec over a C string the journal copies before returning.
        let strings = fields.map { strdup($0) }
        defer { strings.forEach { free($0) } }
        if !strings.contains(where: { $0 == nil }) {
            var vectors = strings.map { iovec(iov_base: UnsafeMutableRawPointer($0), iov_len: strlen($0!)) }
            sent = sd_journal_sendv(&vectors, Int32(vectors.count))
        }
        if sent < 0 { fallback.log(event: event) }
    }
}
