import PostgresKit
import SQLiteKit

/// What can go wrong in the store, with the context needed to act on it. The underlying driver text is kept
/// for logs; the HTTP edge never shows it to clients.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    case invalidURL(String, reason: String)
    case cannotOpen(String, underlying: String)
    case badMigrationFile(service: String, file: String, reason: String)
    case migrationFailed(service: String, version: Int, name: String, underlying: String)
    case migrationsPending(service: String, versions: [Int])
    case unknownMigrations(service: String, versions: [Int])
    /// A stored value this binary cannot read.
    case corrupt(String)

    public var description: String {
        switch self {
        case .invalidURL(let url, let reason):
            "invalid database URL \"\(url)\": \(reason)"
        case .cannotOpen(let url, let underlying):
            "cannot open database \(url): \(underlying)"
        case .badMigrationFile(let service, let file, let reason):
            "migration file migrations/\(service)/\(file): \(reason)"
        case .migrationFailed(let service, let version, let name, let underlying):
            "migration \(service)/\(String(format: "%03d", version))_\(name) failed: \(underlying)"
        case .migrationsPending(let service, let versions):
            "service \(service) has migrations not yet applied: \(versions.map(String.init).joined(separator: ", ")); run `trellis migrate`"
        case .unknownMigrations(let service, let versions):
            "the database has \(service) migrations this binary does not know (\(versions.map(String.init).joined(separator: ", "))): it is newer than this binary"
        case .corrupt(let what):
            what
        }
    }
}

extension StoreError {
    /// Whether `error` says the database's disk is full (SQLite's `SQLITE_FULL`, PostgreSQL's `disk_full`).
    public static func isStorageFull(_ error: any Error) -> Bool {
        if let error = error as? PSQLError { return error.serverInfo?[.sqlState] == "53100" }
        if let error = error as? SQLiteError { return error.reason == .full }
        return false
    }

    /// Whether `error` is a unique-constraint violation on either database (a racing insert of the same key).
    public static func isUniqueViolation(_ error: any Error) -> Bool {
        if let error = error as? PSQLError { return error.serverInfo?[.sqlState] == "23505" }
        if let error = error as? SQLiteError {
            return error.reason == .constraint || error.reason == .constraintUniqueFailed || error.reason == .constraintPrimaryKeyFailed
        }
        return false
    }
}
