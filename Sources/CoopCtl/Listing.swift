import CoopProto
import Foundation
import SwiftProtobuf

/// What a listing command prints, declared once: its columns, each shown in the table, in CSV or in both, and
/// the key its rows go under in JSON. The table, the CSV and the JSON are all rendered from this.
struct Listing<Row> {
    /// One column: its table header and layout (nil: not in the table), its CSV name (nil: not in CSV), and how a
    /// row fills each. A column whose table and CSV orders differ is declared twice, once for each.
    struct Column {
        var table: Table.Column?
        var csv: String?
        var tableCell: (Row) -> String
        var csvCell: (Row) -> String

        /// In both; the CSV cell is the table's unless `csvCell` says otherwise (full values, ";" lists).
        init(
            _ table: Table.Column?, csv: String?, _ cell: @escaping (Row) -> String,
            csvCell: ((Row) -> String)? = nil
        ) {
            self.table = table
            self.csv = csv
            self.tableCell = cell
            self.csvCell = csvCell ?? cell
        }

        /// Only in the table.
        static func table(_ column: Table.Column, _ cell: @escaping (Row) -> String) -> Column {
            Column(column, csv: nil, cell)
        }

        /// Only in CSV.
        static func csv(_ name: String, _ cell: @escaping (Row) -> String) -> Column {
            Column(nil, csv: name, cell)
        }
    }

    /// The key of the list in the JSON object: `{"countries": [...]}`.
    var key: String
    var columns: [Column]

    init(_ key: String, _ columns: [Column]) {
        self.key = key
        self.columns = columns
    }

    /// The table columns, filled with `rows`.
    func table(_ rows: [Row]) -> Table {
        let shown = columns.filter { $0.table != nil }
        var table = Table(shown.map { $0.table! })
        for row in rows { table.add(shown.map { $0.tableCell(row) }) }
        return table
    }

    /// The CSV columns: a header line, then a line per row.
    func csv(_ rows: [Row]) -> String {
        let shown = columns.filter { $0.csv != nil }
        return Printer.csvText(header: shown.map { $0.csv! }, rows: rows.map { row in shown.map { $0.csvCell(row) } })
    }
}

extension Listing where Row: SwiftProtobuf.Message {
    /// `{"key": [rows], ...}`: the rows in the protobuf JSON mapping, then `more` (lists the rows refer to).
    func json(_ rows: [Row], more: [(String, String)] = []) throws -> String {
        JSONOutput.object([(key, try JSONOutput.array(rows))] + more)
    }

    /// The rows as `format`: a table fitted to `width`, CSV, or JSON with `more` after the rows' list.
    func render(
        _ rows: [Row], as format: OutputFormat, width: Int?, more: () throws -> [(String, String)] = { [] }
    ) throws -> String {
        switch format {
        case .table: table(rows).render(width: width)
        case .csv: csv(rows)
        case .json: try json(rows, more: try more())
        }
    }

    /// Prints the rows as `format`, the table fitted to the terminal.
    func print(_ rows: [Row], as format: OutputFormat, more: () throws -> [(String, String)] = { [] }) throws {
        Console.out(try render(rows, as: format, width: Terminal.width(), more: more))
    }
}

extension Listing {
    /// The publisher, title and URL of the source a row was read in, for `--sources`; in the table too unless
    /// `inTable` is false.
    static func sourceColumns(
        _ sources: [Int64: Coop_V1_Source], inTable: Bool = true, _ sourceID: @escaping (Row) -> Int64
    ) -> [Column] {
        let fields: [(Table.Column, String, (Coop_V1_Source) -> String)] = [
            (Table.Column("PUBLISHER", shrinkable: true, minimumWidth: 8), "source_publisher", \.publisher),
            (Table.Column("TITLE", shrinkable: true, minimumWidth: 8), "source_title", \.title),
            (Table.Column("URL", shrinkable: true, minimumWidth: 12), "source_url", \.url),
        ]
        return fields.map { column, name, field in
            Column(inTable ? column : nil, csv: name) { row in sources[sourceID(row)].map(field) ?? "" }
        }
    }
}

/// "" for 0 (no id, no upper bound), else the number.
func blankIfZero(_ number: Int64) -> String {
    number == 0 ? "" : String(number)
}

/// Ids joined with `separator`: "3;4".
func joinedIDs(_ ids: [Int64], separator: String = ";") -> String {
    ids.map(String.init).joined(separator: separator)
}
