import Crypto
import Foundation
import Hummingbird
import ServiceContracts
import TrellisCore
import TrellisHTTP

/// Personal API tokens for automation: create (the secret shown once), list, revoke; and introspection, which tells
/// the other services who a token acts for. Only the SHA-256 of a token is stored: the secret is 32 random bytes,
/// so a slow hash would add nothing.
struct APITokenController<Repository: IdentityRepository>: Sendable {
    let repository: Repository
    let now: @Sendable () -> Date

    static var longestLifetime: Duration { .seconds(365 * 86_400) }

    func addRoutes(public publicRoutes: RouterGroup<TrellisRequestContext>, authenticated: RouterGroup<TrellisRequestContext>) {
        publicRoutes.post("auth/introspect", use: introspect)
        authenticated.post("tokens", use: create)
        authenticated.get("tokens", use: list)
        authenticated.delete("tokens/:id", use: revoke)
    }

    struct CreateRequest: Decodable {
        let name: String
        /// Projects the token may reach; absent: all of the user's.
        let projects: [String]?
        /// The highest role it acts with: viewer, developer (default) or owner.
        let role: String?
        /// How long it lasts, such as 30d (default) or 12h; at most 365d.
        let expiresIn: String?
    }

    struct Created: ResponseEncodable {
        /// The secret, shown this once.
        let token: String
        let apiToken: APIToken
    }

    @Sendable func create(_ request: Request, context: TrellisRequestContext) async throws -> EditedResponse<Created> {
        let caller = try context.requireUser()
        guard caller.scope == nil else { throw APIError.forbidden("an API token cannot create API tokens; log in") }
        let body = try await request.decode(as: CreateRequest.self, context: context)
        let name = body.name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.count <= 100 else { throw ValidationError(field: "name", "must be 1 to 100 characters") }
        let role = try ProjectRole.parse(body.role ?? ProjectRole.developer.rawValue)
        let lifetime = try DurationText.parse(body.expiresIn ?? "30d", field: "expiresIn")
        guard lifetime > .zero, lifetime <= Self.longestLifetime else { throw ValidationError(field: "expiresIn", "must be at most 365d") }
        if let projects = body.projects {
            guard !projects.isEmpty else { throw ValidationError(field: "projects", "must name at least one project, or be left out") }
            for (index, name) in projects.enumerated() {
                guard let project = try await repository.project(named: name),
                    try await repository.role(of: .init(caller.id), in: project.id) != nil
                else { throw ValidationError(field: "projects[\(index)]", "\"\(name)\" is not a project you are a member of") }
            }
        }
        var random = SystemRandomNumberGenerator()
        let secret = APITokenFormat.prefix + Data((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &random) }).base64URL
        let created = now()
        let token = APIToken(
            id: UUID().uuidString.lowercased(), userID: caller.id, name: name, projects: body.projects, role: role, createdAt: created,
            expiresAt: created.addingTimeInterval(Double(lifetime.components.seconds)))
        try await repository.createAPIToken(token, hash: Self.hash(secret))
        return EditedResponse(status: .created, response: Created(token: secret, apiToken: token))
    }

    struct TokenList: ResponseEncodable {
        let tokens: [APIToken]
    }

    @Sendable func list(_ request: Request, context: TrellisRequestContext) async throws -> TokenList {
        TokenList(tokens: try await repository.apiTokens(of: .init(try context.requireUser().id)))
    }

    @Sendable func revoke(_ request: Request, context: TrellisRequestContext) async throws -> HTTPResponse.Status {
        let id = try context.parameters.require("id")
        guard try await repository.revokeAPIToken(id, of: .init(try context.requireUser().id), at: now()) else {
            throw APIError.notFound("you have no API token \(id) that is not revoked")
        }
        return .noContent
    }

    struct IntrospectRequest: Decodable {
        let token: String
    }

    struct Introspected: ResponseEncodable {
        let user: AuthenticatedUser
    }

    /// Who the token acts for, with its scope; 404 when it is unknown, revoked or expired.
    @Sendable func introspect(_ request: Request, context: TrellisRequestContext) async throws -> Introspected {
        let body = try await request.decode(as: IntrospectRequest.self, context: context)
        guard let user = try await user(of: body.token) else { throw APIError.notFound("the API token is unknown, revoked or expired") }
        return Introspected(user: user)
    }

    func user(of secret: String) async throws -> AuthenticatedUser? {
        guard secret.hasPrefix(APITokenFormat.prefix), let found = try await repository.apiToken(hash: Self.hash(secret)),
            found.token.revokedAt == nil, found.token.expiresAt > now(), !found.user.disabled
        else { return nil }
        return AuthenticatedUser(
            id: found.user.id.rawValue, username: found.user.username, isAdmin: false,
            scope: TokenScope(projects: found.token.projects, ceiling: found.token.role))
    }

    static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

extension Data {
    /// Base64url without padding (RFC 4648 §5).
    var base64URL: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
