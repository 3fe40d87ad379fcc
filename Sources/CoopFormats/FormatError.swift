/// Text that does not read as the format says. Each caller maps it to its own error (coopctl: invalid input,
/// exit status 5; the seed import: an internal error, the shipped data being wrong).
public struct FormatError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
