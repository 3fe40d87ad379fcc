import CoopWire
import Testing

@Suite struct StatusCodeTests {
    @Test(arguments: [
        (StatusCode.ok, Int32(0), "OK"),
        (.cancelled, 1, "CANCELLED"),
        (.unknown, 2, "UNKNOWN"),
        (.invalidArgument, 3, "INVALID_ARGUMENT"),
        (.deadlineExceeded, 4, "DEADLINE_EXCEEDED"),
        (.notFound, 5, "NOT_FOUND"),
        (.alreadyExists, 6, "ALREADY_EXISTS"),
        (.permissionDenied, 7, "PERMISSION_DENIED"),
        (.resourceExhausted, 8, "RESOURCE_EXHAUSTED"),
        (.failedPrecondition, 9, "FAILED_PRECONDITION"),
        (.aborted, 10, "ABORTED"),
        (.outOfRange, 11, "OUT_OF_RANGE"),
        (.unimplemented, 12, "UNIMPLEMENTED"),
        (.internalError, 13, "INTERNAL"),
        (.unavailable, 14, "UNAVAILABLE"),
        (.dataLoss, 15, "DATA_LOSS"),
        (.unauthenticated, 16, "UNAUTHENTICATED"),
    ])
    func definedCodeHasItsGRPCNumberAndName(code: StatusCode, rawValue: Int32, name: String) {
        #expect(code.rawValue == rawValue)
        #expect(code.name == name)
        #expect(code.description == name)
        #expect(StatusCode(rawValue: rawValue) == code)
    }

    @Test(arguments: [
        (Int32(17), "CODE_17"), (99, "CODE_99"), (-1, "CODE_-1"), (.max, "CODE_2147483647"), (.min, "CODE_-2147483648"),
    ])
    func undefinedCodeIsNamedByItsNumber(rawValue: Int32, name: String) {
        #expect(StatusCode(rawValue: rawValue).name == name)
        #expect(StatusCode(rawValue: rawValue).description == name)
    }

    @Test func allDefinedListsZeroThroughSixteenInOrder() {
        #expect(StatusCode.allDefined.map(\.rawValue) == Array(0...16))
    }

    @Test func rpcErrorDescribesItselfAsCodeAndQuotedMessage() {
        #expect(RPCError(.notFound, "no such thing").description == #"NOT_FOUND: "no such thing""#)
        #expect(RPCError(StatusCode(rawValue: 99), "").description == #"CODE_99: """#)
    }
}
