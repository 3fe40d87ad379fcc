#if canImport(Glibc)
import Glibc
#endif
import CoopClient
import CoopProto
import CoopWire
import Foundation
import SwiftProtobuf
import Testing

/// coop.v1.Cooperation through the socket, on the shipped dataset.
@Suite struct CooperationTests {
    static let seeded = ["COOPD_SEED": "yes"]

    private static func observation(
        _ indicator: String, _ origin: String, _ destination: String, _ start: String, _ end: String, _ value: Int64,
        source: Int64
    ) -> Coop_V1_Observation {
        .with {
            $0.indicator = indicator
            $0.origin = origin
            $0.destination = destination
            $0.periodStart = start
            $0.periodEnd = end
            $0.value = value
            $0.unit = "persons"
            $0.sourceID = source
            $0.vintage = "2026-01-15"
        }
    }

    private static func newSource(_ client: CoopClient, _ title: String) async throws -> Coop_V1_Source {
        try await client.putSource(.with {
            $0.title = title
            $0.publisher = "test publisher"
            $0.url = "https://example.org/\(title)"
            $0.published = "2026-01-15"
            $0.kind = .news
        })
    }

    @Test func shippedDataAnswersEveryReadRPC() async throws {
        try await withDaemon(environment: Self.seeded) { daemon in
            try await withClient(daemon.socketPath) { client in
                let countries = try await client.listCountries()
                #expect(countries.count >= 249)
                #expect(countries.first { $0.code == "VN" }?.name == "Viet Nam" || countries.first { $0.code == "VN" }?.name == "Vietnam")
                #expect(countries.contains { $0.code == "JP" && $0.name == "Japan" })

                let summary = try await client.pairSummary("VN", "JP")
                #expect(summary.relationship.established == "1973-09-21")
                #expect(summary.relationship.level.contains("Comprehensive Strategic Partnership"))
                #expect(summary.relationship.levelSince == "2023-11-27")
                #expect(summary.indicators.contains { $0.indicator.code == "JP_MHLW_FOREIGN_WORKERS" })
                #expect(!summary.recentEvents.isEmpty)

                let indicators = try await client.listIndicators()
                #expect(indicators.contains { $0.code == "VN_DOLAB_WORKERS_DEPLOYED" && $0.measure == .flow })
                #expect(indicators.contains { $0.code == "JP_MHLW_FOREIGN_WORKERS" && $0.measure == .stock })

                let series = try await client.series(.with {
                    $0.indicator = "JP_MHLW_FOREIGN_WORKERS"
                    $0.origin = "VN"
                    $0.destination = "JP"
                    $0.periodFrom = "2015"
                    $0.periodTo = "2023-12-31"
                })
                let years = series.points.map { String($0.periodStart.prefix(4)) }
                #expect(years == (2015...2023).map(String.init))
                #expect(series.points.first?.observation.value == 110_013)
                #expect(series.points.dropFirst().first?.observation.value == 172_018)
                #expect(!series.sources.isEmpty)
                #expect(series.points.allSatisfy { p in series.sources.contains { $0.id == p.observation.sourceID } })

                let events = try await client.listEvents(.with {
                    $0.country = "VN"
                    $0.counterpart = "JP"
                    $0.from = "2022-06-29"
                    $0.to = "2022-06-29"
                })
                #expect(events.events.contains { e in e.participants.contains { $0.nativeName == "Đào Ngọc Dung" } })

                let agreements = try await client.listAgreements(.with { $0.country = "VN" })
                #expect(agreements.agreements.contains { $0.signedDate == "2017-06-06" })

                let statements = try await client.listStatements(.with { $0.speaker = "Dao Ngoc Dung" })
                #expect(statements.statements.count >= 1)
                #expect(statements.statements.allSatisfy { !$0.conflictsWith.isEmpty })

                let sources = try await client.listSources(.with { $0.pageSize = 1000 })
                #expect(sources.sources.count >= 50)

                let hits = try await client.search("Dao Ngoc Dung")
                #expect(!hits.isEmpty)
            }
        }
    }

