import AsyncHTTPClient
import Foundation
import Logging
import TrellisHTTP
import TrellisStore

/// The two stores every store-touching test runs against: the same test body for both.
public enum DatabaseKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }
}

public enum TestDatabases {
    /// The private PostgreSQL that `make test` starts (scripts/with-postgres.sh), as a URL to its `postgres` database.
    public static let postgresVariable = "TRELLIS_TEST_POSTGRES_URL"

    public static let logger: Logger = {
        var logger = Logger(label: "trellis.test")
        logger.logLevel = .warning
        return logger
    }()

    /// Connections the tests may hold on the test PostgreSQL at once: scripts/with-postgres.sh starts it with
    /// `max_connections=300`, less its 3 reserved for superusers and room for the admin connections that create and
    /// drop the databases.
    static let postgresConnections = Slots(280, of: "connections to the test PostgreSQL")
    /// What one service's pool opens at most (`Database`'s `maximumConnections`).
    public static let connectionsPerPool = 10

    /// A new, empty database of `kind` for one test, removed afterwards. PostgreSQL tests fail (they are not
    /// skipped) when no server is configured, so a green run always covers both stores. A PostgreSQL test waits until
    /// `pools` service pools fit within the server's connections beside the tests already running (by default one:
    /// an embedded platform; a split-mode deployment passes one per service). The test is watched: still running
    /// after five minutes, it says where it is (``Trail``).
    public static func withFresh<T: Sendable>(
        _ kind: DatabaseKind, pools: Int = 1, _ body: @Sendable (DatabaseURL) async throws -> T
    ) async throws -> T {
        try await Trail.watching {
            switch kind {
            case .sqlite:
                let folder = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-test-\(UUID().uuidString)")
                defer { try? FileManager.default.removeItem(at: folder) }
                let path = folder.appendingPathComponent("trellis.db").path
                return try await Trail.step("on the SQLite database \(path)") { try await body(.sqliteFile(path: path)) }
            case .postgres:
                return try await postgresConnections.holding(pools * connectionsPerPool) { try await withFreshPostgres(body) }
            }
        }
    }

    static func withFreshPostgres<T: Sendable>(_ body: @Sendable (DatabaseURL) async throws -> T) async throws -> T {
        let admin = try postgresAdminURL()
        let name = "trellis_test_\(UUID().uuidString.prefix(8).lowercased())"
        try await Trail.step("creating the PostgreSQL database \(name)") {
            try await Database.withOpened(try DatabaseURL(admin), logger: logger) { database in
                try await database.read { try await $0.raw("CREATE DATABASE \(unsafeRaw: name)").run() }
            }
        }
        let result: Result<T, any Error>
        do {
            let url = try DatabaseURL(replacingDatabase(in: admin, with: name))
            result = .success(try await Trail.step("on the PostgreSQL database \(name)") { try await body(url) })
        } catch {
            result = .failure(error)
        }
        try await Trail.step("dropping the PostgreSQL database \(name)") {
            try await Database.withOpened(try DatabaseURL(admin), logger: logger) { database in
                try await database.read { try await $0.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run() }
            }
        }
        return try result.get()
    }

    public static func postgresAdminURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment[postgresVariable], !url.isEmpty else {
            throw MissingPostgres()
        }
        return url
    }

    public static func replacingDatabase(in url: String, with name: String) -> String {
        var components = URLComponents(string: url)!
        components.path = "/" + name
        return components.string!
    }

    struct MissingPostgres: Error, CustomStringConvertible {
        var description: String {
            "\(TestDatabases.postgresVariable) is not set: run the tests with `make test`, which starts a private PostgreSQL"
        }
    }
}

extension TestDatabases {
    /// What a service module is built with in tests: `flags` as configuration, the database at `url` opened (the
    /// application under test runs and closes it).
    public static func serviceEnvironment(_ url: DatabaseURL, flags: [String: String]) async throws -> ServiceEnvironment {
        var configuration = try await TrellisConfiguration.load(
            defaultPort: 0, flags: flags.merging(["port": "0"]) { $1 }, environment: [:])
        configuration.databaseURL = url
        return ServiceEnvironment(
            configuration: configuration,
            database: try await Database.open(url, logger: logger),
            httpClient: HTTPClient(eventLoopGroupProvider: .singleton),
            logger: logger
        )
    }
}
