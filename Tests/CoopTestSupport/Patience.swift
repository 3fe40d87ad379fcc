import Foundation

/// How many times longer than usual tests wait for something to happen: `COOP_TEST_PATIENCE` (default 1), set by
/// `make test-tsan`, whose instrumented test process and daemons run several times slower. Waiting longer for the
/// same outcome changes no assertion.
public let patience: Double = ProcessInfo.processInfo.environment["COOP_TEST_PATIENCE"].flatMap(Double.init) ?? 1

extension Duration {
    /// This wait, stretched by ``patience``.
    public var patient: Duration { patience == 1 ? self : self * patience }
}
