#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether a directory may hold coopd's socket or data: nobody but its owner can put, move or replace
/// anything in it.
///
/// A directory another user created first (`/tmp/coopd-1000` made by uid 1001, mode 0777) would let that
/// user move the socket aside and bind their own; the daemon refuses to use it and the clients refuse to
/// trust a socket found there. The rule, OpenSSH's for its key directories: the directory is owned by the
/// expected uid and writable by nobody else; every directory above it is owned by root or that uid and
/// writable by nobody else unless sticky (like /tmp, where others cannot rename what is not theirs).
public enum TrustedDirectory {
    /// nil when `path` can be trusted for `uid`, else why not (a sentence naming the directory at fault).
    /// Symbolic links are resolved first, so the directories checked are the ones really used. With
    /// `allowingSticky`, `path` itself may also be a sticky directory of root's or `uid`'s (a socket directly in
    /// /tmp: others cannot move or replace what is not theirs there).
    public static func problem(with path: String, uid: uid_t = getuid(), allowingSticky: Bool = false) -> String? {
        guard let resolved = realpath(path, nil) else {
            return "\(path): \(String(cString: strerror(errno)))"
        }
        let canonical = String(cString: resolved)
        free(resolved)
        var info = stat()
        guard lstat(canonical, &info) == 0 else { return "\(canonical): \(String(cString: strerror(errno)))" }
        guard info.st_mode & S_IFMT == S_IFDIR else { return "\(canonical) is not a directory" }
        if allowingSticky && info.st_mode & S_ISVTX != 0 {
            return problemAbove(canonical, uid: uid)
        }
        if info.st_uid != uid {
            return "\(canonical) is owned by uid \(info.st_uid), not by uid \(uid) that uses it"
        }
        if info.st_mode & (S_IWGRP | S_IWOTH) != 0 {
            return "\(canonical) is writable by other users (mode \(octal(info.st_mode & 0o7777)))"
        }
        guard canonical != "/" else { return nil }
        return problemAbove(parent(of: canonical), uid: uid).map { "above \(canonical): \($0)" }
    }

    /// Creates `path` and any missing parents with `mode` (existing ones are left as they are), then checks it.
    /// nil when it exists and can be trusted, else why not. Nothing is created inside a directory that could
    /// not be trusted above it.
    public static func prepare(
        _ path: String, mode: mode_t = 0o700, uid: uid_t = getuid(), allowingSticky: Bool = false
    ) -> String? {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            let parent = current.isEmpty ? "/" : current
            current += "/" + component
            var info = stat()
            if lstat(current, &info) == 0 { continue }
            if let problem = problemAbove(parent, uid: uid) { return problem }
            if mkdir(current, mode) != 0 && errno != EEXIST {
                return "cannot create directory \(current): \(String(cString: strerror(errno)))"
            }
        }
        return problem(with: path, uid: uid, allowingSticky: allowingSticky)
    }

    /// nil when `directory` and every directory above it may be above a trusted one: owned by root or `uid`,
    /// writable by nobody else unless sticky.
    private static func problemAbove(_ directory: String, uid: uid_t) -> String? {
        guard let resolved = realpath(directory, nil) else {
            return "\(directory): \(String(cString: strerror(errno)))"
        }
        var ancestor = String(cString: resolved)
        free(resolved)
        var info = stat()
        while true {
            guard lstat(ancestor, &info) == 0 else { return "\(ancestor): \(String(cString: strerror(errno)))" }
            if info.st_uid != 0 && info.st_uid != uid {
                return "\(ancestor) is owned by uid \(info.st_uid)"
            }
            if info.st_mode & (S_IWGRP | S_IWOTH) != 0 && info.st_mode & S_ISVTX == 0 {
                return "\(ancestor) is writable by other users (mode \(octal(info.st_mode & 0o7777)))"
            }
            if ancestor == "/" { return nil }
            ancestor = parent(of: ancestor)
        }
    }

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    private static func octal(_ mode: mode_t) -> String {
        "0" + String(mode, radix: 8)
    }
}
