internal import CoopFormats

/// The shipped figures table (`SeedFiguresCSV.text`, from `vn-jp-figures.csv`), read as `coopctl import` reads
/// the same format (`FiguresTable`). A row that does not read is an error in the shipped data.
struct SeedFiguresTable {
    var rows: [FiguresRow]

    init(csv: String) throws {
        let read: (rows: [FiguresRow], rejected: [FiguresTable.Rejection])
        do throws(FormatError) {
            read = try FiguresTable.read(csv)
        } catch {
            throw StoreError(.internalError, "seed figures: \(error.message)")
        }
        if let rejection = read.rejected.first {
            throw StoreError(.internalError, "seed figures line \(rejection.line): \(rejection.reason)")
        }
        rows = read.rows
    }
}

extension FiguresRow {
    var dimensions: [CoopStore.Dimension] { breakdown.map { CoopStore.Dimension(key: $0.key, value: $0.value) } }

    /// The qualifier column: `provisional` is an exact figure labelled preliminary, so it sets the status.
    func qualifierAndStatus() throws -> (Qualifier, ObservationStatus) {
        guard let qualifier = Qualifier(rawValue: qualifier) else {
            throw StoreError(.internalError, "seed figures: unknown qualifier \(Validation.quoted(self.qualifier))")
        }
        return (qualifier, provisional ? .provisional : .normal)
    }

    /// The document the source columns describe.
    var source: Source {
        Source(
            title: sourceTitle, publisher: sourcePublisher, originalPublisher: originalPublisher, url: sourceURL,
            published: sourceDate, kind: SourceKind(sourceKind), language: sourceLanguage)
    }
}

extension SourceKind {
    init(_ kind: SourceGuess.Kind) {
        self = SourceKind(rawValue: kind.rawValue) ?? .unspecified
    }
}
