import CoopStore
import Foundation
import Testing

/// A fresh directory for one test's database files, removed afterwards.
func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("coopstore-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(directory)
}

/// A store on an empty temp-file database.
func withStore<T>(_ body: (SQLiteStore) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { directory async throws in
        let store = try SQLiteStore(path: directory.appendingPathComponent("coop.sqlite").path)
        defer { try? store.close() }
        return try await body(store)
    }
}

/// A store with the shipped dataset imported.
func withSeededStore<T>(_ body: (SQLiteStore) async throws -> T) async throws -> T {
    try await withStore { store async throws in
        try await store.importSeedIfNeeded(progress: { _ in })
        return try await body(store)
    }
}

/// Every observation matching `query`, through all pages.
func allObservations(_ store: SQLStore, _ query: ObservationQuery) async throws -> [Observation] {
    var query = query
    var all: [Observation] = []
    while true {
        let page = try store.observations(query)
        all += page.items
        if page.nextToken.isEmpty { return all }
        query.page.token = page.nextToken
    }
}

func context(_ requestID: String = UUID().uuidString, uid: UInt32 = 1000) -> WriteContext {
    WriteContext(requestID: requestID, writerUID: uid)
}

/// The StoreError thrown by `body`, or a test failure.
func storeError(_ body: () async throws -> Void) async -> StoreError? {
    do {
        try await body()
        Issue.record("expected a StoreError, nothing was thrown")
        return nil
    } catch let error as StoreError {
        return error
    } catch {
        Issue.record("expected a StoreError, got \(error)")
        return nil
    }
}

/// A store with one source and one indicator, and an observation factory using them.
struct Fixture {
    let store: SQLStore
    let source: Source
    let indicator: Indicator

    static func make(_ store: SQLStore) async throws -> Fixture {
        let source = try await store.putSource(
            Source(title: "Foreign workers report", publisher: "MHLW", url: "https://example.org/report", published: "2024-01-26"),
            context())
        let indicator = try await store.putIndicator(
            Indicator(
                code: "TEST_WORKERS", name: "Test workers", compiler: "MHLW", measure: .stock, unit: "persons",
                periodBasis: .asOfDate, breakdownDimensions: ["status_of_residence"]),
            context())
        return Fixture(store: store, source: source, indicator: indicator)
    }

    func observation(
        value: Int64 = 100, period: String = "2023-10-31", origin: String = "VN", destination: String = "JP",
        vintage: String = ""
    ) -> Observation {
        Observation(
            indicator: indicator.code, origin: origin, destination: destination, periodStart: period,
            periodEnd: period, value: value, sourceID: source.id, vintage: vintage)
    }
}

func withFixture<T>(_ backend: Backend, _ body: (Fixture) async throws -> T) async throws -> T {
    try await withStore(backend) { store in try await body(try await Fixture.make(store)) }
}

extension ObservationQuery {
    static func everything() -> ObservationQuery {
        var query = ObservationQuery()
        query.anyBreakdown = true
        query.includeSuperseded = true
        query.includeRetracted = true
        query.includeClaims = true
        return query
    }

    static func of(_ indicator: String, _ origin: String, _ destination: String) -> ObservationQuery {
        var query = ObservationQuery()
        query.indicators = [indicator]
        query.origin = origin
        query.destination = destination
        return query
    }
}

/// The seed's observation of `indicator` for a pair whose period ends on `periodEnd` with `value`.
func seedObservation(
    _ store: SQLStore, _ indicator: String, _ origin: String, _ destination: String, periodEnd: String,
    value: Int64
) async throws -> Observation {
    var query = ObservationQuery.of(indicator, origin, destination)
    query.includeSuperseded = true
    query.anyBreakdown = true
    let matches = try await allObservations(store, query).filter { $0.periodEnd == periodEnd && $0.value == value }
    try #require(matches.count == 1, "expected one \(indicator) \(periodEnd) = \(value), found \(matches.count)")
    return matches[0]
}

/// The first value of `stream`, or nil if none comes within `seconds`.
func firstValue(of stream: AsyncStream<Int64>, within seconds: Double = 5) async -> Int64? {
    await withTaskGroup(of: Int64?.self) { group in
        group.addTask {
            for await value in stream { return value }
            return nil
        }
        group.addTask {
            try? await Task.sleep(for: .seconds(seconds))
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}
