import CProcessMemory
import Logging

/// Gives back the pages of code that start-up touched, once coopd serves: parsing options, opening and migrating
/// the store, building and starting the services. That code and its read-only data stay in the page cache, shared
/// and reclaimable, but as mapped pages they counted in coopd's resident set for as long as it ran (idle: 23 of
/// 23 MiB, against 13 MiB after). What serving runs is mapped again on its first use, from the page cache (a
/// minor fault), much as a kernel frees its init sections after boot.
///
/// Only segments that are never written are advised: the read-only and executable `PT_LOAD`s of the executable
/// and of its libraries, not RELRO nor data, so no byte of process state can be lost (`MADV_DONTNEED` on a clean
/// private file mapping only drops the mapping). One thing goes with them: breakpoints a debugger wrote into the
/// code until two seconds after READY (set them after that, or again).
enum StartupPages {
    /// Advises the kernel; returns the bytes advised.
    @discardableResult
    static func release() -> Int {
        Int(coop_release_program_pages())
    }

    /// How long after READY the services are taken to have started (the service group's start-up runs after
    /// READY; it says nothing when it is done), when the pages are given back a second time.
    static let servicesStart: Duration = .seconds(2)

    /// ``release()`` now (at READY) and again once the services have started.
    static func releaseNowAndOnceStarted(logger: Logger) {
        let now = release()
        Task.detached(priority: .background) {
            try? await Task.sleep(for: servicesStart)
            let later = release()
            logger.debug("start-up pages given back", metadata: ["at_ready": "\(now)", "once_started": "\(later)"])
        }
    }
}
