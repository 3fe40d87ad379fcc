#if canImport(Glibc)
import Glibc
#endif

/// UTC timestamps from the C library: no Foundation formatters, which load ICU data (megabytes of resident
/// memory) and cost far more per call.
package enum UTCTime {
    /// Now, as nanoseconds since the Unix epoch.
    package static func nowNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// "2026-11-29T03:58:12Z": the change log's time of a write.
    package static func rfc3339Seconds(nanos: Int64) -> String {
        let (date, parts) = split(nanos)
        return date + "T" + pad(parts.tm_hour) + ":" + pad(parts.tm_min) + ":" + pad(parts.tm_sec) + "Z"
    }

    /// "2026-11-29T03:58:12.345Z".
    package static func rfc3339(nanos: Int64) -> String {
        let (date, parts) = split(nanos)
        return date + "T" + pad(parts.tm_hour) + ":" + pad(parts.tm_min) + ":" + pad(parts.tm_sec) + "."
            + pad(Int32((nanos % 1_000_000_000) / 1_000_000), 3) + "Z"
    }

    /// "2026-11-29".
    package static func date(nanos: Int64) -> String { split(nanos).0 }

    private static func split(_ nanos: Int64) -> (String, tm) {
        var seconds = time_t(nanos / 1_000_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return (pad(parts.tm_year + 1900, 4) + "-" + pad(parts.tm_mon + 1) + "-" + pad(parts.tm_mday), parts)
    }

    private static func pad(_ value: Int32, _ width: Int = 2) -> String {
        let s = String(value)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}
