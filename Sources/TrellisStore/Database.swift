import Foundation
import Logging
import NIOSSL
import PostgresKit
import SQLiteKit
import ServiceLifecycle
import Synchronization

/// The one SQL layer over SQLite (embedded) and PostgreSQL (at scale). Services get SQL through
/// `read`/`snapshot`/`transaction` (and run the reads of every request as ``PreparedRead``s) and never touch a driver.
///
/// It is a `Service`: PostgreSQL's connection pool works while `run()` runs; SQLite's connection is closed when
/// `run()` returns at graceful shutdown. Use ``withOpened(_:logger:_:)`` for short-lived commands and tests.
public final class Database: Service, Sendable {
    public enum Dialect: String, Sendable {
        case sqlite
        case postgres
    }

    enum Backend: Sendable {
        /// One connection for writes, serialized: statements of concurrent callers never interleave inside a
        /// transaction; and, for a file, reader connections that reads take turns on (WAL lets them read while the
        /// writer writes). Each its own thread: a statement waiting on another process's lock blocks no one else's.
        case sqlite(SQLiteSession, readers: SQLiteReaders)
        /// The gate opens when `run()` starts the pool: PostgresNIO queues (and warns about) a lease asked for before,
        /// so statements wait on the gate instead.
        case postgres(PostgresClient, Gate)
    }

    public let url: DatabaseURL
    public let logger: Logger
    let backend: Backend

    public var dialect: Dialect {
        switch backend {
        case .sqlite: .sqlite
        case .postgres: .postgres
        }
    }

    private init(url: DatabaseURL, logger: Logger, backend: Backend) {
        self.url = url
        self.logger = logger
        self.backend = backend
    }

    /// Opens the database. A SQLite file's folder is created when missing, 0700, and the file 0600.
    public static func open(_ url: DatabaseURL, logger: Logger) async throws -> Database {
        switch url {
        case .sqliteFile(let path):
            do {
                // The folder and the file are the server user's alone (SQLite gives its -wal and -shm the file's mode).
                try PrivateFiles.directory(URL(fileURLWithPath: path).deletingLastPathComponent().path)
                try PrivateFiles.touch(path)
                return Database(url: url, logger: logger, backend: try await openSQLite(.file(path: path), logger: logger))
            } catch {
                throw StoreError.cannotOpen(url.description, underlying: String(describing: error))
            }
        case .sqliteMemory:
            return Database(url: url, logger: logger, backend: try await openSQLite(.memory, logger: logger))
        case .postgres(let text):
            let configuration: SQLPostgresConfiguration
            do {
                configuration = try SQLPostgresConfiguration(url: text)
            } catch {
                throw StoreError.invalidURL(url.description, reason: String(describing: error))
            }
            let core = configuration.coreConfiguration
            guard let host = core.host else {
                throw StoreError.invalidURL(url.description, reason: "a host is required")
            }
            let tls = try PostgresTLS(url: text)
            // One connection first: an unreachable server or a certificate that fails verification is an error now,
            // naming its cause, instead of a pool that retries behind every first query.
            do {
                let probe = try await PostgresConnection.connect(
                    configuration: PostgresConnection.Configuration(
                        host: host, port: core.port ?? 5432, username: core.username, password: core.password,
                        database: core.database, tls: try tls.connectionTLS()),
                    id: 0, logger: logger)
                try await probe.close()
            } catch {
                throw StoreError.cannotOpen(url.description, underlying: String(reflecting: error))
            }
            var clientConfiguration = PostgresClient.Configuration(
                host: host, port: core.port ?? 5432, username: core.username, password: core.password,
                database: core.database, tls: tls.clientTLS()
            )
            // Enough for a service's request concurrency on 2 cores; each executable has its own pool.
            clientConfiguration.options.maximumConnections = 10
            // The pool logs a failed connection (the server away) at info, and each statement at debug like SQLite.
            let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
            return Database(url: url, logger: logger, backend: .postgres(client, Gate()))
        }
    }

    /// Reader connections beside the writer of a SQLite file (an in-memory database is one connection's alone).
    static let sqliteReaders = 2

