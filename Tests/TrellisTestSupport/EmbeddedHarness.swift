import Foundation
import Gateway
import HummingbirdTesting
import ServiceContracts
import TrellisHTTP
import TrellisStore

/// The whole embedded platform in process, on a fresh database of the given kind, as `trellis serve` composes it.
public enum EmbeddedHarness {
    public static let adminPassword = "admin-password"
    /// The secrets key the platform under test seals stored secrets with.
    public static let secretsKey = Data(repeating: 7, count: 32).base64EncodedString()

    /// The token the platform under test's services call each other's internal routes with.
    public static func serviceToken() async throws -> String {
        let configuration = try await TrellisConfiguration.load(defaultPort: 0, flags: ["secrets.key": secretsKey], environment: [:])
        return try ServiceToken(configuration: configuration).value
    }

    public static func with(_ kind: DatabaseKind, _ body: @escaping @Sendable (TestClientTransport) async throws -> Void) async throws {
        try await with(kind) { api, _ in try await body(api) }
    }

    /// Also hands the test the database's URL, to look at what is stored; `flags` add to (or override) the settings.
    public static func with(
        _ kind: DatabaseKind, flags extra: [String: String] = [:],
        _ body: @escaping @Sendable (TestClientTransport, DatabaseURL) async throws -> Void
    ) async throws {
        try await withRoutes(kind, flags: extra) { api, url, _ in try await body(api, url) }
    }

    /// Also hands the test every route the platform's router registers (`METHOD /path` with `{parameters}`).
    public static func withRoutes(
        _ kind: DatabaseKind, flags extra: [String: String] = [:],
        _ body: @escaping @Sendable (TestClientTransport, DatabaseURL, [String]) async throws -> Void
    ) async throws {
        try await TestDatabases.withFresh(kind) { url in
            // Task executions (logs, working directories) live in the data directory.
            let data = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-data-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: data) }
            let environment = try await TestDatabases.serviceEnvironment(
                url,
                flags: [
                    "admin.password": adminPassword, "secrets.key": secretsKey, "data.dir": data.path, "task.stop.grace": "1s",
                    // Scheduler tests tick every minute.
                    "schedule.min.interval": "0s",
                ].merging(extra) { $1 }
            )
            let platform = try await Trail.step("composing the embedded platform") {
                try await Platform.embedded(environment: environment, demo: false)
            }
            let routes = platform.routes
            var application = platform.application
            application.services = application.services.map(TrailedService.init)
            // Open while its services start, the test runs, and they stop.
            try await Trail.step("the embedded platform's services") {
                try await application.test(.router) { client in
                    try await Trail.step("the test's body") { try await body(TestClientTransport(client), url, routes) }
                }
            }
        }
    }
}

extension APITransport {
    /// Creates users (password `<name>-password`) and a project owned by the first, with the others as members.
    public func team(project: String, owner: String, members: [(String, String)], admin: String) async throws -> [String: String] {
        var tokens: [String: String] = [:]
        for name in [owner] + members.map(\.0) {
            let created = try await call("POST", "/api/v1/users", token: admin, json: ["username": name, "password": "\(name)-password"])
            guard created.status == 201 || created.status == 409 else { throw TransportError("user \(name): \(created.text)") }
            tokens[name] = try await login(name, "\(name)-password")
        }
        let made = try await call("POST", "/api/v1/projects", token: tokens[owner], json: ["name": project])
        guard made.status == 201 else { throw TransportError("project \(project): \(made.text)") }
        for (name, role) in members {
            let added = try await call(
                "POST", "/api/v1/projects/\(project)/members", token: tokens[owner], json: ["username": name, "role": role])
            guard added.status == 201 else { throw TransportError("member \(name): \(added.text)") }
        }
        return tokens
    }
}
