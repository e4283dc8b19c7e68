import Foundation
import SQLKit
import Testing
import TrellisStore
import TrellisTestSupport

@Suite struct MigratorTests {
    static let files: [String: Data] = [
        "001_create_things.sql": Data(
            """
            -- a comment line
            CREATE TABLE things (id TEXT PRIMARY KEY, size BIGINT NOT NULL);
            CREATE INDEX things_size ON things (size);
            """.utf8),
        "002_more.sql": Data("ALTER TABLE things ADD COLUMN label TEXT NOT NULL DEFAULT '';\n".utf8),
    ]

    @Test(arguments: DatabaseKind.allCases)
    func appliesEachMigrationOnceAndRecordsIt(_ kind: DatabaseKind) async throws {
        try await TestDatabases.withFresh(kind) { url in
            try await Database.withOpened(url, logger: TestDatabases.logger) { database in
                let set = try MigrationSet(service: "things", files: Self.files)
                let migrator = Migrator(database: database)
                #expect(try await migrator.pending(set) == [1, 2])
                let first = try await migrator.apply(set)
                #expect(first.map(\.version) == [1, 2])
                let second = try await migrator.apply(set)
                #expect(second.isEmpty)
                #expect(try await migrator.pending(set).isEmpty)
                let recorded = try await database.read { sql in
                    try await sql.select().columns("service", "version", "name").from("trellis_migrations").orderBy("version").all()
                        .map {
                            try
                                "\($0.decode(column: "service", as: String.self))/\($0.decode(column: "version", as: Int.self))_\($0.decode(column: "name", as: String.self))"
                        }
                }
                #expect(recorded == ["things/1_create_things", "things/2_more"])
                // The migrated table is usable, label column included.
                try await database.read { sql in
                    try await sql.raw("INSERT INTO things (id, size, label) VALUES ('a', 1, 'x')").run()
                }
            }
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func concurrentMigratorsApplyOnce(_ kind: DatabaseKind) async throws {
        try await TestDatabases.withFresh(kind) { url in
            // Separate connections, as separate service processes would have.
            let results = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        try await Database.withOpened(url, logger: TestDatabases.logger) { database in
                            try await Migrator(database: database).apply(try MigrationSet(service: "things", files: Self.files)).count
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.reduce(0, +) == 2)
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func aFailingMigrationLeavesNothingBehind(_ kind: DatabaseKind) async throws {
        try await TestDatabases.withFresh(kind) { url in
            try await Database.withOpened(url, logger: TestDatabases.logger) { database in
                let broken = try MigrationSet(
                    service: "broken",
                    files: ["001_ok.sql": Data("CREATE TABLE fine (id TEXT);\nCREATE TABLE fine (id TEXT);".utf8)]
                )
                await #expect {
                    try await Migrator(database: database).apply(broken)
                } throws: { error in
                    "\(error)".contains("migration broken/001_ok failed")
                }
                #expect(try await Migrator(database: database).pending(broken) == [1])
                // The first statement was rolled back with the second: the table can be created again.
                try await database.read { try await $0.raw("CREATE TABLE fine (id TEXT)").run() }
            }
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func aDatabaseAheadOfTheBinaryIsRefused(_ kind: DatabaseKind) async throws {
        try await TestDatabases.withFresh(kind) { url in
            try await Database.withOpened(url, logger: TestDatabases.logger) { database in
                try await Migrator(database: database).apply(try MigrationSet(service: "things", files: Self.files))
                let older = try MigrationSet(service: "things", files: Self.files.filter { $0.key.hasPrefix("001") })
                await #expect {
                    try await Migrator(database: database).apply(older)
                } throws: { error in
                    "\(error)".contains("does not know (2)")
                }
            }
        }
    }

    @Test func migrationFileNamesMustBeNumberedWithoutGaps() {
        #expect(throws: StoreError.self) { try MigrationSet(service: "s", files: ["create.sql": Data("SELECT 1;".utf8)]) }
        #expect {
            try MigrationSet(service: "s", files: ["001_a.sql": Data("SELECT 1;".utf8), "003_c.sql": Data("SELECT 1;".utf8)])
        } throws: { error in
            "\(error)".contains("migrations/s/003_c.sql: expected version 2")
        }
    }
}
