import CoopClient
import CoopFormats
import CoopProto
import CoopWire
import Foundation

/// What an import did.
public struct ImportSummary: Sendable {
    public var rows = 0
    /// Stored as new observations or revisions.
    public var imported = 0
    /// Of `imported`, stored as revisions of an earlier vintage.
    public var revisions = 0
    /// Already present (same indicator, pair, breakdown, period, value, source and vintage).
    public var skipped = 0
    public var rejected: [ImportRejection] = []
    public var sourcesCreated = 0
    public var indicatorsCreated: [String] = []
    /// Conflict links made between observations of the file (JSON `conflicts_with`).
    public var conflictsLinked = 0
    public var dryRun = false
    /// Set when the import stopped early.
    public var stoppedBy: String?

    func json(file: String) -> String {
        var object: [String: Any] = [
            "file": file, "rows": rows, "imported": imported, "revisions": revisions, "skipped": skipped,
            "sources_created": sourcesCreated, "indicators_created": indicatorsCreated, "dry_run": dryRun,
            "conflicts_linked": conflictsLinked,
            "rejected": rejected.map { r -> [String: Any] in
                var entry: [String: Any] = ["position": r.position, "reason": r.reason]
                if let line = r.line { entry["line"] = line }
                return entry
            },
        ]
        if let stoppedBy { object["stopped_by"] = stoppedBy }
        return JSONOutput.value(object)
    }

    func text() -> String {
        let would = dryRun ? "would import" : "imported"
        var lines = [
            "\(would) \(imported)" + (revisions > 0 ? " (\(revisions) as revisions of an earlier vintage)" : ""),
            "skipped \(skipped) already present",
            "rejected \(rejected.count)",
        ]
        if sourcesCreated > 0 { lines.append((dryRun ? "would create " : "created ") + "\(sourcesCreated) sources") }
        if conflictsLinked > 0 { lines.append((dryRun ? "would link " : "linked ") + "\(conflictsLinked) conflicts") }
        if !indicatorsCreated.isEmpty {
            lines.append(
                (dryRun ? "would create" : "created") + " \(indicatorsCreated.count) indicators described only by "
                    + "their code (describe them with coopctl indicator add): "
                    + indicatorsCreated.joined(separator: ", "))
        }
        for r in rejected { lines.append("  \(r.position): \(r.reason)") }
        if let stoppedBy { lines.append("stopped: \(stoppedBy)") }
        return lines.joined(separator: "\n")
    }
}

/// Imports observations in atomic batches, safely re-runnable:
///
/// 1. indicators the rows use that coopd lacks are created (from the file's descriptions when it has them,
///    else described by their code and inferred measure and unit);
/// 2. sources are matched by URL (or title and publisher) and created when missing;
/// 3. rows already present (same indicator, pair, breakdown, period, value, source and vintage) are skipped;
/// 4. the rest go in AddObservations batches with request ids derived from the file's content and the batch,
///    so a re-run after a failure repeats nothing; a batch coopd rejects because of one row is sent again
///    without it, and the row reported;
/// 5. rows giving a later vintage of a figure already stored (or earlier in the file) are stored as
///    revisions of it (ReviseObservation), as coopd's own seed import does;
/// 6. JSON rows' `conflicts_with` naming other rows of the file (by their id there) become conflict links
///    (LinkConflict) between the stored observations, new or already present.
public struct Importer {
    public var client: CoopClient
    public var options: CallOptions
    public var batchSize = 200
    public var dryRun = false
    public var createIndicators = true
    public var revise = true
    /// Identifies the file, for request ids.
    public var digest: String
    public var progress: ((Int, Int) -> Void)?

    public init(client: CoopClient, options: CallOptions, digest: String) {
        self.client = client
        self.options = options
        self.digest = digest
    }

    struct Prepared {
        var item: ImportItem
        var observation: Coop_V1_Observation
        var order: Int
    }

    private func requestID(_ parts: String...) -> String {
        "coopctl-import-" + String(SHA256.hex(([digest] + parts).joined(separator: "\u{1F}")).prefix(40))
    }

