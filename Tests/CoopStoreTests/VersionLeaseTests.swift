import NIOCore
import Testing

@testable import CoopStore

/// The PostgreSQL store's version lease: a version is served for the lease from when its query was sent, never
/// after, and renewed before it ends (late enough that renewals under load stay few).
@Suite struct VersionLeaseTests {
    private static func at(_ microseconds: Int64) -> NIODeadline {
        .uptimeNanoseconds(UInt64(1_000_000_000 + microseconds * 1000))
    }

    @Test func aVersionIsServedFromWhenItsQueryWasSentForTheLeaseAndNoLonger() {
        var lease = VersionLease(duration: .microseconds(1000))
        #expect(lease.current(Self.at(0)) == nil)
        lease.renew(7, sent: Self.at(0), answered: Self.at(100))
        #expect(lease.current(Self.at(100)) == 7)
        #expect(lease.current(Self.at(999)) == 7)
        #expect(lease.current(Self.at(1000)) == nil, "the lease counts from the query's sending, not its answer")
        // An answer to a query sent earlier than the held one's is not taken, even if it arrives later.
        lease.renew(9, sent: Self.at(500), answered: Self.at(600))
        lease.renew(8, sent: Self.at(400), answered: Self.at(700))
        #expect(lease.current(Self.at(1200)) == 9)
        #expect(lease.current(Self.at(1500)) == nil)
    }

    @Test func renewalComesFourRoundTripsBeforeTheEndBetweenHalfAndThreeQuarters() {
        var lease = VersionLease(duration: .microseconds(1000))
        // No round trip seen yet: at half the lease.
        lease.renew(1, sent: Self.at(0))
        #expect(!lease.endsSoon(Self.at(499)))
        #expect(lease.endsSoon(Self.at(500)))

        // Round trips of 80 µs: renewed 320 µs before the end, not at half.
        lease = VersionLease(duration: .microseconds(1000))
        lease.renew(1, sent: Self.at(0), answered: Self.at(80))
        #expect(!lease.endsSoon(Self.at(500)))
        #expect(!lease.endsSoon(Self.at(679)))
        #expect(lease.endsSoon(Self.at(680)))

        // Round trips of 10 µs: at three quarters, not 40 µs before the end (a call must come in the window).
        lease = VersionLease(duration: .microseconds(1000))
        lease.renew(1, sent: Self.at(0), answered: Self.at(10))
        #expect(!lease.endsSoon(Self.at(749)))
        #expect(lease.endsSoon(Self.at(750)))

        // Round trips that grow move the renewal earlier, down to half the lease.
        lease = VersionLease(duration: .microseconds(1000))
        lease.renew(1, sent: Self.at(0), answered: Self.at(80))
        for sent: Int64 in [1000, 2000, 3000, 4000, 5000, 6000] {
            lease.renew(1, sent: Self.at(sent), answered: Self.at(sent + 400))
        }
        #expect(!lease.endsSoon(Self.at(6499)))
        #expect(lease.endsSoon(Self.at(6500)))
    }

    @Test func withoutALeaseNoVersionIsServedAgain() {
        var lease = VersionLease(duration: .zero)
        lease.renew(3, sent: Self.at(0), answered: Self.at(10))
        #expect(lease.current(Self.at(0)) == nil)
        #expect(lease.current(Self.at(5)) == nil)
    }

    /// A loop's copy takes a version another loop read only if that one's query was sent later, with its round trip.
    @Test func aCopyAdoptsOnlyALaterSentVersion() {
        var mine = VersionLease(duration: .microseconds(1000))
        var other = VersionLease(duration: .microseconds(1000))
        mine.adopt(other)
        #expect(mine.current(Self.at(0)) == nil, "nothing to adopt")
        other.renew(5, sent: Self.at(100), answered: Self.at(150))
        mine.adopt(other)
        #expect(mine.current(Self.at(1099)) == 5)
        #expect(mine.current(Self.at(1100)) == nil, "served for the lease from the other's sending")
        // The other's round trip (50 µs) came with it: renewal at three quarters (four round trips before the end
        // would be later); without it, at half.
        #expect(!mine.endsSoon(Self.at(849)))
        #expect(mine.endsSoon(Self.at(850)))
        var older = VersionLease(duration: .microseconds(1000))
        older.renew(4, sent: Self.at(50), answered: Self.at(60))
        mine.adopt(older)
        #expect(mine.current(Self.at(1000)) == 5, "an earlier-sent version is not taken")
    }

    /// One renewal at a time for the whole process: a second claim fails until the first ends.
    @Test func oneRenewalAtATimeIsClaimed() {
        let shared = SharedVersionLease(duration: .microseconds(1000))
        #expect(shared.claimRenewal())
        #expect(!shared.claimRenewal())
        shared.endRenewal()
        #expect(shared.claimRenewal())
        let lease = shared.renew(3, sent: Self.at(0), answered: Self.at(10))
        #expect(lease.current(Self.at(500)) == 3)
        #expect(shared.current(Self.at(999)) == 3)
        #expect(shared.current(Self.at(1000)) == nil)
    }
}
