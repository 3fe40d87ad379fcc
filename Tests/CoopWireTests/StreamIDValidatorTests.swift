import CoopWire
import Testing

private let mustBeOdd = RPCError(.invalidArgument, "StreamID must be odd for client initiated streams")
private let mustIncrement = RPCError(.invalidArgument, "StreamID cannot be re-used and must increment")

@Suite struct StreamIDValidatorTests {
    @Test func freshValidatorHasSeenNoStream() {
        #expect(StreamIDValidator().lastStreamID == 0)
    }

    @Test func oddIncreasingIDsAreAccepted() {
        var validator = StreamIDValidator()
        for id: UInt32 in [1, 3, 5, 7, 101, 0x7FFF_FFFF, 0xFFFF_FFFF] {
            #expect(validator.open(id) == nil, "id \(id)")
            #expect(validator.lastStreamID == id)
        }
    }

    @Test func idsMaySkipAhead() {
        var validator = StreamIDValidator()
        #expect(validator.open(9) == nil)
        #expect(validator.open(1001) == nil)
        #expect(validator.lastStreamID == 1001)
    }

    @Test(arguments: [UInt32(0), 2, 4, 1000, 0xFFFF_FFFE])
    func evenIDIsRejectedAsNotOdd(id: UInt32) {
        var validator = StreamIDValidator()
        #expect(validator.open(id) == mustBeOdd)
        #expect(validator.lastStreamID == 0)
    }

    @Test func reusedIDIsRejected() {
        var validator = StreamIDValidator()
        #expect(validator.open(5) == nil)
        #expect(validator.open(5) == mustIncrement)
        #expect(validator.lastStreamID == 5)
    }

    @Test func decreasingIDIsRejected() {
        var validator = StreamIDValidator()
        #expect(validator.open(7) == nil)
        #expect(validator.open(3) == mustIncrement)
        #expect(validator.open(1) == mustIncrement)
        #expect(validator.lastStreamID == 7)
    }

    @Test func evenIDBelowTheLastIsReportedAsNotOdd() {
        // Go ttrpc checks oddness first.
        var validator = StreamIDValidator()
        #expect(validator.open(9) == nil)
        #expect(validator.open(4) == mustBeOdd)
    }

    @Test func connectionGoesOnAfterRejections() {
        var validator = StreamIDValidator()
        #expect(validator.open(1) == nil)
        #expect(validator.open(4) == mustBeOdd)
        #expect(validator.open(1) == mustIncrement)
        #expect(validator.lastStreamID == 1)
        #expect(validator.open(3) == nil)
        #expect(validator.open(2) == mustBeOdd)
        #expect(validator.open(5) == nil)
        #expect(validator.lastStreamID == 5)
    }

    @Test func nothingIsAcceptedAfterTheLargestID() {
        var validator = StreamIDValidator()
        #expect(validator.open(0xFFFF_FFFF) == nil)
        #expect(validator.open(0xFFFF_FFFF) == mustIncrement)
        #expect(validator.open(1) == mustIncrement)
    }

    @Test func dataOnAnInactiveStreamHasGoTtrpcsMessage() {
        #expect(StreamIDValidator.inactiveStream == RPCError(.invalidArgument, "StreamID is no longer active"))
        #expect(StreamIDValidator.inactiveStream.code.rawValue == 3)
    }
}
