import NIOCore
import Synchronization

/// The data version as last read from the database, served again without asking until its lease ends.
///
/// Every coopd on a database holds each write's acknowledgement for the lease's `duration` after its COMMIT
/// returned, and serves a version read from the database for at most `duration` after it *sent* that read. So a
/// write acknowledged before a call arrived had committed more than `duration` before the call: if the lease still
/// runs, the write committed before the version's query was sent, and the version counts it. Read-after-acknowledged
/// -write holds across hosts without a round trip per call. (Monotonic clocks on different hosts advance at the same
/// rate to within parts per million, nanoseconds over a lease of a millisecond.)
///
/// Without a lease (`duration` zero) every version is read from the database.
struct VersionLease {
    let duration: TimeAmount
    private var value: Int64?
    private var sent = NIODeadline.uptimeNanoseconds(0)
    /// Recent time from a version query's sending to its answer, in nanoseconds (0: none seen yet).
    private var roundTrip: Int64 = 0

    init(duration: TimeAmount) {
        self.duration = duration
    }

    /// The leased version, while the lease runs.
    func current(_ now: NIODeadline) -> Int64? {
        guard let value, now < sent + duration else { return nil }
        return value
    }

    /// Whether it is time to read the version again, so that the answer is back before the lease ends and callers
    /// need not wait for it: once the time left is four recent round trips, but from three quarters of the lease
    /// at the latest (a call must come in the window to start the renewal) and half at the earliest (and until a
    /// round trip has been seen). Renewals under load cost a query each; later ones are fewer.
    func endsSoon(_ now: NIODeadline) -> Bool {
        let whole = duration.nanoseconds
        let renewAfter = roundTrip == 0 ? whole / 2 : max(whole / 2, min(whole * 3 / 4, whole - 4 * roundTrip))
        return now >= sent + .nanoseconds(renewAfter)
    }

    /// Takes `other`'s version and round trip if its query was sent later than this one's.
    mutating func adopt(_ other: VersionLease) {
        guard let value = other.value, self.value == nil || other.sent > sent else { return }
        self.value = value
        self.sent = other.sent
        if other.roundTrip != 0 { roundTrip = other.roundTrip }
    }

    /// Takes `value`, read by a query sent at `sent`, unless a later-sent query's answer is held already; `answered`
    /// (when the answer came) updates the recent round trip.
    mutating func renew(_ value: Int64, sent: NIODeadline, answered: NIODeadline? = nil) {
        if let answered {
            let took = max(0, (answered - sent).nanoseconds)
            roundTrip = roundTrip == 0 ? took : roundTrip + (took - roundTrip) / 4
        }
        guard duration > .zero, self.value == nil || sent > self.sent else { return }
        self.value = value
        self.sent = sent
    }
}

/// The lease a store's event loops and threads share. Each loop serves from its own copy (no lock a call) and looks
/// here when its copy ends soon: a version any of them read serves all of them, and one renewal at a time is sent
/// for the whole process. (One per loop sent a query a millisecond per loop: per core, from every host.)
final class SharedVersionLease: Sendable {
    private let lease: Locked<VersionLease>
    private let renewing = Atomic<Bool>(false)

    init(duration: TimeAmount) {
        lease = Locked(VersionLease(duration: duration))
    }

    /// A copy of the lease as it stands.
    var snapshot: VersionLease { lease.withLock { $0 } }

    var duration: TimeAmount { lease.withLock { $0.duration } }

    /// Starts over with the database's lease `duration` (at open, before any read).
    func reset(duration: TimeAmount) {
        lease.withLock { $0 = VersionLease(duration: duration) }
    }

    func current(_ now: NIODeadline) -> Int64? {
        lease.withLock { $0.current(now) }
    }

    /// Takes a version read by a query sent at `sent` (see ``VersionLease/renew(_:sent:answered:)``); returns the
    /// lease as it then stands.
    @discardableResult
    func renew(_ value: Int64, sent: NIODeadline, answered: NIODeadline? = nil) -> VersionLease {
        lease.withLock {
            $0.renew(value, sent: sent, answered: answered)
            return $0
        }
    }

    /// Claims the renewal: false while another is running. The claimant calls ``endRenewal()`` once its query is
    /// answered or failed.
    func claimRenewal() -> Bool {
        renewing.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }

    func endRenewal() {
        renewing.store(false, ordering: .releasing)
    }
}
