import Foundation
internal import GRDB
internal import PostgresNIO

extension StoreError {
    /// Translates anything thrown below the store into a `StoreError`, once, at the store's boundary.
    /// Store errors pass through; SQLite errors become codes a caller can act on, with messages that name
    /// no SQL, table or path.
    static func from(_ error: any Error) -> StoreError {
        if let error = error as? StoreError {
            return error
        }
        if let error = error as? DatabaseError {
            return from(error)
        }
        if error is PSQLError || error is PostgresError {
            return fromPostgres(error)
        }
        if error is DecodingError || error is EncodingError {
            return StoreError(.internalError, "stored data could not be decoded")
        }
        return StoreError(.internalError, "internal storage error")
    }

    private static func from(_ error: DatabaseError) -> StoreError {
        switch error.extendedResultCode {
        case .SQLITE_CONSTRAINT_UNIQUE, .SQLITE_CONSTRAINT_PRIMARYKEY:
            return StoreError(.alreadyExists, "the record already exists")
        case .SQLITE_CONSTRAINT_FOREIGNKEY:
            return StoreError(.failedPrecondition, "a referenced record does not exist")
        default:
            break
        }
        switch error.resultCode {
        case .SQLITE_CONSTRAINT:
            return StoreError(.failedPrecondition, "the change violates a constraint of the stored data")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return StoreError(.unavailable, "the database is busy; retry")
        case .SQLITE_FULL:
            return StoreError(.unavailable, "the disk is full")
        case .SQLITE_IOERR, .SQLITE_CANTOPEN, .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_PROTOCOL, .SQLITE_NOLFS:
            return StoreError(.unavailable, "the database cannot be read or written")
        case .SQLITE_MISUSE:
            return StoreError(.unavailable, "the database is closed")
        case .SQLITE_INTERRUPT, .SQLITE_ABORT:
            return StoreError(.unavailable, "the operation was interrupted; retry")
        case .SQLITE_CORRUPT, .SQLITE_NOTADB, .SQLITE_FORMAT:
            return StoreError(.internalError, "the database file is damaged")
        default:
            return StoreError(.internalError, "internal storage error")
        }
    }

    static func notFound(_ field: String, _ message: String) -> StoreError {
        StoreError(.notFound, field: field, message)
    }

    static func failedPrecondition(_ field: String, _ message: String) -> StoreError {
        StoreError(.failedPrecondition, field: field, message)
    }
}
