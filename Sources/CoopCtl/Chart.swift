import CoopFormats
import CoopProto
import Foundation

/// The series as rows of period, value and a bar; missing periods of a regular series shown as gaps.
struct SeriesChart {
    var series: Coop_V1_Series
    var sources: [Int64: Coop_V1_Source]?

    enum Row {
        case point(Coop_V1_SeriesPoint)
        case gap(label: String)
    }

    /// Points in order, with a gap row for each period missing from a regular cadence (every year, half year,
    /// quarter or month).
    func rows() -> [Row] {
        let points = series.points
        let ends = points.map { Day($0.periodEnd) }
        let starts = points.map { Day($0.periodStart) }
        guard points.count >= 3, ends.allSatisfy({ $0 != nil }), starts.allSatisfy({ $0 != nil }) else {
            return points.map { .point($0) }
        }
        let months = ends.map { $0!.monthIndex }
        let steps = zip(months.dropFirst(), months).map { $0 - $1 }
        // The cadence is the most common step, if most steps are it and all are multiples of it.
        var counts: [Int: Int] = [:]
        for step in steps where step > 0 { counts[step, default: 0] += 1 }
        guard let (cadence, seen) = counts.max(by: { ($0.value, -$0.key) < ($1.value, -$1.key) }),
            [1, 3, 6, 12].contains(cadence), seen * 2 >= steps.count,
            steps.allSatisfy({ $0 > 0 && $0 % cadence == 0 })
        else {
            return points.map { .point($0) }
        }
        var rows: [Row] = []
        for (index, point) in points.enumerated() {
            if index > 0 {
                let missing = steps[index - 1] / cadence - 1
                for k in 0..<max(0, missing) {
                    let start = starts[index - 1]!.adding(months: cadence * (k + 1))
                    let end = ends[index - 1]!.adding(months: cadence * (k + 1))
                    rows.append(.gap(label: Period.label(start: start.text, end: end.text)))
                }
            }
            rows.append(.point(point))
        }
        return rows
    }

    func render(width: Int?) -> String {
        let rows = rows()
        let maximum = series.points.map { Amount.double($0.observation.valueHigh > $0.observation.value
            ? $0.observation.valueHigh : $0.observation.value, multiplier: $0.observation.unitMultiplier) }.max() ?? 0
        var labels: [String] = []
        var values: [String] = []
        var notes: [String] = []
        for row in rows {
            switch row {
            case .point(let p):
                labels.append(Period.label(start: p.periodStart, end: p.periodEnd))
                values.append(p.observation.displayValue)
                var note = p.observation.status == .normal ? "" : p.observation.status.shortName
                if let sources, let s = sources[p.observation.sourceID] {
                    note += (note.isEmpty ? "" : "; ") + [s.publisher, s.title, s.url].filter { !$0.isEmpty }
                        .joined(separator: " · ")
                }
                notes.append(note)
            case .gap(let label):
                labels.append(label)
                values.append("—")
                notes.append("")
            }
        }
        let labelWidth = labels.map(\.displayWidth).max() ?? 0
        let valueWidth = values.map(\.displayWidth).max() ?? 0
        let available = (width ?? 100) - labelWidth - valueWidth - 4
        let hasNotes = notes.contains { !$0.isEmpty }
        let barWidth = max(10, min(60, hasNotes ? available / 2 : available))
        var lines: [String] = []
        for (index, row) in rows.enumerated() {
            let bar: String
            switch row {
            case .point(let p):
                let v = Amount.double(p.observation.value, multiplier: p.observation.unitMultiplier)
                bar = Self.bar(maximum > 0 ? v / maximum : 0, width: barWidth)
            case .gap:
                bar = "(no figure)"
            }
            var line = labels[index].padded(to: labelWidth) + "  " + values[index].padded(to: valueWidth, right: true)
                + "  " + bar
            if !notes[index].isEmpty {
                line = line.padded(to: labelWidth + valueWidth + 4 + barWidth) + "  " + notes[index]
            }
            if let width { line = line.truncated(toWidth: width) }
            while line.hasSuffix(" ") { line.removeLast() }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// A horizontal bar of `fraction` × `width` cells, in eighths.
    static func bar(_ fraction: Double, width: Int) -> String {
        let eighths = Int((max(0, min(1, fraction)) * Double(width) * 8).rounded())
        let partials = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        var text = String(repeating: "█", count: eighths / 8) + partials[eighths % 8]
        if text.isEmpty && fraction > 0 { text = "▏" }
        return text
    }
}