    public func run(
        items: [ImportItem], rejected initialRejections: [ImportRejection], indicators described: [Coop_V1_Indicator] = []
    ) async throws -> ImportSummary {
        var summary = ImportSummary()
        summary.dryRun = dryRun
        summary.rows = items.count + initialRejections.count
        summary.rejected = initialRejections
        var live: [Prepared] = []

        // 1. Indicators and countries.
        var indicators = Dictionary(
            try await client.listIndicators(options: options).map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
        let countries = Set(try await client.listCountries(options: options).map(\.code)).union(["_T"])
        let describedByCode = Dictionary(described.map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
        var missing: [String] = []
        for item in items where indicators[item.observation.indicator] == nil && !missing.contains(item.observation.indicator) {
            missing.append(item.observation.indicator)
        }
        for code in missing {
            let uses = items.filter { $0.observation.indicator == code }.map(\.observation)
            var indicator: Coop_V1_Indicator
            if let given = describedByCode[code] {
                indicator = given
            } else if createIndicators {
                indicator = Self.inferIndicator(code, from: uses)
                summary.indicatorsCreated.append(code)
            } else {
                continue
            }
            if !dryRun {
                indicator = try await client.putIndicator(
                    indicator, requestID: requestID("indicator", code, indicator.textFormatString()), options: options)
            }
            indicators[code] = indicator
        }

        for (order, item) in items.enumerated() {
            let o = item.observation
            func reject(_ reason: String) {
                summary.rejected.append(ImportRejection(position: item.position, line: item.line, reason: reason))
            }
            guard let indicator = indicators[o.indicator] else {
                reject("unknown indicator \"\(o.indicator)\" (create it with coopctl indicator add, or import without --no-create-indicators)")
                continue
            }
            if let bad = o.breakdown.first(where: { !indicator.breakdownDimensions.contains($0.key) }) {
                let allowed = indicator.breakdownDimensions.isEmpty ? "none" : indicator.breakdownDimensions.joined(separator: ", ")
                reject("indicator \(o.indicator) has no dimension \"\(bad.key)\" (allowed: \(allowed))")
                continue
            }
            if !o.unit.isEmpty && !indicator.unit.isEmpty && o.unit != indicator.unit {
                reject("indicator \(o.indicator) is measured in \"\(indicator.unit)\", not \"\(o.unit)\"")
                continue
            }
            if let bad = [o.origin, o.destination].first(where: { !countries.contains($0) }) {
                reject("unknown country code \"\(bad)\"")
                continue
            }
            live.append(Prepared(item: item, observation: o, order: order))
        }

        // 2. Sources.
        let existingSources = try await allSources(client, options)
        var sourceIDs: [String: Int64] = [:]
        var published: [Int64: String] = [:]
        for source in existingSources.sorted(by: { $0.id < $1.id }) {
            let key = Self.sourceKey(source)
            if sourceIDs[key] == nil { sourceIDs[key] = source.id }
            published[source.id] = source.published
        }
        var placeholder: Int64 = 0
        var resolved: [Prepared] = []
        for var prepared in live {
            switch prepared.item.source {
            case .id(let id):
                guard published[id] != nil else {
                    summary.rejected.append(ImportRejection(
                        position: prepared.item.position, line: prepared.item.line,
                        reason: "unknown source \(id) (the file does not describe it and coopd has no such source)"))
                    continue
                }
                prepared.observation.sourceID = id
            case .document(var source):
                let key = Self.sourceKey(source)
                if let id = sourceIDs[key] {
                    prepared.observation.sourceID = id
                } else {
                    source.id = 0
                    let id: Int64
                    if dryRun {
                        placeholder -= 1
                        id = placeholder
                    } else {
                        do {
                            id = try await client.putSource(
                                source, requestID: requestID("source", key), options: options
                            ).id
                        } catch let error as RPCError where error.code == .invalidArgument {
                            summary.rejected.append(ImportRejection(
                                position: prepared.item.position, line: prepared.item.line,
                                reason: "source: \(error.message)"))
                            continue
                        }
                    }
                    sourceIDs[key] = id
                    published[id] = source.published
                    summary.sourcesCreated += 1
                    prepared.observation.sourceID = id
                }
            }
            if prepared.observation.vintage.isEmpty {
                prepared.observation.vintage = published[prepared.observation.sourceID] ?? ""
            }
            resolved.append(prepared)
        }

        // 3. What is already there.
        let codes = Array(Set(resolved.map(\.observation.indicator))).sorted()
        var existing: [Coop_V1_Observation] = []
        if !codes.isEmpty {
            var request = Coop_V1_ListObservationsRequest()
            request.indicators = codes
            request.anyBreakdown = true
            request.includeSuperseded = true
            request.includeRetracted = true
            request.pageSize = 1000
            existing = try await client.allObservations(request, options: options)
        }
        // Of each row skipped, where it already is: coopd's id, or the earlier row of the file it repeats.
        let presentIDs = Dictionary(existing.map { (Self.duplicateKey($0), $0.id) }, uniquingKeysWith: { a, _ in a })
        var firstRows: [String: Int] = [:]
        var skippedAs: [Int: (id: Int64?, row: Int?)] = [:]
        var tips: [String: Coop_V1_Observation] = [:]
        for o in existing where o.supersededByID == 0 && !o.retracted {
            let key = Self.figureKey(o)
            if let tip = tips[key], Self.vintageOrder(tip) > Self.vintageOrder(o) { continue }
            tips[key] = o
        }
        var fresh: [Prepared] = []
        for prepared in resolved {
            let key = Self.duplicateKey(prepared.observation)
            if let id = presentIDs[key] {
                skippedAs[prepared.order] = (id, nil)
                summary.skipped += 1
            } else if let row = firstRows[key] {
                skippedAs[prepared.order] = (nil, row)
                summary.skipped += 1
            } else {
                firstRows[key] = prepared.order
                fresh.append(prepared)
            }
        }

        // 4. New figures in batches; later vintages as revisions.
        var adds: [Prepared] = []
        var chains: [(base: Int64?, rows: [Prepared])] = []
        if revise {
            var groups: [String: [Prepared]] = [:]
            var groupOrder: [String] = []
            for prepared in fresh {
                let key = Self.figureKey(prepared.observation)
                if groups[key] == nil { groupOrder.append(key) }
                groups[key, default: []].append(prepared)
            }
            for key in groupOrder {
                let rows = groups[key]!.sorted {
                    (PartialDate.firstDay(of: $0.observation.vintage), $0.order)
                        < (PartialDate.firstDay(of: $1.observation.vintage), $1.order)
                }
                if let tip = tips[key] {
                    let tipVintage = PartialDate.firstDay(of: tip.vintage)
                    let later = rows.filter { PartialDate.firstDay(of: $0.observation.vintage) >= tipVintage }
                    adds += rows.filter { PartialDate.firstDay(of: $0.observation.vintage) < tipVintage }
                    if !later.isEmpty { chains.append((tip.id, later)) }
                } else {
                    adds.append(rows[0])
                    if rows.count > 1 { chains.append((nil, rows)) }
                }
            }
            adds.sort { $0.order < $1.order }
        } else {
            adds = fresh
        }
        let total = adds.count + chains.reduce(0) { $0 + $1.rows.count - ($1.base == nil ? 1 : 0) }
        var done = 0
        progress?(0, total)

        var storedIDs: [Int: Int64] = [:]  // by order
        do {
            var batchIndex = 0
            for start in stride(from: 0, to: adds.count, by: batchSize) {
                var batch = Array(adds[start..<min(start + batchSize, adds.count)])
                while !batch.isEmpty {
                    if dryRun {
                        for prepared in batch { storedIDs[prepared.order] = 0 }
                        summary.imported += batch.count
                        break
                    }
                    let id = requestID(
                        "batch", String(batchIndex), batch.map { String($0.order) }.joined(separator: ","))
                    do {
                        let stored = try await client.addObservations(
                            batch.map(\.observation), requestID: id, options: options)
                        for (prepared, observation) in zip(batch, stored) { storedIDs[prepared.order] = observation.id }
                        summary.imported += stored.count
                        break
                    } catch let error as RPCError where error.code == .invalidArgument {
                        // One row spoils the batch: report it and send the others again.
                        if let index = Self.failingIndex(error.message), index < batch.count {
                            let bad = batch.remove(at: index)
                            summary.rejected.append(ImportRejection(
                                position: bad.item.position, line: bad.item.line,
                                reason: Self.stripIndex(error.message)))
                        } else {
                            for bad in batch {
                                summary.rejected.append(ImportRejection(
                                    position: bad.item.position, line: bad.item.line, reason: error.message))
                            }
                            batch = []
                        }
                    }
                }
                batchIndex += 1
                done = min(total, done + min(batchSize, adds.count - start))
                progress?(done, total)
            }

            for chain in chains {
                var base = chain.base
                var rows = chain.rows
                if base == nil {
                    let first = rows.removeFirst()
                    base = storedIDs[first.order]
                }
                // The first vintage was rejected: the next one starts the figure.
                while base == nil && !rows.isEmpty {
                    let next = rows.removeFirst()
                    done += 1
                    do {
                        let stored = try await client.addObservations(
                            [next.observation], requestID: requestID("first", String(next.order)), options: options)
                        base = stored.first?.id
                        storedIDs[next.order] = base
                        summary.imported += 1
                    } catch let error as RPCError where error.code == .invalidArgument {
                        summary.rejected.append(ImportRejection(
                            position: next.item.position, line: next.item.line, reason: Self.stripIndex(error.message)))
                    }
                }
                for prepared in rows {
                    defer {
                        done += 1
                        progress?(done, total)
                    }
                    if dryRun {
                        summary.imported += 1
                        summary.revisions += 1
                        continue
                    }
                    var revision = prepared.observation
                    revision.supersedesID = 0
                    do {
                        let stored = try await client.reviseObservation(
                            supersedes: base!, with: revision,
                            requestID: requestID("revise", String(prepared.order), String(base!)), options: options)
                        base = stored.id
                        storedIDs[prepared.order] = stored.id
                        summary.imported += 1
                        summary.revisions += 1
                    } catch let error as RPCError
                        where [.invalidArgument, .failedPrecondition, .notFound].contains(error.code)
                    {
                        summary.rejected.append(ImportRejection(
                            position: prepared.item.position, line: prepared.item.line,
                            reason: "as a revision of \(base!): \(error.message)"))
                    }
                }
            }

            // 6. Conflict links between rows of the file, once per pair.
            var storedByFileID: [Int64: Int64] = [:]
            for prepared in resolved where prepared.item.fileID != 0 {
                let skipped = skippedAs[prepared.order]
                if let id = storedIDs[prepared.order] ?? skipped?.id ?? skipped?.row.flatMap({ storedIDs[$0] }) {
                    storedByFileID[prepared.item.fileID] = id
                }
            }
            let linked = Set(existing.flatMap { o in o.conflictsWith.map { [min(o.id, $0), max(o.id, $0)] } })
            var pairs = Set<[Int64]>()
            for prepared in resolved {
                let a = prepared.item.fileID
                for b in prepared.item.conflictsWith where a != b {
                    guard let x = storedByFileID[a], let y = storedByFileID[b], !linked.contains([min(x, y), max(x, y)])
                    else { continue }
                    pairs.insert([min(a, b), max(a, b)])
                }
            }
            for pair in pairs.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                if !dryRun {
                    _ = try await client.linkConflict(
                        storedByFileID[pair[0]]!, with: storedByFileID[pair[1]]!,
                        requestID: requestID("conflict", String(pair[0]), String(pair[1])), options: options)
                }
                summary.conflictsLinked += 1
            }
        } catch {
            summary.stoppedBy = (error as? RPCError).map { CtlError.from($0).message } ?? "\(error)"
            throw ImportStopped(summary: summary, error: error)
        }
        summary.rejected.sort { ($0.line ?? 0, $0.position) < ($1.line ?? 0, $1.position) }
        return summary
    }

    // MARK: Keys

    /// Indicator, breakdown, pair and period: the figure a value is a vintage of.
    static func figureKey(_ o: Coop_V1_Observation) -> String {
        [o.indicator, Breakdown.canonical(o.breakdown), o.origin, o.destination, o.periodStart, o.periodEnd]
            .joined(separator: "|")
    }

    /// The figure, the value (exactly, whatever its multiplier), the source and the vintage.
    static func duplicateKey(_ o: Coop_V1_Observation) -> String {
        let high = o.valueHigh == 0 ? "" : Amount.digits(o.valueHigh, multiplier: o.unitMultiplier)
        return [
            figureKey(o), Amount.digits(o.value, multiplier: o.unitMultiplier), high, String(o.sourceID),
            PartialDate.firstDay(of: o.vintage),
        ].joined(separator: "|")
    }

    static func vintageOrder(_ o: Coop_V1_Observation) -> (String, Int64) { (PartialDate.firstDay(of: o.vintage), o.id) }

    /// Sources are the same document when their URLs are (or, without URL, title, publisher and date).
    static func sourceKey(_ s: Coop_V1_Source) -> String {
        s.url.isEmpty ? "title:\(s.title)|\(s.publisher)|\(s.published)" : "url:\(s.url)"
    }

    /// "observations[3].origin: …" → 3.
    static func failingIndex(_ message: String) -> Int? {
        guard let open = message.range(of: "observations["),
            let close = message[open.upperBound...].firstIndex(of: "]")
        else { return nil }
        return Int(message[open.upperBound..<close])
    }

    /// "observations[3].origin: x" → "origin: x".
    static func stripIndex(_ message: String) -> String {
        guard let open = message.range(of: "observations["),
            let close = message[open.upperBound...].firstIndex(of: "]")
        else { return message }
        var rest = message[message.index(after: close)...]
        if rest.hasPrefix(".") { rest = rest.dropFirst() }
        return String(message[..<open.lowerBound]) + rest
    }

    /// An indicator known only from the rows using it: measure and unit inferred, name = code.
    static func inferIndicator(_ code: String, from uses: [Coop_V1_Observation]) -> Coop_V1_Indicator {
        let first = uses.first ?? Coop_V1_Observation()
        let isStock = uses.allSatisfy { $0.periodStart == $0.periodEnd }
        let currencies: Set<String> = ["JPY", "USD", "VND", "EUR", "CNY", "KRW"]
        var measure: Coop_V1_Measure
        if code.hasPrefix("STATEMENT_") || code.hasPrefix("CLAIM_") {
            measure = .claim
        } else if code.contains("TARGET") {
            measure = .target
        } else if currencies.contains(first.unit) || code.contains("_ODA_") {
            measure = .amount
        } else {
            measure = isStock ? .stock : .flow
        }
        var basis: Coop_V1_PeriodBasis = .other
        if isStock {
            basis = .asOfDate
        } else if let s = Day(first.periodStart), let e = Day(first.periodEnd) {
            if s.month == 1 && s.day == 1 && e.month == 12 && e.day == 31 && s.year == e.year {
                basis = .calendarYear
            } else if s.month == 4 && s.day == 1 && e.month == 3 && e.day == 31 && e.year == s.year + 1 {
                basis = .japaneseFiscalYear
            }
        }
        var dimensions: [String] = []
        for o in uses {
            for d in o.breakdown where !dimensions.contains(d.key) { dimensions.append(d.key) }
        }
        return .with {
            $0.code = code
            $0.name = code
            $0.measure = measure
            $0.unit = first.unit
            $0.periodBasis = basis
            $0.breakdownDimensions = dimensions
            $0.description_p = "Created by coopctl import from the figures using it; not yet described."
        }
    }
}

/// An import that stopped part-way (coopd refused or went away); what was done so far is in `summary`.
public struct ImportStopped: Error {
    public var summary: ImportSummary
    public var error: any Error
}
