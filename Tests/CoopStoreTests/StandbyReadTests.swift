@testable import CoopStore
import CoopTestSupport
import Foundation
import Testing

/// Reads through a streaming standby (`readLocation`) whose failure part-way through a call costs the call nothing.
@Suite struct StandbyReadTests {
    /// With a standby, a listing with claims reads its rows, then its claims in a read of their own (a standby's
    /// failed read runs again on the primary, so nothing is read after a row was visited). The standby lost between
    /// the two: the claims come from the primary, and the answer is whole, each row visited once.
    @Test(.enabled(if: Backend.all.contains(.postgres), "needs the test PostgreSQL server"))
    func aStandbyLostBetweenAListingsRowsAndItsClaimsLeavesTheAnswerWhole() async throws {
        let primary = try await PrivatePostgresServer.start()
        defer { primary.remove() }
        let location = try PostgresLocation(url: primary.url())
        // Five statements, each with its claim: the listing's rows, and its claims.
        let writer = try await TestPostgres.offload { try PostgresStore(location: location) }
        do {
            let source = try await writer.putSource(Source(title: "Talks", publisher: "p"), context())
            let stated = try await writer.putIndicator(
                Indicator(code: "STATED_WORKERS", name: "Stated workers", measure: .claim, unit: "persons"), context())
            for day in 1...5 {
                let date = "2022-06-0\(day)"
                let claim = Observation(
                    indicator: stated.code, origin: "VN", destination: "JP", periodStart: date, periodEnd: date,
                    value: Int64(day) * 1000, qualifier: .approx, sourceID: source.id)
                _ = try await writer.addStatement(
                    Statement(speaker: Participant(name: "A speaker"), saidOn: date, text: "About \(day),000.",
                              sourceID: source.id),
                    claim: claim, context())
            }
        } catch {
            writer.close()
            throw error
        }
        writer.close()
        let standby = try await primary.startStandby()
        defer { standby.remove() }
        try await standby.waitForReplay(of: primary)
        let readLocation = try PostgresLocation(url: standby.url() + "&replay_wait_ms=\(Int(300 * patience))")
        let store = try await TestPostgres.offload { try PostgresStore(location: location, readLocation: readLocation) }
        defer { store.close() }

        let query = {
            var query = ObservationQuery()
            query.origin = "VN"
            query.destination = "JP"
            query.includeClaims = true
            query.page = PageRequest(size: 1000)
            return query
        }()
        struct Answer: Equatable, Sendable {
            var ids: [Int64] = []
            var token = ""
            var claims: [Int64: Int64] = [:]  // statement id by the observation it claims
        }
        /// The listing; `duringRows` runs once, at its first row.
        @Sendable func listing(duringRows: @escaping @Sendable () throws -> Void = {}) async throws -> Answer {
            try await TestPostgres.offload {
                var answer = Answer()
                let (token, claims) = try store.observationRows(query, claims: true) { row in
                    if answer.ids.isEmpty { try duringRows() }
                    answer.ids.append(row.observation.id)
                }
                answer.token = token
                for statement in claims { answer.claims[statement.claimObservationID] = statement.id }
                return answer
            }
        }

        let whole = try await listing()
        try #require(whole.ids.count == 5 && whole.claims.count == 5)
        // The rows being visited: what the standby's coopd connections last ran, then the standby stopped.
        let standbyRan = Locked<String>("")
        let answer = try await listing {
            let ran = try standby.psqlWaiting("SELECT query FROM pg_stat_activity WHERE application_name = 'coopd'")
            standbyRan.withLock { $0 = ran }
            try standby.haltWaiting()
        }
        #expect(standbyRan.withLock { $0 }.contains("FROM observations"), "the rows were not read from the standby")
        await #expect(throws: (any Error).self, "the standby still runs") { try await standby.psql("SELECT 1") }
        #expect(answer == whole)
        // And the calls after it go to the primary, answering the same.
        #expect(try await listing() == whole)
    }
}
