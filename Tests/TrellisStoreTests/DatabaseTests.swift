import Foundation
import SQLKit
import Synchronization
import Testing
import TrellisTestSupport

@testable import TrellisStore

@Suite struct DatabaseTests {
    struct Boom: Error {}

    @Test(arguments: DatabaseKind.allCases)
    func aThrowingTransactionIsRolledBack(_ kind: DatabaseKind) async throws {
        try await TestDatabases.withFresh(kind) { url in
            try await Database.withOpened(url, logger: TestDatabases.logger) { database in
                try await database.read {
                    try await $0.raw("CREATE TABLE t (id TEXT PRIMARY KEY, flag BOOLEAN NOT NULL, at BIGINT NOT NULL)").run()
                }
                await #expect(throws: Boom.self) {
                    try await database.transaction { sql in
                        try await sql.insert(into: "t").columns("id", "flag", "at").values(SQLBind("a"), SQLBind(true), SQLBind(Int64(1)))
                            .run()
                        throw Boom()
                    }
                }
                try await database.transaction { sql in
                    try await sql.insert(into: "t").columns("id", "flag", "at")
                        .values(SQLBind("b"), SQLBind(false), SQLBind(Date(timeIntervalSince1970: 1_700_000_000.123).milliseconds)).run()
                }
                struct Row: Decodable, Equatable {
                    let id: String, flag: Bool, at: Int64
                }
                let rows = try await database.read { try await $0.select().columns("*").from("t").all(decoding: Row.self) }
                #expect(rows == [Row(id: "b", flag: false, at: 1_700_000_000_123)])
            }
        }
    }

    /// A pool told to stop is waited for a bounded time: one that never ends (PostgresNIO's has been seen not to) is
    /// let go and the stop goes on; one that ends is seen to.
    @Test func aTaskThatNeverEndsIsLetGoAfterTheBound() async {
        let held = HeldContinuation()
        let never = Task { await withCheckedContinuation { held.keep($0) } }
        #expect(await Database.ends(never, within: .milliseconds(50)) == false)
        #expect(await Database.ends(Task {}, within: .seconds(600)) == true)
        held.resume()
        #expect(await Database.ends(never, within: .seconds(600)) == true)
    }

    /// A statement asked for before PostgreSQL's pool runs waits for it; cancelled (a platform whose start failed,
    /// stopping), it ends at once instead of waiting for a pool that will never run.
    @Test func aStatementWaitingForAPoolThatNeverRunsEndsWhenCancelled() async throws {
        try await TestDatabases.withFresh(.postgres) { url in
            let database = try await Database.open(url, logger: TestDatabases.logger)
            let statement = Task { try await database.read { try await $0.raw("SELECT 1").run() } }
            statement.cancel()
            await #expect(throws: CancellationError.self) { try await statement.value }
        }
    }

    /// A task cancelled inside a transaction (a request whose client left, a service stopping) rolls it back: the
    /// connection is not left inside it, so the next transaction neither fails nor commits the cancelled one's writes.
    @Test(arguments: DatabaseKind.allCases)
    func aCancelledTransactionIsRolledBack(_ kind: DatabaseKind) async throws {
        try await TestDatabases.withFresh(kind) { url in
            try await Database.withOpened(url, logger: TestDatabases.logger) { database in
                try await database.read { try await $0.raw("CREATE TABLE t (id TEXT PRIMARY KEY)").run() }
                let inserted = Mutex(false)
                let cancelled = Task {
                    try await database.transaction { sql in
                        try await sql.insert(into: "t").columns("id").values(SQLBind("cancelled")).run()
                        inserted.withLock { $0 = true }
                        try await Task.sleep(for: .seconds(600))
                    }
                }
                try await Waiting.until("the cancelled transaction's first write") { inserted.withLock { $0 } }
                cancelled.cancel()
                await #expect(throws: CancellationError.self) { try await cancelled.value }
                try await database.transaction { sql in try await sql.insert(into: "t").columns("id").values(SQLBind("next")).run() }
                let ids = try await database.read {
                    try await $0.select().column("id").from("t").all().map { try $0.decode(column: "id", as: String.self) }
                }
                #expect(ids == ["next"])
            }
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func concurrentTransactionsDoNotInterleave(_ kind: DatabaseKind) async throws {
        try await TestDatabases.withFresh(kind) { url in
            try await Database.withOpened(url, logger: TestDatabases.logger) { database in
                try await database.read { try await $0.raw("CREATE TABLE counter (n BIGINT NOT NULL)").run() }
                try await database.read { try await $0.raw("INSERT INTO counter (n) VALUES (0)").run() }
                // Read-modify-write in a transaction; on PostgreSQL the row lock (FOR UPDATE) serializes writers.
                let lock = database.dialect == .postgres ? " FOR UPDATE" : ""
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<20 {
                        group.addTask {
                            try await database.transaction { sql in
                                let n = try await sql.raw("SELECT n FROM counter\(unsafeRaw: lock)").first()!.decode(
                                    column: "n", as: Int.self)
                                try await sql.raw("UPDATE counter SET n = \(bind: n + 1)").run()
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                let n = try await database.read { try await $0.raw("SELECT n FROM counter").first()!.decode(column: "n", as: Int.self) }
                #expect(n == 20)
            }
        }
    }

    /// Statements of one snapshot agree: a change committed meanwhile is all seen after it, none of it within. The
    /// change commits between the snapshot's two reads (PostgreSQL: another connection of the pool; SQLite: the writer
    /// beside the snapshot's reader connection, WAL keeping the reader's view).
    @Test(arguments: DatabaseKind.allCases)
    func aSnapshotNeverSeesHalfOfAChange(_ kind: DatabaseKind) async throws {
        try await TestDatabases.withFresh(kind) { url in
            try await Database.withOpened(url, logger: TestDatabases.logger) { database in
                try await database.read { try await $0.raw("CREATE TABLE parts (n BIGINT NOT NULL)").run() }
                let count: @Sendable (any SQLDatabase) async throws -> Int = {
                    try await $0.raw("SELECT COUNT(*) AS n FROM parts").first()!.decode(column: "n", as: Int.self)
                }
                let seen = try await database.snapshot { sql in
                    let before = try await count(sql)
                    try await database.transaction { sql in
                        for n in 0..<2 { try await sql.raw("INSERT INTO parts (n) VALUES (\(bind: n))").run() }
                    }
                    return (before, try await count(sql))
                }
                #expect(seen.0 == 0 && seen.1 == 0)
                #expect(try await database.read(count) == 2)
            }
        }
    }

    /// TLS to PostgreSQL as libpq's `sslmode` says: verify-full against the test server's CA (its certificate is for
    /// localhost) is encrypted, disable is not, a CA that did not sign it is refused, and bad settings name themselves.
    @Test func postgresOverTLSFollowsSSLMode() async throws {
        let admin = try TestDatabases.postgresAdminURL()
        let ca = try #require(ProcessInfo.processInfo.environment["TRELLIS_TEST_POSTGRES_CA"], "make test's PostgreSQL has TLS")
        let localhost = admin.replacingOccurrences(of: "127.0.0.1", with: "localhost")
        func encrypted(_ url: String) async throws -> Bool {
            try await Database.withOpened(try DatabaseURL(url), logger: TestDatabases.logger) { database in
                try await database.read {
                    try await $0.raw("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").first()!.decode(
                        column: "ssl", as: Bool.self)
                }
            }
        }
        #expect(try await encrypted("\(localhost)?sslmode=verify-full&sslrootcert=\(ca)"))
        #expect(try await encrypted("\(admin)?sslmode=verify-ca&sslrootcert=\(ca)"))
        #expect(try await encrypted("\(admin)?sslmode=require"))
        #expect(try await encrypted("\(admin)?sslmode=disable") == false)
        // The system's CAs did not sign the test server's certificate: refused at open, saying why.
        let unverified = await #expect(throws: StoreError.self) { try await encrypted("\(localhost)?sslmode=verify-full") }
        #expect(unverified.map { "\($0)".lowercased() }?.contains("certificate") == true, "\(String(describing: unverified))")
        let badMode = await #expect(throws: StoreError.self) { try await encrypted("\(admin)?sslmode=sometimes") }
        #expect(badMode.map { "\($0)" }?.contains("sslmode=sometimes") == true)
        let missing = await #expect(throws: StoreError.self) {
            try await encrypted("\(admin)?sslmode=verify-full&sslrootcert=/nowhere.pem")
        }
        #expect(missing.map { "\($0)" }?.contains("/nowhere.pem") == true)
    }

    @Test func databaseURLsAreParsedAndPasswordsMasked() throws {
        #expect(try DatabaseURL("sqlite:///var/lib/trellis/t.db") == .sqliteFile(path: "/var/lib/trellis/t.db"))
        #expect(try DatabaseURL("sqlite:data/t.db") == .sqliteFile(path: "data/t.db"))
        #expect(try DatabaseURL("sqlite::memory:") == .sqliteMemory)
        let postgres = try DatabaseURL("postgres://trellis:s3cret@db:5432/trellis")
        #expect(postgres.description == "postgres://trellis:***@db:5432/trellis")
        #expect(throws: StoreError.self) { try DatabaseURL("mysql://x") }
        #expect(throws: StoreError.self) { try DatabaseURL("sqlite://") }
    }
}

/// A continuation a test resumes when it chooses.
final class HeldContinuation: Sendable {
    private let continuation = Mutex<CheckedContinuation<Void, Never>?>(nil)

    func keep(_ waiter: CheckedContinuation<Void, Never>) {
        continuation.withLock { $0 = waiter }
    }

    /// Resumes it, once it is kept (the task holding it may not have started yet).
    func resume() {
        while true {
            if let waiter = continuation.withLock({ $0.take() }) {
                waiter.resume()
                return
            }
            Thread.sleep(forTimeInterval: 0.001)
        }
    }
}
