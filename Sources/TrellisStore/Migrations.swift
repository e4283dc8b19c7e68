import Foundation
import SQLKit

/// One numbered SQL file, `migrations/<service>/NNN_name.sql`.
public struct Migration: Sendable, Equatable {
    public let service: String
    public let version: Int
    public let name: String
    /// The file's statements, each run on its own (PostgreSQL runs one statement per query).
    public let statements: [String]
}

/// A service's migrations, in version order. Built from the files the build embedded in the service's library.
public struct MigrationSet: Sendable {
    public let service: String
    public let migrations: [Migration]

    /// Parses `NNN_name.sql` files. Versions must be unique and start at 1 with no gaps, so two branches that
    /// both add "the next" migration conflict loudly instead of one being silently skipped.
    public init(service: String, files: [String: Data]) throws(StoreError) {
        var migrations: [Migration] = []
        for (file, data) in files where file.hasSuffix(".sql") {
            let stem = file.dropLast(".sql".count)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]), version > 0 else {
                throw .badMigrationFile(service: service, file: file, reason: "name must be NNN_description.sql")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw .badMigrationFile(service: service, file: file, reason: "not UTF-8")
            }
            let statements = Self.statements(in: text)
            guard !statements.isEmpty else {
                throw .badMigrationFile(service: service, file: file, reason: "no SQL statements")
            }
            migrations.append(
                Migration(service: service, version: version, name: String(stem[stem.index(after: underscore)...]), statements: statements)
            )
        }
        migrations.sort { $0.version < $1.version }
        for (index, migration) in migrations.enumerated() where migration.version != index + 1 {
            throw .badMigrationFile(
                service: service, file: "\(String(format: "%03d", migration.version))_\(migration.name).sql",
                reason: "expected version \(index + 1): versions must be unique and have no gaps"
            )
        }
        self.service = service
        self.migrations = migrations
    }

    /// Splits a file on `;` at the end of a line, dropping `--` comment lines.
    static func statements(in text: String) -> [String] {
        var statements: [String] = []
        var current: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("--") || trimmed.isEmpty { continue }
            current.append(line)
            if trimmed.hasSuffix(";") {
                statements.append(current.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines).dropLast().description)
                current = []
            }
        }
        let rest = current.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        if !rest.isEmpty { statements.append(rest) }
        return statements
    }
}

/// Applies migration sets and records them in `trellis_migrations`. Applying twice is a no-op; on PostgreSQL an
/// advisory lock makes concurrent starts of several services safe.
public struct Migrator: Sendable {
    public let database: Database
    /// A fixed key for `pg_advisory_xact_lock`: "trellis" in ASCII.
    static let lockKey = 0x7472_656c_6c69_73

    public init(database: Database) {
        self.database = database
    }

    /// Applies what is pending and returns the migrations it applied, in order.
    @discardableResult
    public func apply(_ set: MigrationSet, now: @escaping @Sendable () -> Date = Date.init) async throws -> [Migration] {
        try await database.transaction { sql in
            if database.dialect == .postgres {
                try await sql.raw("SELECT pg_advisory_xact_lock(\(unsafeRaw: String(Self.lockKey)))").run()
            }
            try await Self.createLedger(sql)
            let applied = try await Self.appliedVersions(sql, service: set.service)
            let known = Set(set.migrations.map(\.version))
            let unknown = applied.subtracting(known).sorted()
            guard unknown.isEmpty else { throw StoreError.unknownMigrations(service: set.service, versions: unknown) }
            let pending = set.migrations.filter { !applied.contains($0.version) }
            for migration in pending {
                do {
                    for statement in migration.statements {
                        try await sql.raw(SQLQueryString(statement)).run()
                    }
                } catch {
                    throw StoreError.migrationFailed(
                        service: set.service, version: migration.version, name: migration.name,
                        underlying: String(reflecting: error)
                    )
                }
                try await sql.insert(into: "trellis_migrations")
                    .columns("service", "version", "name", "applied_at")
                    .values(
                        SQLBind(set.service), SQLBind(migration.version), SQLBind(migration.name),
                        SQLBind(Int64(now().timeIntervalSince1970 * 1000))
                    )
                    .run()
            }
            return pending
        }
    }

    /// The versions of `set` not yet applied.
    public func pending(_ set: MigrationSet) async throws -> [Int] {
        try await database.transaction { sql in
            try await Self.createLedger(sql)
            let applied = try await Self.appliedVersions(sql, service: set.service)
            return set.migrations.map(\.version).filter { !applied.contains($0) }
        }
    }

    private static func createLedger(_ sql: any SQLDatabase) async throws {
        try await sql.raw(
            """
            CREATE TABLE IF NOT EXISTS trellis_migrations (
                service TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, applied_at BIGINT NOT NULL,
                PRIMARY KEY (service, version))
            """
        ).run()
    }

    private static func appliedVersions(_ sql: any SQLDatabase, service: String) async throws -> Set<Int> {
        let rows = try await sql.select().column("version").from("trellis_migrations")
            .where("service", .equal, service).all()
        return Set(try rows.map { try $0.decode(column: "version", as: Int.self) })
    }
}