    private static func openSQLite(_ storage: SQLiteConnection.Storage, logger: Logger) async throws -> Backend {
        let writer = try await SQLiteSession.open(storage, logger: logger)
        var readers: [SQLiteSession] = []
        if case .file = storage {
            do {
                for _ in 0..<sqliteReaders { readers.append(try await SQLiteSession.open(storage, logger: logger)) }
            } catch {
                for session in [writer] + readers { try? await session.close() }
                throw error
            }
        }
        return .sqlite(writer, readers: SQLiteReaders(readers.isEmpty ? [writer] : readers))
    }

    static func configureSQLite(_ connection: SQLiteConnection) async throws {
        let sql = connection.sql()
        do {
            // Another process on the same file (`trellis migrate` beside a server) waits for its lock, not fails.
            try await sql.raw("PRAGMA busy_timeout = 10000").run()
            try await sql.raw("PRAGMA foreign_keys = ON").run()
            try await sql.raw("PRAGMA journal_mode = WAL").run()
            // Durable across a crash of the process (the WAL is written at every commit); only a power loss can lose
            // the last commits, which is SQLite's recommended trade-off for WAL.
            try await sql.raw("PRAGMA synchronous = NORMAL").run()
        } catch {
            try? await connection.close().get()
            throw error
        }
    }

    /// Runs `body` with SQL outside any transaction.
    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        switch backend {
        case .sqlite(_, let readers):
            let reader = readers.next()
            return try await reader.lock.withLock { try await body(reader.connection.sql()) }
        case .postgres(let client, let running):
            guard await running.wait() else { throw CancellationError() }
            return try await client.withConnection { connection in try await body(connection.sql()) }
        }
    }

    /// Runs `body`, which only reads, on one consistent view of the data: statements that must agree (a run's row, its
    /// tasks and its attempts) never see half of a change. SQLite: a read transaction on a reader (WAL keeps its view
    /// while the writer commits); PostgreSQL: a read-only repeatable-read transaction.
    public func snapshot<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        switch backend {
        case .sqlite(_, let readers):
            let reader = readers.next()
            return try await reader.lock.withLock { try await Self.inTransaction(reader.connection.sql(), begin: "BEGIN", body) }
        case .postgres(let client, let running):
            guard await running.wait() else { throw CancellationError() }
            return try await client.withConnection { connection in
                try await Self.inTransaction(connection.sql(), begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
            }
        }
    }

    /// Runs `body` in one transaction: all of it is committed, or none of it when it throws.
    public func transaction<T: Sendable>(
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        switch backend {
        case .sqlite(let writer, _):
            // IMMEDIATE takes the write lock up front: two processes never deadlock upgrading read locks.
            return try await writer.lock.withLock { try await Self.inTransaction(writer.connection.sql(), begin: "BEGIN IMMEDIATE", body) }
        case .postgres(let client, let running):
            guard await running.wait() else { throw CancellationError() }
            return try await client.withConnection { connection in
                try await Self.inTransaction(connection.sql(), begin: "BEGIN", body)
            }
        }
    }

    private static func inTransaction<T>(
        _ sql: any SQLDatabase, begin: SQLQueryString, _ body: (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await sql.raw(begin).run()
        do {
            let result = try await body(sql)
            try await sql.raw("COMMIT").run()
            return result
        } catch {
            // Also when the task was cancelled, which keeps SQLite's thread pool from running its statements: in a task
            // of its own, not cancelled, lest the connection stay inside this transaction for every later caller.
            _ = await Task { try await sql.raw("ROLLBACK").run() }.result
            throw error
        }
    }

    public func run() async throws {
        switch backend {
        case .sqlite:
            try? await gracefulShutdown()
            try await close()
        case .postgres(let client, let running):
            let pool = Task { await Self.run(client, opening: running) }
            try? await gracefulShutdown()
            await stop(pool)
        }
    }

    /// Cancels the pool and waits for it, at most ``poolStopBound``. Cancelled, the pool closes every connection, then
    /// waits for its own tasks. PostgresNIO 1.33.2's pool has been seen never to end that wait (the test suite's one
    /// hang: no connection left, every thread idle) — one of its timers waiting for a cancellation that never comes,
    /// as vapor/postgres-nio#641 fixed for another path. Its connections closed, what is left of it is let go rather
    /// than holding the process's stop.
    func stop(_ pool: Task<Void, Never>) async {
        pool.cancel()
        if await !Self.ends(pool, within: Self.poolStopBound) {
            logger.warning(
                "PostgreSQL's connection pool did not stop \(Self.poolStopBound) after it was told to; left behind",
                metadata: ["database": .string(url.description)])
        }
    }

    /// How long a pool told to stop is waited for.
    static let poolStopBound = Duration.seconds(10)

    /// Whether `task` ends within `bound` (it is let run on when it does not).
    static func ends(_ task: Task<Void, Never>, within bound: Duration) async -> Bool {
        let first = FirstAnswer()
        return await withCheckedContinuation { continuation in
            first.set(continuation)
            let timer = Task {
                try? await Task.sleep(for: bound)
                first.answer(false)
            }
            Task {
                await task.value
                timer.cancel()
                first.answer(true)
            }
        }
    }

    /// Runs the pool, letting statements through from the moment it runs (nothing suspends between the two).
    private static func run(_ client: PostgresClient, opening gate: Gate) async {
        gate.open()
        await client.run()
    }

    /// Opens the database, keeps it working while `body` runs, then closes it, also when `body` throws.
    public static func withOpened<T: Sendable>(
        _ url: DatabaseURL, logger: Logger, _ body: @escaping @Sendable (Database) async throws -> T
    ) async throws -> T {
        let database = try await open(url, logger: logger)
        var pool: Task<Void, Never>?
        if case .postgres(let client, let running) = database.backend {
            pool = Task { await Self.run(client, opening: running) }
        }
        let result: Result<T, any Error>
        do {
            result = .success(try await body(database))
        } catch {
            result = .failure(error)
        }
        if let pool { await database.stop(pool) }
        try await database.close()
        return try result.get()
    }

    /// Closes a database whose service never ran: the start failed before (SQLite's connection must be closed
    /// before it goes, or the process dies of an assertion instead of saying what failed).
    public func closeUnused() async {
        try? await close()
    }

    /// Closes SQLite's connection and thread (PostgreSQL's pool closes when `run()` ends). Not cancellable, so it
    /// also completes in a task that was cancelled.
    private func close() async throws {
        guard case .sqlite(let writer, let readers) = backend else { return }
        for reader in readers.sessions where reader !== writer { try await reader.close() }
        try await writer.close()
    }
}

