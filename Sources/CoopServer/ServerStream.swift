import CoopWire
import NIOCore

/// The sending side of a server stream. Messages go out as ttrpc Data frames on the call's stream id.
public final class ServerStream: Sendable {
    let streamID: UInt32
    let connection: NIOLoopBound<ServerConnectionHandler>

    init(streamID: UInt32, connection: NIOLoopBound<ServerConnectionHandler>) {
        self.streamID = streamID
        self.connection = connection
    }

    /// Sends one serialized message. Returns once it is queued on the connection; waits while the
    /// client is not reading, and throws once the stream is over (caller gone, deadline passed,
    /// server shutting down, or the client stalled past the limit).
    public func send(_ payload: ByteBuffer) async throws {
        let connection = self.connection
        let id = self.streamID
        try await connection.eventLoop.flatSubmit {
            connection.value.sendStreamMessage(streamID: id, payload: payload)
        }.get()
    }
}
