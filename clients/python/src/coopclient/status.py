"""Status codes and the exception a failed call raises (gRPC's codes, as ttrpc carries them)."""

from __future__ import annotations

import enum


class StatusCode(enum.IntEnum):
    """The gRPC status codes coopd answers with (Sources/CoopWire/StatusCode.swift)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


def code_name(code: int) -> str:
    """The upper-case name, or CODE_<n> for a code gRPC does not define (a newer peer's), as coopctl prints it."""
    try:
        return StatusCode(code).name
    except ValueError:
        return f"CODE_{code}"


class RPCError(Exception):
    """A call that failed: coopd's status (or the client's own, e.g. DEADLINE_EXCEEDED or UNAVAILABLE).

    `code` is a StatusCode when the number is one gRPC defines (compare with StatusCode.NOT_FOUND), else the
    plain int, so that an unknown code still reaches the caller; `code_name` is its name either way.
    """

    def __init__(self, code: int, message: str) -> None:
        try:
            self.code: int = StatusCode(code)
        except ValueError:
            self.code = code
        self.code_name = code_name(code)
        self.message = message
        super().__init__(f"{self.code_name}: {message}")