/// A SQLite connection on its own thread, used by one caller at a time.
final class SQLiteSession: Sendable {
    let connection: SQLiteConnection
    let lock = AsyncLock()
    let threadPool: NIOThreadPool

    private init(connection: SQLiteConnection, threadPool: NIOThreadPool) {
        self.connection = connection
        self.threadPool = threadPool
    }

    static func open(_ storage: SQLiteConnection.Storage, logger: Logger) async throws -> SQLiteSession {
        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        do {
            let connection = try await SQLiteConnection.open(
                storage: storage, threadPool: threadPool, logger: logger, on: MultiThreadedEventLoopGroup.singleton.any())
            try await Database.configureSQLite(connection)
            return SQLiteSession(connection: connection, threadPool: threadPool)
        } catch {
            try? await threadPool.shutdownGracefully()
            throw error
        }
    }

    func close() async throws {
        try await connection.close().get()
        try await threadPool.shutdownGracefully()
    }
}

/// Reader sessions, taken in turn.
final class SQLiteReaders: Sendable {
    let sessions: [SQLiteSession]
    private let turn = Atomic<Int>(0)

    init(_ sessions: [SQLiteSession]) {
        self.sessions = sessions
    }

    func next() -> SQLiteSession { sessions[turn.add(1, ordering: .relaxed).oldValue % sessions.count] }
}

/// The first of several answers to one waiter; the others are dropped.
private final class FirstAnswer: Sendable {
    private let waiter = Mutex<CheckedContinuation<Bool, Never>?>(nil)

    func set(_ continuation: CheckedContinuation<Bool, Never>) {
        waiter.withLock { $0 = continuation }
    }

    func answer(_ value: Bool) {
        waiter.withLock { $0.take() }?.resume(returning: value)
    }
}
