import CoopClient

/// coopctl's exit statuses, one per class of failure.
public enum ExitStatus: Int32, CaseIterable, Sendable {
    case ok = 0
    /// Anything not listed below (an internal error in coopd, an unexpected answer).
    case failure = 1
    /// The command line is wrong (argument-parser's usage errors).
    case usage = 2
    /// No daemon answered on any socket tried.
    case unreachable = 3
    /// NOT_FOUND: an id or code that does not exist.
    case notFound = 4
    /// INVALID_ARGUMENT, or input coopctl itself rejects (a malformed file, rows an import rejected).
    case invalidArgument = 5
    /// PERMISSION_DENIED: this user may not write.
    case permissionDenied = 6
    /// DEADLINE_EXCEEDED, UNAVAILABLE (coopd went away or is stopping), RESOURCE_EXHAUSTED, CANCELLED.
    case unavailable = 7
    /// FAILED_PRECONDITION, ALREADY_EXISTS, ABORTED: the request conflicts with what is stored.
    case conflict = 8

    /// The `--help` text describing them.
    static let documentation = """
        EXIT STATUS
          0  success
          1  other failure (internal error in coopd, unexpected answer)
          2  usage error (unknown option, missing argument)
          3  coopd unreachable (each socket path tried and why is printed)
          4  not found (NOT_FOUND: no such id, code or indicator)
          5  invalid argument (INVALID_ARGUMENT, malformed input, rejected rows)
          6  permission denied (writing needs a writer uid; see coopd --writer-uid)
          7  deadline exceeded or unavailable (also RESOURCE_EXHAUSTED, CANCELLED)
          8  conflicts with stored data (FAILED_PRECONDITION, ALREADY_EXISTS)
        """

    static func forStatus(_ code: StatusCode) -> ExitStatus {
        switch code {
        case .notFound: .notFound
        case .invalidArgument, .outOfRange: .invalidArgument
        case .permissionDenied, .unauthenticated: .permissionDenied
        case .deadlineExceeded, .unavailable, .resourceExhausted, .cancelled: .unavailable
        case .failedPrecondition, .alreadyExists, .aborted: .conflict
        default: .failure
        }
    }
}

/// A failure coopctl reports as one line and an exit status.
public struct CtlError: Error, CustomStringConvertible, Sendable {
    public var status: ExitStatus
    public var message: String

    public init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { message }

    static func invalidInput(_ message: String) -> CtlError { CtlError(.invalidArgument, "invalid input: " + message) }

    /// The one line for an error from coopd: the status in words, coopd's message, and what to do.
    static func from(_ error: RPCError) -> CtlError {
        let words = error.code.name.lowercased().replacingOccurrences(of: "_", with: " ")
        var message = error.message.isEmpty ? words : "\(words): \(error.message)"
        switch error.code {
        case .permissionDenied:
            if !error.message.contains("--writer-uid") {
                message += "; writing needs a writer uid; see coopd --writer-uid"
            }
        case .notFound:
            let lower = error.message.lowercased()
            let lists: [(String, String)] = [
                ("indicator", "coopctl indicators"), ("observation", "coopctl figures --all-vintages"),
                ("event", "coopctl events"), ("agreement", "coopctl agreements"), ("source", "coopctl sources"),
                ("statement", "coopctl statements"), ("service", "coopctl health"),
            ]
            if let (_, command) = lists.first(where: { lower.contains($0.0) }) {
                message += " (\(command) lists what exists)"
            }
        case .deadlineExceeded:
            message += " (coopd did not answer in time; raise --timeout or check coopctl health)"
        case .unavailable:
            message += " (is coopd running or stopping? check coopctl health)"
        case .unimplemented:
            message += " (this coopd is older than coopctl)"
        default:
            break
        }
        return CtlError(ExitStatus.forStatus(error.code), message)
    }
}
