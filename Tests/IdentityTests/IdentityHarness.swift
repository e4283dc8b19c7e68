import Foundation
import Hummingbird
import HummingbirdTesting
import Prometheus
import ServiceContracts
import TrellisHTTP
import TrellisStore
import TrellisTestSupport

@testable import Identity

/// The identity service in process, on a fresh database of the given kind, exactly as its executable composes it.
enum IdentityHarness {
    static let adminPassword = "admin-password"

    static func with(
        _ kind: DatabaseKind,
        adminPassword: String? = IdentityHarness.adminPassword,
        now: @escaping @Sendable () -> Date = Date.init,
        _ body: @escaping @Sendable (TestClientTransport, IdentityModule) async throws -> Void
    ) async throws {
        try await TestDatabases.withFresh(kind) { url in
            var flags: [String: String] = [:]
            flags["admin.password"] = adminPassword
            flags["secrets.key"] = EmbeddedHarness.secretsKey
            let environment = try await TestDatabases.serviceEnvironment(url, flags: flags)
            let module = try await IdentityModule(environment: environment, now: now)
            let router = ServiceHost.makeRouter(
                service: "identity", modules: [module], verifier: TokenVerifier(identity: module.identityClient!),
                registry: PrometheusCollectorRegistry(), database: environment.database,
                extraMiddleware: [ClientAddressMiddleware(token: try ServiceToken(configuration: environment.configuration))]
            )
            let app = try ServiceHost.makeApplication(modules: [module], router: router, environment: environment)
            try await app.test(.router) { client in
                try await body(TestClientTransport(client), module)
            }
        }
    }
}
