/// Enforces ttrpc's rules for client-initiated stream ids: odd, strictly increasing, never reused.
///
/// A violation is answered on the offending id with the same text Go ttrpc uses, and the
/// connection stays open.
public struct StreamIDValidator: Sendable, Equatable {
    /// The highest id the client has opened so far (0 before the first).
    public private(set) var lastStreamID: UInt32 = 0

    public init() {}

    /// Records `streamID` as opened, or returns the error to answer it with.
    public mutating func open(_ streamID: UInt32) -> RPCError? {
        guard streamID & 1 == 1 else {
            return RPCError(.invalidArgument, "StreamID must be odd for client initiated streams")
        }
        guard streamID > self.lastStreamID else {
            return RPCError(.invalidArgument, "StreamID cannot be re-used and must increment")
        }
        self.lastStreamID = streamID
        return nil
    }

    /// The error for a Data frame on a stream that is not open.
    public static let inactiveStream = RPCError(.invalidArgument, "StreamID is no longer active")
}
