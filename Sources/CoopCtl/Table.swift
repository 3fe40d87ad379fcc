/// A table of text, printed with aligned columns that fit a width, or as CSV.
public struct Table: Sendable {
    public struct Column: Sendable {
        public var header: String
        /// Numbers are right-aligned.
        public var alignRight: Bool
        /// Free text (titles, names, notes, sources, URLs): the only cells ever cut, with "…", when the table is
        /// too wide. Every other column (codes, ids, dates, numbers) is printed whole: a cut code such as
        /// `VN_DOLAB_…` no longer says which row it is.
        public var shrinkable: Bool
        /// How narrow a free-text column gets, unless cutting it further (to 3) makes the table fit.
        public var minimumWidth: Int

        public init(_ header: String, right: Bool = false, shrinkable: Bool = false, minimumWidth: Int = 6) {
            self.header = header
            self.alignRight = right
            self.shrinkable = shrinkable
            self.minimumWidth = minimumWidth
        }
    }

    public var columns: [Column]
    public var rows: [[String]] = []

    public init(_ columns: [Column]) {
        self.columns = columns
    }

    public mutating func add(_ row: [String]) {
        precondition(row.count == columns.count, "row has \(row.count) cells for \(columns.count) columns")
        rows.append(row)
    }

    static let gap = 2

    /// The widths the columns get within `width` (nil: natural widths). Free-text columns shrink, widest first,
    /// to their minimum, then to 3 columns if that makes the table fit; the rest keep their natural width, so a
    /// table whose codes alone are wider than `width` is wider than `width`.
    func layout(width: Int?) -> [Int] {
        var widths = columns.indices.map { index in
            rows.reduce(columns[index].header.displayWidth) { max($0, $1[index].singleLine.displayWidth) }
        }
        guard let width else { return widths }
        var overflow = widths.reduce(0, +) + Self.gap * max(0, columns.count - 1) - width
        let text = columns.indices.filter { columns[$0].shrinkable }
        let fitsAtThree = overflow <= text.reduce(0) { $0 + max(0, widths[$1] - 3) }
        let floors = [{ (index: Int) in columns[index].minimumWidth }] + (fitsAtThree ? [{ _ in 3 }] : [])
        for floorOf in floors {
            while overflow > 0 {
                let candidates = text.filter { widths[$0] > floorOf($0) }
                guard let widest = candidates.max(by: { widths[$0] < widths[$1] }) else { break }
                // Shrink the widest down to the next widest in one step, or just enough.
                let others = candidates.filter { $0 != widest }.map { widths[$0] }.max() ?? 0
                let step = max(1, min(overflow, widths[widest] - max(others, floorOf(widest))))
                widths[widest] -= step
                overflow -= step
            }
        }
        return widths
    }

    /// The aligned text, one line per row after a header line; free text cut with "…" to fit `width`.
    public func render(width: Int?) -> String {
        let widths = layout(width: width)
        var lines: [String] = []
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (index, cell) in cells.enumerated() {
                let text = cell.singleLine.truncated(toWidth: widths[index])
                let isLast = index == cells.count - 1
                if isLast && !columns[index].alignRight {
                    parts.append(text)
                } else {
                    parts.append(text.padded(to: widths[index], right: columns[index].alignRight))
                }
            }
            var text = parts.joined(separator: String(repeating: " ", count: Self.gap))
            while text.hasSuffix(" ") { text.removeLast() }
            return text
        }
        lines.append(line(columns.map(\.header)))
        for row in rows { lines.append(line(row)) }
        return lines.joined(separator: "\n")
    }
}
