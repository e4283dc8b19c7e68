import Foundation
import JWTKit
import ServiceContracts
import TrellisCore
import TrellisHTTP
import TrellisStore

/// The identity service answering the other modules of the same process (embedded mode).
struct InProcessIdentityClient: IdentityClient {
    let issuer: TokenIssuer
    let repository: any IdentityRepository
    let tokens: APITokenController<SQLIdentityRepository>
    let secrets: SecretBox

    func publicKeys() async throws -> JWKS {
        try await issuer.publicKeys()
    }

    func role(of user: AuthenticatedUser, inProject project: String, token: String) async throws -> ProjectRole? {
        guard let found = try await repository.project(named: project, roleOf: .init(user.id), checking: nil).value else { return nil }
        return user.isAdmin ? .owner : found.role
    }

    func actAs(_ username: String) async throws -> Caller? {
        // A disabled user works on nobody's behalf (their schedules' ticks fail, saying so).
        guard let found = try await repository.user(named: username), !found.user.disabled else { return nil }
        let user = AuthenticatedUser(id: found.user.id.rawValue, username: found.user.username, isAdmin: found.user.isAdmin)
        return Caller(user: user, token: try await issuer.issue(for: user))
    }

    func isRevoked(_ tokenID: String, user userID: String, issuedAt: Date) async throws -> Bool {
        try await repository.isRevoked(tokenID, user: userID, issuedAt: issuedAt)
    }

    func introspect(apiToken: String) async throws -> AuthenticatedUser? {
        try await tokens.user(of: apiToken)
    }

    func settings(ofProject project: String) async throws -> ProjectSettings? {
        try await repository.project(named: project)?.settings
    }

    func secretEnvironment(ofProject project: String) async throws -> [String: String]? {
        guard let found = try await repository.project(named: project) else { return nil }
        let sealed = try await repository.sealedSecrets(of: found.id)
        var values: [String: String] = [:]
        for name in found.settings.secretEnv {
            guard let value = sealed[name] else { continue }
            values[name] = try secrets.open(value)
        }
        return values
    }

    func alerting(ofProject project: String) async throws -> ProjectAlerting? {
        guard let found = try await repository.project(named: project) else { return nil }
        let sealed = try await repository.sealedSecrets(of: found.id)
        var targets: [String: ProjectAlerting.Target] = [:]
        for (name, webhook) in found.settings.webhooks {
            guard let url = sealed[Webhook.urlSecretName(name)] else { continue }
            let key = webhook.signed ? try sealed[Webhook.keySecretName(name)].map(secrets.open) : nil
            targets[name] = ProjectAlerting.Target(url: try secrets.open(url), format: webhook.format, secret: key)
        }
        return ProjectAlerting(alerts: found.settings.alerts, webhooks: targets)
    }

    func projectDeletions(for service: ServiceName) async throws -> [ProjectDeletion] {
        try await repository.pendingDeletions(for: service)
    }

    func finishProjectDeletion(_ deletion: ProjectDeletion, by service: ServiceName) async throws {
        try await repository.finishDeletion(of: .init(deletion.projectID), by: service, at: Date())
    }
}
