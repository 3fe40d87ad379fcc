import ArgumentParser
import CoopClient
import CoopProto
import Foundation

/// `coop-bench populate N`: adds N synthetic observations through the API, spread like real data over many
/// pairs, indicators, months and breakdowns, for benchmarks at scale.
struct Populate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add N synthetic observations through the API (many pairs, indicators, months, breakdowns).",
        discussion: """
            Makes (once, by fixed request ids) a source and \(Synthetic.indicatorCount) indicators SYN_00… with a \
            sex breakdown, then writes monthly stocks for \(Synthetic.pairCount) country pairs, \
            AddObservations batches of --batch, several in flight. Values are random, so running it again adds \
            N more. Prints the count and the rate (JSON with --json).
            """)

    @Argument(help: "How many observations to add.") var count: Int
    @Option(help: "Socket path of coopd.") var socket: String
    @Option(help: "Observations per AddObservations call.") var batch: Int = 500
    @Option(help: "AddObservations calls in flight.") var inFlight: Int = 4
    @Option(help: "Seed of the spread (pairs, months); values are always new.") var seed: UInt64 = 1
    @Option(name: .customLong("start"), help: ArgumentHelp(
        "Number of the first observation in the synthetic sequence.",
        discussion: """
            To grow a dataset in steps without repeating a figure's indicator, pair, month and breakdown: \
            populate 10000, then populate 90000 --start 10000.
            """))
    var first = 0
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        guard count > 0, (1...10_000).contains(batch), inFlight > 0, first >= 0 else {
            throw ValidationError("N must be positive, --batch 1 to 10000, --in-flight positive, --start not negative")
        }
        let client = CoopClient(socketPath: socket)
        defer { Task { await client.close() } }
        let source = try await client.putSource(.with {
            $0.title = "coop-bench synthetic dataset"
            $0.publisher = "coop-bench"
            $0.url = "urn:coop-bench:populate"
            $0.published = "2000-01-01"
        }, requestID: "coop-bench-populate-source")
        for code in Synthetic.indicatorCodes {
            _ = try await client.putIndicator(.with {
                $0.code = code
                $0.name = "Synthetic indicator \(code)"
                $0.compiler = "coop-bench"
                $0.measure = .stock
                $0.unit = "persons"
                $0.periodBasis = .asOfDate
                $0.breakdownDimensions = ["sex"]
            }, requestID: "coop-bench-populate-\(code)")
        }
        let countries = try await client.listCountries().map(\.code).filter { $0.count == 2 }.sorted()
        var random = SplitMix64(seed: seed)
        let pairs = Synthetic.pairs(from: countries, using: &random)
        let nonce = UInt64.random(in: 0..<(1 << 40))
        let clock = ContinuousClock()
        let start = clock.now
        var written = 0
        try await withThrowingTaskGroup(of: Int.self) { group in
            var next = 0
            func submit(_ group: inout ThrowingTaskGroup<Int, any Error>) {
                let from = next
                let to = min(count, from + batch)
                next = to
                let observations = (first + from..<first + to).map { Synthetic.observation($0, pairs: pairs, source: source.id, nonce: nonce) }
                group.addTask {
                    try await client.addObservations(observations).count
                }
            }
            for _ in 0..<inFlight where next < count { submit(&group) }
            while let done = try await group.next() {
                written += done
                if next < count { submit(&group) }
            }
        }
        let elapsed = (clock.now - start).components
        let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        if json {
            print("{\"observations\":\(written),\"seconds\":\(String(format: "%.3f", seconds)),"
                + "\"per_s\":\(String(format: "%.1f", Double(written) / max(seconds, 1e-9)))}")
        } else {
            print("added \(written) observations in \(String(format: "%.2f", seconds)) s "
                + "(\(String(format: "%.0f", Double(written) / max(seconds, 1e-9)))/s)")
        }
    }
}

/// The synthetic dataset's shape, shared by `populate` and the `query-mix` workload.
enum Synthetic {
    static let indicatorCount = 40
    static let pairCount = 200
    static let indicatorCodes = (0..<indicatorCount).map { String(format: "SYN_%02d", $0) }

    /// `pairCount` distinct ordered pairs of countries, the same for the same seed and country list.
    static func pairs(from countries: [String], using random: inout SplitMix64) -> [(String, String)] {
        var pairs: [(String, String)] = []
        var seen = Set<String>()
        guard countries.count >= 2 else { return [] }
        while pairs.count < min(pairCount, countries.count * (countries.count - 1)) {
            let a = countries[Int(random.next() % UInt64(countries.count))]
            let b = countries[Int(random.next() % UInt64(countries.count))]
            if a != b, seen.insert(a + b).inserted { pairs.append((a, b)) }
        }
        return pairs
    }

    /// The i-th observation: indicator, then pair vary fastest; each pair's months start at a different point of
    /// 50 years, so even a small population spreads over many months; the breakdown varies slowest. No two share
    /// indicator, pair, month and breakdown (up to 40 × 200 × 600 × 3).
    static func observation(_ i: Int, pairs: [(String, String)], source: Int64, nonce: UInt64) -> Coop_V1_Observation {
        let indicator = indicatorCodes[i % indicatorCount]
        let j = i / indicatorCount
        let pairIndex = j % pairs.count
        let pair = pairs[pairIndex]
        let k = j / pairs.count
        let sex = ["", "F", "M"][(k / 600) % 3]
        let month = (k + 37 * pairIndex) % 600  // back from 2025-12
        let year = 2025 - month / 12
        let monthOfYear = 12 - month % 12
        let day = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][monthOfYear - 1]
        let date = String(format: "%04d-%02d-%02d", year, monthOfYear, day)
        var mixer = SplitMix64(seed: nonce &+ UInt64(i) &* 0x9E37_79B9_7F4A_7C15)
        return .with {
            $0.indicator = indicator
            $0.origin = pair.0
            $0.destination = pair.1
            if !sex.isEmpty { $0.breakdown = [.with { $0.key = "sex"; $0.value = sex }] }
            $0.periodStart = date
            $0.periodEnd = date
            $0.value = Int64(mixer.next() % 1_000_000_000)
            $0.unit = "persons"
            $0.sourceID = source
            $0.vintage = String(format: "%04d-%02d-15", monthOfYear == 12 ? year + 1 : year, monthOfYear % 12 + 1)
        }
    }
}

/// A small, fast, seedable generator (Vigna's SplitMix64): the same seed gives the same workload.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
