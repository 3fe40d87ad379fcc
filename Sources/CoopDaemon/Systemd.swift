#if canImport(Glibc)
import Glibc
#endif
import CSystemd

/// The daemon's side of the systemd protocols, through libsystemd.
///
/// Every call is a no-op when the daemon was not started by systemd (no `NOTIFY_SOCKET`,
/// no `LISTEN_FDS`), so the same binary runs by hand.
public enum Systemd {
    /// Sends one or more `KEY=VALUE` lines to the service manager. Returns false if it was not told.
    @discardableResult
    public static func notify(_ state: String) -> Bool {
        sd_notify(0, state) > 0
    }

    /// `RELOADING=1` with the `MONOTONIC_USEC=` systemd needs to match it to the reload job.
    public static func notifyReloading() {
        notify("RELOADING=1\nMONOTONIC_USEC=\(monotonicMicroseconds())")
    }

    /// CLOCK_MONOTONIC in microseconds.
    public static func monotonicMicroseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
    }

    /// A listening socket passed by systemd (socket activation).
    public struct ListenSocket: Sendable {
        public var fd: CInt
        public var name: String
    }

    /// The sockets systemd passed (`LISTEN_FDS`, checked against `LISTEN_PID`), unsetting the
    /// variables so that child processes do not inherit them.
    public static func listenSockets() -> [ListenSocket] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let n = sd_listen_fds_with_names(1, &names)
        guard n > 0 else { return [] }
        defer {
            if let names {
                for i in 0..<Int(n) { free(names[i]) }
                free(names)
            }
        }
        return (0..<n).map { i in
            let name = names?[Int(i)].map { String(cString: $0) } ?? "unknown"
            return ListenSocket(fd: SD_LISTEN_FDS_START + i, name: name)
        }
    }

    /// True if `fd` is a listening Unix stream socket.
    public static func isListeningUnixStreamSocket(_ fd: CInt) -> Bool {
        sd_is_socket_unix(fd, CInt(SOCK_STREAM.rawValue), 1, nil, 0) > 0
    }

    /// The filesystem path a Unix socket is bound to, if it has one.
    public static func socketPath(of fd: CInt) -> String? {
        var address = sockaddr_un()
        var length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let rc = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard rc == 0, address.sun_family == sa_family_t(AF_UNIX) else { return nil }
        let path = withUnsafeBytes(of: &address.sun_path) { raw -> String in
            let bytes = raw.prefix(while: { $0 != 0 })
            return String(decoding: bytes, as: UTF8.self)
        }
        return path.isEmpty ? nil : path
    }

    /// How often to send `WATCHDOG=1` (half of `WATCHDOG_USEC`), or nil when the watchdog is off.
    public static func watchdogInterval() -> Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(usec / 2))
    }
}
