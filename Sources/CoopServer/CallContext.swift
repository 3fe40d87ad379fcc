import CoopWire
import NIOCore

/// Who is on the other end of a connection, from `SO_PEERCRED` at accept time.
public struct PeerCredentials: Sendable, Hashable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    public var description: String { "pid=\(pid) uid=\(uid) gid=\(gid)" }
}

/// What a handler knows about the call it serves.
public struct CallContext: Sendable {
    public var service: String
    public var method: String
    public var metadata: [MetadataEntry]
    /// The caller's credentials; authorization decisions start here.
    public var peer: PeerCredentials
    /// When the caller stops waiting; nil if it set no deadline. The server answers
    /// DEADLINE_EXCEEDED and cancels the handler's task once it passes.
    public var deadline: NIODeadline?

    public init(
        service: String, method: String, metadata: [MetadataEntry] = [], peer: PeerCredentials,
        deadline: NIODeadline? = nil
    ) {
        self.service = service
        self.method = method
        self.metadata = metadata
        self.peer = peer
        self.deadline = deadline
    }

    /// Values of a metadata key, in the order sent.
    public func metadata(_ key: String) -> [String] {
        metadata.lazy.filter { $0.key == key }.map(\.value)
    }
}