    @Test func pagingThroughEveryObservationHasNoDuplicatesOrGaps() async throws {
        try await withDaemon(environment: Self.seeded) { daemon in
            try await withClient(daemon.socketPath) { client in
                var request = Coop_V1_ListObservationsRequest()
                request.anyBreakdown = true
                request.includeSuperseded = true
                request.includeRetracted = true
                request.includeClaims = true
                request.pageSize = 1000
                let whole = try await client.listObservations(request)
                #expect(whole.nextPageToken.isEmpty)
                // The shipped table's 100 rows, and the claim filed again under its right indicator.
                #expect(whole.observations.count == 101)

                request.pageSize = 7
                var ids: [Int64] = []
                var pages = 0
                while true {
                    let page = try await client.listObservations(request)
                    #expect(page.observations.count <= 7)
                    ids += page.observations.map(\.id)
                    pages += 1
                    if page.nextPageToken.isEmpty { break }
                    request.pageToken = page.nextPageToken
                }
                #expect(pages == 15)
                #expect(ids == whole.observations.map(\.id))
                #expect(Set(ids).count == ids.count)

                let bad = await #expect(throws: RPCError.self) {
                    _ = try await client.listObservations(.with { $0.pageToken = "not a token" })
                }
                #expect(bad?.code == .invalidArgument)
                #expect(bad?.message.contains("page_token") == true)
            }
        }
    }

    @Test func watchChangesOnOneConnectionSeesAWriteMadeOnAnother() async throws {
        try await withDaemon(environment: Self.seeded) { daemon in
            let watcher = CoopClient(socketPath: daemon.socketPath)
            let writer = CoopClient(socketPath: daemon.socketPath)
            defer { Task { await watcher.close(); await writer.close() } }
            #expect(try await watcher.health() == .serving)
            var changes = try watcher.watchChanges(fromSequence: 0, options: CallOptions(timeout: .seconds(20)))
                .makeAsyncIterator()
            // "From now on" starts when the server begins the watch (a task), which no answer on the connection
            // proves: write until the watch hears one of the writes, then check the one it heard.
            let written = Locked<[Int64: String]>([:])
            // Stopped by a flag, not by cancelling: a cancelled call would drop the acknowledgement of the very
            // write the watch heard, and a slow machine may hear the change before the writer hears its answer.
            let stop = Locked(false)
            let writing = Task {
                for attempt in 0..<100 where !stop.withLock({ $0 }) {
                    let source = try await Self.newSource(writer, "watched \(attempt)")
                    written.withLock { $0[source.id] = source.title }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            defer { writing.cancel() }
            let change = try await changes.next()
            stop.withLock { $0 = true }
            #expect(change?.entityKind == "source")
            #expect(change?.operation == .insert)
            // Its write may be acknowledged just after the watch heard it.
            var title: String?
            for _ in 0..<400 where title == nil {
                title = written.withLock { $0[change?.entityID ?? -1] }
                if title == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(title != nil, "the change heard is not one of the writes")
            #expect(change?.writerUid == getuid())
            // RFC 3339 UTC to the second, within a minute of now.
            let time = try #require(change?.time)
            #expect(time.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z/) != nil, "\(time)")
            let formatter = ISO8601DateFormatter()
            #expect(abs(try #require(formatter.date(from: time)).timeIntervalSinceNow) < 60)
            #expect(change?.source.title == title)

            // From a sequence: the history first.
            var replay = try watcher.watchChanges(fromSequence: 1, options: CallOptions(timeout: .seconds(20)))
                .makeAsyncIterator()
            let first = try await replay.next()
            #expect(first?.sequence == 1)
        }
    }

    @Test func writesAreValidatedAtomicIdempotentAndNameTheField() async throws {
        try await withDaemon(environment: Self.seeded) { daemon in
            try await withClient(daemon.socketPath) { client in
                let source = try await Self.newSource(client, "batch")
                func count() async throws -> Int {
                    try await client.allObservations(.with { $0.anyBreakdown = true; $0.includeSuperseded = true }).count
                }
                let before = try await count()
                let good = Self.observation("JP_MHLW_FOREIGN_WORKERS", "VN", "JP", "2030-10-31", "2030-10-31", 1, source: source.id)
                var bad = good
                bad.origin = "XX"
                let error = await #expect(throws: RPCError.self) {
                    _ = try await client.addObservations([good, bad])
                }
                #expect(error?.code == .invalidArgument)
                #expect(error?.message.contains("observations[1].origin") == true, "\(String(describing: error))")
                #expect(try await count() == before)

                var badDate = good
                badDate.periodStart = "2023-02-30"
                let dateError = await #expect(throws: RPCError.self) { _ = try await client.addObservations([badDate]) }
                #expect(dateError?.message.contains("observations[0].period_start") == true)

                let stored = try await client.addObservations([good], requestID: "retry-1")
                let again = try await client.addObservations([good], requestID: "retry-1")
                #expect(stored.map(\.id) == again.map(\.id))
                #expect(try await count() == before + 1)

                let revised = try await client.reviseObservation(supersedes: stored[0].id, with: {
                    var r = good
                    r.value = 2
                    r.vintage = "2026-02-01"
                    return r
                }())
                #expect(revised.supersedesID == stored[0].id)
                let latest = try await client.allObservations(.with {
                    $0.indicators = ["JP_MHLW_FOREIGN_WORKERS"]
                    $0.periodFrom = "2030"
                })
                #expect(latest.map(\.value) == [2])
                let retracted = try await client.retractObservation(revised.id, reason: "test")
                #expect(retracted.retracted)
            }
        }
    }

    @Test func indicatorEventAgreementStatementAndConflictWritesAreStoredAndReadBack() async throws {
        try await withDaemon(environment: Self.seeded) { daemon in
            try await withClient(daemon.socketPath) { client in
                let source = try await Self.newSource(client, "writes")
                let indicator = try await client.putIndicator(.with {
                    $0.code = "TEST_CLAIMED_WORKERS"
                    $0.name = "Workers as claimed in test speeches"
                    $0.measure = .claim
                    $0.unit = "persons"
                    $0.periodBasis = .asOfDate
                })
                #expect(indicator.code == "TEST_CLAIMED_WORKERS")
                #expect(try await client.listIndicators().contains { $0.code == "TEST_CLAIMED_WORKERS" && $0.measure == .claim })

                let event = try await client.putEvent(.with {
                    $0.kind = .meeting
                    $0.title = "Test meeting of labour ministers"
                    $0.countries = ["VN", "JP"]
                    $0.actualDate = "2026-01-15"
                    $0.status = .held
                    $0.participants = [.with { $0.name = "Nguyen Test"; $0.nativeName = "Nguyễn Thử"; $0.country = "VN" }]
                    $0.sourceIds = [source.id]
                })
                #expect(event.id > 0)
                let events = try await client.listEvents(.with { $0.participant = "Nguyen Thu" })
                #expect(events.events.map(\.id) == [event.id])

                let agreement = try await client.putAgreement(.with {
                    $0.kind = .memorandum
                    $0.title = "Test memorandum on interns"
                    $0.parties = [.with { $0.name = "MOLISA"; $0.country = "VN" }, .with { $0.name = "MHLW"; $0.country = "JP" }]
                    $0.signedDate = "2026-01-15"
                    $0.topics = ["technical_intern_training"]
                    $0.sourceIds = [source.id]
                    $0.eventID = event.id
                })
                let agreements = try await client.listAgreements(.with { $0.topic = "technical_intern_training"; $0.from = "2026" })
                #expect(agreements.agreements.map(\.id) == [agreement.id])

                let statement = try await client.addStatement(.with {
                    $0.speaker = .with { $0.name = "Nguyen Test"; $0.country = "VN" }
                    $0.eventID = event.id
                    $0.saidOn = "2026-01-15"
                    $0.text = "About 600,000 Vietnamese work in Japan."
                    $0.sourceID = source.id
                }, claim: Self.observation(
                    "TEST_CLAIMED_WORKERS", "VN", "JP", "2026-01-15", "2026-01-15", 600_000, source: source.id))
                #expect(statement.claimObservationID > 0)
                let statements = try await client.listStatements(.with { $0.eventID = event.id })
                #expect(statements.statements.map(\.text) == ["About 600,000 Vietnamese work in Japan."])

                let mhlw2023 = try await client.series(.with {
                    $0.indicator = "JP_MHLW_FOREIGN_WORKERS"; $0.origin = "VN"; $0.destination = "JP"; $0.periodFrom = "2023"; $0.periodTo = "2023"
                }).points[0].observation
                let linked = try await client.linkConflict(statement.claimObservationID, with: mhlw2023.id, note: "scope differs")
                #expect(linked.conflictsWith == [mhlw2023.id])
                // Symmetric: the statistic now lists the claim.
                let back = try await client.allObservations(.with {
                    $0.indicators = ["JP_MHLW_FOREIGN_WORKERS"]; $0.origin = "VN"; $0.destination = "JP"
                    $0.periodFrom = "2023"; $0.periodTo = "2023"
                })
                #expect(back.first { $0.id == mhlw2023.id }?.conflictsWith.contains(statement.claimObservationID) == true)
            }
        }
    }

    @Test func relationshipsAreListedByPairAndWrittenIdempotentlyInEitherOrder() async throws {
        try await withDaemon(environment: Self.seeded) { daemon in
            try await withClient(daemon.socketPath) { client in
                // The shipped one, stored lower code first.
                let shipped = try await client.listRelationships()
                #expect(shipped.map { "\($0.countryA)-\($0.countryB)" } == ["JP-VN"])
                #expect(shipped[0].established == "1973-09-21")
                #expect(shipped[0].levelSince == "2023-11-27")
                #expect(shipped[0].history.last?.agreementID ?? 0 > 0)

                // New, given higher code first: listed in pair order, current level from the history.
                let thailand = Coop_V1_Relationship.with {
                    $0.countryA = "VN"
                    $0.countryB = "TH"
                    $0.established = "1976-08-06"
                    $0.history = [
                        .with { $0.level = "Strategic Partnership"; $0.since = "2013-06" },
                        .with { $0.level = "Enhanced Strategic Partnership"; $0.since = "2015-11" },
                    ]
                }
                let stored = try await client.putRelationship(thailand, requestID: "rel-th-1")
                #expect(stored.countryA == "VN" && stored.countryB == "TH")
                #expect(stored.level == "Enhanced Strategic Partnership" && stored.levelSince == "2015-11")
                let again = try await client.putRelationship(thailand, requestID: "rel-th-1")
                #expect(again == stored)
                var listed = try await client.listRelationships()
                #expect(listed.map { "\($0.countryA)-\($0.countryB)" } == ["JP-VN", "TH-VN"])
                #expect(listed[1].history.map(\.level) == ["Strategic Partnership", "Enhanced Strategic Partnership"])

                // Replaced, from the other side; the same request id with another body is refused.
                var replaced = thailand
                (replaced.countryA, replaced.countryB) = ("TH", "VN")
                replaced.history.removeLast()
                let refused = await #expect(throws: RPCError.self) {
                    _ = try await client.putRelationship(replaced, requestID: "rel-th-1")
                }
                #expect(refused?.code == .failedPrecondition, "\(String(describing: refused))")
                _ = try await client.putRelationship(replaced, requestID: "rel-th-2")
                listed = try await client.listRelationships()
                #expect(listed.count == 2 && listed[1].level == "Strategic Partnership")

                // Validated field by field; nothing stored.
                var bad = thailand
                bad.countryB = "XX"
                let invalid = await #expect(throws: RPCError.self) {
                    _ = try await client.putRelationship(bad, requestID: "rel-bad")
                }
                #expect(invalid?.code == .invalidArgument)
                #expect(invalid?.message.contains("relationship.country_b") == true, "\(String(describing: invalid))")
                bad = thailand
                bad.history[0].agreementID = 999_999
                let unknown = await #expect(throws: RPCError.self) {
                    _ = try await client.putRelationship(bad, requestID: "rel-bad-2")
                }
                #expect(unknown?.message.contains("relationship.history[0].agreement_id") == true)
                #expect(try await client.listRelationships().count == 2)
            }
        }
    }

    @Test func peerWithAnotherUidIsRefusedWritesAndCanStillRead() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        chmod(directory.path, 0o755)
        try await withDaemon(in: directory, arguments: ["--socket-mode", "0666"], environment: Self.seeded) { daemon in
            let setpriv = "/usr/bin/setpriv"
            let asNobody = ["--reuid=nobody", "--regid=nogroup", "--clear-groups", try TestBinaries.ttrpcLoad(),
                            "-socket", daemon.socketPath, "-check"]
            let put: [UInt8] = try Coop_V1_PutSourceRequest.with {
                $0.requestID = "nobody-1"
                $0.source = .with {
                    $0.title = "from nobody"
                    $0.publisher = "nobody"
                }
            }.serializedBytes()
            let write = try await runToCompletion(
                setpriv, asNobody + ["-service", "coop.v1.Cooperation", "-method", "PutSource",
                                     "-payload-hex", hex(put), "-verify=false"], in: directory)
            #expect(write.termination == .exited(1), "\(write.stdout) \(write.stderr)")
            #expect(write.stdout.contains("code=7"), "\(write.stdout)")
            #expect(write.stdout.contains("writer"), "\(write.stdout)")
            // The operator hears of it, with the uid.
            try await daemon.waitForStderr(containing: "write refused: the peer is not a writer")
            #expect(daemon.stderr.contains("uid=65534"), "\(daemon.stderr)")
            #expect(daemon.stderr.contains("method=coop.v1.Cooperation/PutSource"), "\(daemon.stderr)")
            #expect(daemon.stderr.contains("status=PERMISSION_DENIED"), "\(daemon.stderr)")

            let read = try await runToCompletion(
                setpriv, asNobody + ["-service", "coop.v1.Cooperation", "-method", "ListIndicators",
                                     "-payload-hex", "", "-verify=false"], in: directory)
            #expect(read.termination == .exited(0), "\(read.stdout) \(read.stderr)")

            // Nothing was stored.
            try await withClient(daemon.socketPath) { client in
                let sources = try await client.listSources(.with { $0.pageSize = 1000 })
                #expect(!sources.sources.contains { $0.title == "from nobody" })
            }
        }
    }

    /// With the response cache (the default) and without it: the same answers either way.
    @Test(arguments: ["8", "0"])
    func aReadAfterAnAcknowledgedWriteSeesItEvenWhenTheSameReadWasJustAnswered(cacheMiB: String) async throws {
        try await withDaemon(environment: Self.seeded.merging(["COOPD_RESPONSE_CACHE_MIB": cacheMiB]) { $1 }) { daemon in
            try await withClient(daemon.socketPath) { writer in
                try await withClient(daemon.socketPath) { reader in
                    let source = try await Self.newSource(writer, "read your writes")
                    let request = Coop_V1_ListObservationsRequest.with {
                        $0.indicators = ["JP_MHLW_FOREIGN_WORKERS"]
                        $0.periodFrom = "2050"
                        $0.pageSize = 1000
                    }
                    for i in 0..<20 {
                        // The same request, asked twice between writes, from both connections.
                        for client in [reader, writer, reader] {
                            #expect(try await client.listObservations(request).observations.count == i)
                        }
                        _ = try await writer.addObservations([
                            Self.observation(
                                "JP_MHLW_FOREIGN_WORKERS", "VN", "JP", "\(2050 + i)-10-31", "\(2050 + i)-10-31",
                                Int64(i), source: source.id)
                        ])
                    }
                    #expect(try await reader.listObservations(request).observations.map(\.value) == Array(0..<20))
                }
            }
        }
    }

    @Test func acknowledgedWritesSurviveSIGKILL() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var ids: [Int64] = []
        try await withDaemon(in: directory, environment: Self.seeded) { daemon in
            try await withClient(daemon.socketPath) { client in
                let source = try await Self.newSource(client, "durable")
                try await withThrowingTaskGroup(of: Int64.self) { group in
                    for i in 0..<50 {
                        group.addTask {
                            try await client.addObservations([
                                Self.observation("JP_MHLW_FOREIGN_WORKERS", "VN", "JP", "2040-10-31", "2040-10-31",
                                                 Int64(i), source: source.id).with { $0.note = "durable \(i)" }
                            ])[0].id
                        }
                    }
                    for try await id in group { ids.append(id) }
                }
            }
            daemon.kill()  // SIGKILL right after the last acknowledgement
            _ = try? await daemon.waitForExit(timeout: .seconds(10))
        }
        try await withDaemon(in: directory, environment: Self.seeded) { daemon in
            try await withClient(daemon.socketPath) { client in
                let stored = try await client.allObservations(.with {
                    $0.indicators = ["JP_MHLW_FOREIGN_WORKERS"]
                    $0.periodFrom = "2040"
                    $0.includeSuperseded = true
                })
                #expect(Set(stored.map(\.id)) == Set(ids))
                #expect(stored.count == 50)
            }
            let check = try await runToCompletion(
                "/usr/bin/sqlite3", [daemon.stateDirectory + "/coop.sqlite", "PRAGMA integrity_check;"], in: directory)
            #expect(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok", "\(check.stdout) \(check.stderr)")
        }
    }

    /// Figures stated by people are kept apart from statistics: listed only when asked for, each with its statement.
    @Test func claimsAreListedOnlyWhenAskedForAndSayWhoSaidThem() async throws {
        try await withDaemon(environment: Self.seeded) { daemon in
            try await withClient(daemon.socketPath) { client in
                let claimCodes = Set(try await client.listIndicators().filter { $0.measure == .claim }.map(\.code))
                #expect(claimCodes.contains("STATEMENT_VN_NATIONALS_IN_JP"))
                var request = Coop_V1_ListObservationsRequest.with {
                    $0.origin = "VN"
                    $0.destination = "JP"
                    $0.anyBreakdown = true
                    $0.includeConflicts = true
                }
                let statistics = try await client.allObservations(request)
                #expect(!statistics.isEmpty)
                #expect(statistics.allSatisfy { !claimCodes.contains($0.indicator) })
                #expect(try await client.listObservations(request).claimStatements.isEmpty)

                request.includeClaims = true
                request.pageSize = 1000
                let page = try await client.listObservations(request)
                let claims = page.observations.filter { claimCodes.contains($0.indicator) }
                #expect(claims.count == 7)
                // Every claim of the shipped data has its statement, in the same answer.
                let stating = Dictionary(page.claimStatements.map { ($0.claimObservationID, $0) }, uniquingKeysWith: { a, _ in a })
                #expect(claims.allSatisfy { stating[$0.id] != nil }, "\(claims.map(\.id)) \(stating.keys)")
                #expect(claims.contains { stating[$0.id]?.speaker.name == "Dao Ngoc Dung" })

                // Naming a claim indicator lists it without the flag.
                let named = try await client.listObservations(.with {
                    $0.indicators = ["STATEMENT_VN_WORKERS_SENT"]
                })
                #expect(named.observations.map(\.value) == [149_000])
                #expect(named.claimStatements.map(\.speaker.name) == ["Dao Ngoc Dung"])

                let summary = try await client.pairSummary("VN", "JP")
                #expect(!summary.indicators.isEmpty)
                #expect(summary.indicators.allSatisfy { $0.indicator.measure != .claim && !$0.hasStatement })
                let withClaims = try await client.pairSummary("VN", "JP", includeClaims: true)
                let claimed = withClaims.indicators.filter { $0.indicator.measure == .claim }
                #expect(claimed.count == 4)
                #expect(claimed.allSatisfy { $0.hasStatement && $0.statement.claimObservationID == $0.latest.id })
            }
        }
    }

    /// The shipped data's corrections: every claim has a statement and links, the misfiled claim is filed
    /// again (and the first filing retracted with the reason), every source has a kind.
    @Test func shippedClaimsHaveStatementsAndSourcesHaveKinds() async throws {
        try await withDaemon(environment: Self.seeded) { daemon in
            try await withClient(daemon.socketPath) { client in
                let all = try await client.allObservations(.with {
                    $0.indicators = ["STATEMENT_VN_NATIONALS_IN_JP", "STATEMENT_VN_TRAINEES_AND_WORKERS_IN_JP"]
                    $0.includeRetracted = true
                    $0.includeSuperseded = true
                })
                let misfiled = try #require(all.first { $0.indicator == "STATEMENT_VN_NATIONALS_IN_JP" && $0.value == 230_000 })
                #expect(misfiled.retracted && misfiled.retractionReason.contains("trainees and workers"))
                let refiled = try #require(all.first { $0.indicator == "STATEMENT_VN_TRAINEES_AND_WORKERS_IN_JP" && $0.value == 230_000 })
                #expect(!refiled.retracted && refiled.conflictsWith.count == 1)
                let thanh = try #require(all.first { $0.value == 345_000 })
                #expect(thanh.conflictsWith.count == 1)

                let statements = try await client.listStatements(.with { $0.pageSize = 100 }).statements
                #expect(statements.first { $0.claimObservationID == refiled.id }?.speaker.name == "MOLISA")
                let byThanh = try #require(statements.first { $0.claimObservationID == thanh.id })
                #expect(byThanh.speaker.nativeName == "Lê Văn Thanh" && byThanh.conflictsWith == thanh.conflictsWith)

                let sources = try await client.listSources(.with { $0.pageSize = 1000 }).sources
                #expect(sources.allSatisfy { $0.kind != .unspecified })
                #expect(sources.filter { $0.kind == .officialReleaseReproduced }.count == 3)
                #expect(sources.contains { $0.publisher.contains("labour consultant") && $0.kind == .blog })
            }
        }
    }

}

extension Coop_V1_Observation {
    func with(_ change: (inout Self) -> Void) -> Self {
        var copy = self
        change(&copy)
        return copy
    }
}
