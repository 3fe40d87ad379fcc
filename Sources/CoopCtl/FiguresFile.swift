import CoopFormats
import CoopProto
import Foundation

/// The figures file (`FiguresTable`, the shipped dataset's CSV format), read by `import` and written by `export`:
/// its rows as observations and the documents they cite.
public enum FiguresFile {
    // MARK: Writing

    /// One CSV line for an observation and its source.
    public static func line(_ o: Coop_V1_Observation, source: Coop_V1_Source?) -> String {
        let provisional = o.status == .provisional && (o.qualifier == .exact || o.qualifier == .unspecified)
        return FiguresTable.line(FiguresRow(
            indicator: o.indicator, breakdown: o.breakdown.map { FiguresRow.Dimension(key: $0.key, value: $0.value) },
            origin: o.origin, destination: o.destination, periodStart: o.periodStart, periodEnd: o.periodEnd,
            value: o.value, valueHigh: o.valueHigh, multiplier: o.unitMultiplier, unit: o.unit,
            qualifier: o.qualifier == .unspecified ? "exact" : o.qualifier.shortName, provisional: provisional,
            sourceTitle: source?.title ?? "", sourcePublisher: source?.publisher ?? "", sourceURL: source?.url ?? "",
            sourceDate: o.vintage.isEmpty ? (source?.published ?? "") : o.vintage, note: o.note))
    }

    // MARK: Reading

    /// Parses the file into import items; rows that cannot be read are returned as rejections with their line.
    public static func read(_ text: String) throws -> (items: [ImportItem], rejected: [ImportRejection]) {
        let table: (rows: [FiguresRow], rejected: [FiguresTable.Rejection])
        do throws(FormatError) {
            table = try FiguresTable.read(text)
        } catch {
            throw CtlError.invalidInput(error.message)
        }
        var items: [ImportItem] = []
        for row in table.rows {
            var o = Coop_V1_Observation()
            o.indicator = row.indicator
            o.breakdown = row.breakdown.map { dimension in
                .with {
                    $0.key = dimension.key
                    $0.value = dimension.value
                }
            }
            o.origin = row.origin
            o.destination = row.destination
            o.periodStart = row.periodStart
            o.periodEnd = row.periodEnd
            o.value = row.value
            o.valueHigh = row.valueHigh
            o.unitMultiplier = row.multiplier
            o.unit = row.unit
            o.qualifier = Coop_V1_Qualifier(shortName: row.qualifier) ?? .exact
            if row.provisional { o.status = .provisional }
            o.vintage = row.sourceDate
            o.note = row.note
            let source = Coop_V1_Source.with {
                $0.title = row.sourceTitle
                $0.publisher = row.sourcePublisher
                $0.url = row.sourceURL
                $0.published = row.sourceDate
                $0.originalPublisher = row.originalPublisher
                $0.kind = Coop_V1_SourceKind(shortName: row.sourceKind.rawValue) ?? .unspecified
                $0.language = row.sourceLanguage
            }
            items.append(ImportItem(position: "line \(row.line)", line: row.line, observation: o, source: .document(source)))
        }
        let rejected = table.rejected.map { ImportRejection(position: "line \($0.line)", line: $0.line, reason: $0.reason) }
        return (items, rejected)
    }

    /// Parses `figures --json` / `export --json` output ({"observations": [...], "sources": [...],
    /// "indicators": [...]}) or a bare array of observations.
    public static func readJSON(_ text: String) throws -> (
        items: [ImportItem], rejected: [ImportRejection], indicators: [Coop_V1_Indicator]
    ) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        var observations: [Coop_V1_Observation]
        var sources: [Int64: Coop_V1_Source] = [:]
        var indicators: [Coop_V1_Indicator] = []
        var prefix = "observations"
        do {
            if trimmed.hasPrefix("[") {
                observations = try Coop_V1_Observation.array(fromJSONString: trimmed, options: JSONOutput.decodingOptions)
                prefix = ""
            } else if trimmed.hasPrefix("{") {
                let list = try Coop_V1_ListObservationsResponse(jsonString: trimmed, options: JSONOutput.decodingOptions)
                observations = list.observations
                for source in list.sources { sources[source.id] = source }
                indicators = try Coop_V1_ListIndicatorsResponse(
                    jsonString: trimmed, options: JSONOutput.decodingOptions
                ).indicators
            } else {
                throw CtlError.invalidInput("expected a JSON array of observations or an object with \"observations\"")
            }
        } catch let error as CtlError {
            throw error
        } catch {
            throw CtlError.invalidInput("the JSON does not decode as observations: \(error)")
        }
        var items: [ImportItem] = []
        var rejected: [ImportRejection] = []
        for (index, original) in observations.enumerated() {
            let position = "\(prefix)[\(index)]"
            if original.retracted {
                rejected.append(ImportRejection(position: position, line: nil, reason: "retracted (not imported)"))
                continue
            }
            var o = original
            o.id = 0
            o.supersedesID = 0
            o.supersededByID = 0
            o.conflictsWith = []
            o.recordedSequence = 0
            let sourceID = o.sourceID
            o.sourceID = 0
            guard !o.indicator.isEmpty else {
                rejected.append(ImportRejection(position: position, line: nil, reason: "indicator is empty"))
                continue
            }
            let bad = [("period_start", o.periodStart), ("period_end", o.periodEnd)].first { !PartialDate.isValid($0.1) }
            if let bad {
                rejected.append(ImportRejection(position: position, line: nil, reason: "\(bad.0) \"\(bad.1)\" is not a date"))
                continue
            }
            let source: ImportItem.SourceReference =
                if let document = sources[sourceID] { .document(document) } else { .id(sourceID) }
            items.append(ImportItem(
                position: position, line: nil, observation: o, source: source, fileID: original.id,
                conflictsWith: original.conflictsWith))
        }
        return (items, rejected, indicators)
    }
}

/// One observation to import and where it came from.
public struct ImportItem: Sendable {
    public enum SourceReference: Sendable {
        /// A document described in the file: found by URL (or title and publisher) or created.
        case document(Coop_V1_Source)
        /// A source id that must exist in coopd.
        case id(Int64)
    }

    /// "line 12" or "observations[3]".
    public var position: String
    public var line: Int?
    /// Without source id (see `source`).
    public var observation: Coop_V1_Observation
    public var source: SourceReference
    /// JSON: the observation's id in the file, and the ids there of those it conflicts with (0 and [] for CSV).
    public var fileID: Int64 = 0
    public var conflictsWith: [Int64] = []
}

public struct ImportRejection: Sendable, Equatable {
    public var position: String
    public var line: Int?
    public var reason: String
}
