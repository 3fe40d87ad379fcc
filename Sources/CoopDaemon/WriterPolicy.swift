#if canImport(Glibc)
import Glibc
#endif
import CoopServer
import CoopWire
import Foundation

/// Who may write: root, the daemon's own uid, and configured writer uids or gids.
/// Anyone who can connect may read.
public struct WriterPolicy: Sendable, Hashable {
    public var writerUIDs: Set<UInt32> = []
    public var writerGIDs: Set<UInt32> = []
    public var daemonUID: UInt32 = getuid()

    public init(writerUIDs: Set<UInt32> = [], writerGIDs: Set<UInt32> = []) {
        self.writerUIDs = writerUIDs
        self.writerGIDs = writerGIDs
    }

    /// The connecting process's primary gid is what SO_PEERCRED reports; supplementary groups are not consulted.
    public func mayWrite(_ peer: PeerCredentials) -> Bool {
        peer.uid == 0 || peer.uid == daemonUID || writerUIDs.contains(peer.uid) || writerGIDs.contains(peer.gid)
    }

    func authorize(_ peer: PeerCredentials) throws {
        guard mayWrite(peer) else {
            throw RPCError(
                .permissionDenied,
                "writing needs a writer uid or gid (uid \(peer.uid) is neither); see coopd --writer-uid and --writer-gid")
        }
    }

    /// Parses a comma-separated list of user names or numeric uids.
    static func parseUsers(_ text: String, field: String) throws -> Set<UInt32> {
        try parse(text, field: field) { name in getpwnam(name).map { $0.pointee.pw_uid } }
    }

    /// Parses a comma-separated list of group names or numeric gids.
    static func parseGroups(_ text: String, field: String) throws -> Set<UInt32> {
        try parse(text, field: field) { name in getgrnam(name).map { $0.pointee.gr_gid } }
    }

    private static func parse(_ text: String, field: String, lookup: (String) -> UInt32?) throws -> Set<UInt32> {
        var ids = Set<UInt32>()
        for item in text.split(separator: ",") {
            let name = item.trimmingCharacters(in: .whitespaces)
            if name.isEmpty { continue }
            if let id = UInt32(name) {
                ids.insert(id)
            } else if let id = lookup(name) {
                ids.insert(id)
            } else {
                throw ConfigurationError("\(field): unknown name \"\(name)\"")
            }
        }
        return ids
    }
}

