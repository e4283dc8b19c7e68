import AsyncHTTPClient
import Foundation
import JWTKit
import TrellisCore

/// What other services ask of the identity service. In embedded mode the identity service answers in process;
/// in split mode ``HTTPIdentityClient`` asks it over HTTP.
public protocol IdentityClient: Sendable {
    /// The public keys that verify access tokens (a JWKS), served at `GET /api/v1/auth/jwks`.
    func publicKeys() async throws -> JWKS

    /// The caller's role in a project, nil when they are not a member (platform admins are owners everywhere).
    /// `token` is the caller's own bearer token: over HTTP the question is asked as the caller.
    func role(of user: AuthenticatedUser, inProject project: String, token: String) async throws -> ProjectRole?

    /// A caller acting as `username` with a fresh access token, for work done on a user's behalf with no request
    /// (the scheduler starts a schedule's runs as whoever saved it); nil when there is no such user.
    func actAs(_ username: String) async throws -> Caller?

    /// Whether the token with this id (`jti`) was revoked by a logout or a refresh, or all sessions of its user
    /// (`userID`) issued before some instant were voided (the user disabled, deleted, or their admin flag changed).
    func isRevoked(_ tokenID: String, user userID: String, issuedAt: Date) async throws -> Bool

    /// The user (with the token's scope) a personal API token acts for; nil when it is unknown, revoked or expired.
    func introspect(apiToken: String) async throws -> AuthenticatedUser?

    /// A project's settings, asked on nobody's behalf (the orchestrator's quotas and defaults); nil: no such project.
    func settings(ofProject project: String) async throws -> ProjectSettings?

    /// The values of a project's secret env entries (``ProjectSettings/secretEnv``), in clear, for a task's launch;
    /// nil: no such project. Asked on nobody's behalf, never shown.
    func secretEnvironment(ofProject project: String) async throws -> [String: String]?

    /// A project's alert defaults and its webhooks with their URLs and keys in clear, for sending alerts; nil: no
    /// such project. Asked on nobody's behalf, never shown.
    func alerting(ofProject project: String) async throws -> ProjectAlerting?

    /// The deletions `service` has still to purge whose prerequisites are done (``ProjectDeletion``).
    func projectDeletions(for service: ServiceName) async throws -> [ProjectDeletion]

    /// `service` holds nothing of the deleted project any more.
    func finishProjectDeletion(_ deletion: ProjectDeletion, by service: ServiceName) async throws
}

/// ``IdentityClient`` over HTTP, for services running as their own processes (acting as a user with the service
/// token, on the identity service's internal route).
public struct HTTPIdentityClient: IdentityClient {
    let requests: ServiceRequests
    let serviceToken: ServiceToken?
    /// Revoked token ids, followed incrementally at most a second apart, and API tokens' users, each at most a second
    /// old: a token revoked on the identity service stops working here within a second.
    let revocations: RevocationMirror
    let introspections = ExpiringCache<String, AuthenticatedUser?>(ttl: .seconds(1))

    public init(baseURL: String, httpClient: HTTPClient, serviceToken: ServiceToken?) {
        requests = ServiceRequests(service: .identity, baseURL: baseURL, httpClient: httpClient)
        self.serviceToken = serviceToken
        revocations = RevocationMirror(requests: requests)
    }

    public func introspect(apiToken: String) async throws -> AuthenticatedUser? {
        try await introspections.value(for: apiToken) {
            struct Introspected: Decodable { let user: AuthenticatedUser }
            return try await requests.post(APIPaths.introspect, json: ["token": apiToken], as: Introspected.self, token: nil)?.user
        }
    }

    /// The service token for an internal route, or the error saying `what` needs it.
    func serviceToken(for what: String) throws -> ServiceToken {
        guard let serviceToken else { throw APIError.unavailable("\(what) needs the service token") }
        return serviceToken
    }

    public func isRevoked(_ tokenID: String, user userID: String, issuedAt: Date) async throws -> Bool {
        try await revocations.refuses(tokenID, user: userID, issuedAt: issuedAt)
    }

    public func settings(ofProject project: String) async throws -> ProjectSettings? {
        let serviceToken = try serviceToken(for: "reading project settings")
        return try await requests.get(APIPaths.projectSettings(project), as: ProjectSettings.self, token: serviceToken.value)
    }

    public func secretEnvironment(ofProject project: String) async throws -> [String: String]? {
        let serviceToken = try serviceToken(for: "reading project secrets")
        struct Values: Decodable { let values: [String: String] }
        return try await requests.get(APIPaths.projectSecrets(project), as: Values.self, token: serviceToken.value)?.values
    }

    public func alerting(ofProject project: String) async throws -> ProjectAlerting? {
        let serviceToken = try serviceToken(for: "reading project webhooks")
        return try await requests.get(APIPaths.projectAlerting(project), as: ProjectAlerting.self, token: serviceToken.value)
    }

    public func projectDeletions(for service: ServiceName) async throws -> [ProjectDeletion] {
        let serviceToken = try serviceToken(for: "reading project deletions")
        struct Deletions: Decodable { let deletions: [ProjectDeletion] }
        return try await requests.get(APIPaths.projectDeletions(for: service), as: Deletions.self, token: serviceToken.value)?.deletions
            ?? []
    }

    public func finishProjectDeletion(_ deletion: ProjectDeletion, by service: ServiceName) async throws {
        let serviceToken = try serviceToken(for: "finishing project deletions")
        try await requests.send(
            "POST", APIPaths.finishedProjectDeletion(deletion.projectID, by: service), body: nil, token: serviceToken.value)
    }

    public func actAs(_ username: String) async throws -> Caller? {
        let serviceToken = try serviceToken(for: "acting as a user")
        struct Issued: Decodable { let token: String, user: AuthenticatedUser }
        let issued = try await requests.post(APIPaths.actAs, json: ["username": username], as: Issued.self, token: serviceToken.value)
        return issued.map { Caller(user: $0.user, token: $0.token) }
    }

    public func publicKeys() async throws -> JWKS {
        guard let jwks = try await requests.get(APIPaths.jwks, as: JWKS.self, token: nil) else {
            throw APIError.unavailable("the identity service has no public keys at \(APIPaths.jwks)")
        }
        return jwks
    }

    public func role(of user: AuthenticatedUser, inProject project: String, token: String) async throws -> ProjectRole? {
        struct Membership: Decodable { let role: ProjectRole }
        return try await requests.get("/api/v1/projects/" + ServiceRequests.escaped(project), as: Membership.self, caller: token)?.role
    }
}

/// Paths that several modules need to agree on.
public enum APIPaths {
    public static let login = "/api/v1/auth/login"
    public static let jwks = "/api/v1/auth/jwks"
    /// The ids of revoked tokens not expired yet.
    public static let revocations = "/api/v1/auth/revocations"
    /// Who a personal API token acts for (404 when it is unknown, revoked or expired).
    public static let introspect = "/api/v1/auth/introspect"
    /// Internal (service token): a token for a user, for work done on their behalf.
    public static let actAs = "/api/v1/internal/identity/act-as"
    /// Internal (service token): a project's settings.
    public static func projectSettings(_ project: String) -> String {
        "/api/v1/internal/identity/projects/\(ServiceRequests.escaped(project))/settings"
    }
    /// Reached without a token.
    public static func projectSecrets(_ project: String) -> String {
        "/api/v1/internal/identity/projects/\(ServiceRequests.escaped(project))/secrets"
    }

    public static func projectAlerting(_ project: String) -> String {
        "/api/v1/internal/identity/projects/\(ServiceRequests.escaped(project))/alerting"
    }

    public static func projectDeletions(for service: ServiceName) -> String {
        "/api/v1/internal/identity/project-deletions?service=\(service.rawValue)"
    }

    public static func finishedProjectDeletion(_ projectID: String, by service: ServiceName) -> String {
        "/api/v1/internal/identity/project-deletions/\(ServiceRequests.escaped(projectID))/done?service=\(service.rawValue)"
    }

    public static let publicPaths: Set<String> = [login, jwks, revocations, introspect]
}

/// What `GET /api/v1/auth/revocations[?after=REVISION]` answers: the revoked, unexpired tokens and the voided
/// sessions after a revision, and the newest revision (`tokens` repeats the ids, the list's first form).
public struct RevocationFeed: Codable, Sendable, Equatable {
    /// Every token of `user` issued before `before` is refused (until `expiresAt`, when all of them have expired).
    public struct Voided: Codable, Sendable, Equatable {
        public let user: String
        public let before: Date
        public let expiresAt: Date

        public init(user: String, before: Date, expiresAt: Date) {
            self.user = user
            self.before = before
            self.expiresAt = expiresAt
        }
    }

    public struct Revoked: Codable, Sendable, Equatable {
        public let id: String
        public let expiresAt: Date

        public init(id: String, expiresAt: Date) {
            self.id = id
            self.expiresAt = expiresAt
        }
    }

    public let revision: Int64
    public let revoked: [Revoked]
    public let voided: [Voided]
    public var tokens: [String] { revoked.map(\.id) }

    public init(revision: Int64, revoked: [Revoked], voided: [Voided] = []) {
        self.revision = revision
        self.revoked = revoked
        self.voided = voided
    }

    enum CodingKeys: String, CodingKey { case revision, revoked, voided, tokens }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        revision = try container.decode(Int64.self, forKey: .revision)
        revoked = try container.decode([Revoked].self, forKey: .revoked)
        voided = try container.decodeIfPresent([Voided].self, forKey: .voided) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(revision, forKey: .revision)
        try container.encode(revoked, forKey: .revoked)
        try container.encode(voided, forKey: .voided)
        try container.encode(tokens, forKey: .tokens)
    }
}

/// A service's copy of the revoked tokens: at most a second old, brought up to date with what was revoked since its
/// revision (not the whole list each time), expired ones dropped. One request at a time, however many callers wait.
public actor RevocationMirror {
    let requests: ServiceRequests
    private var revision: Int64 = 0
    private var revoked: [String: Date] = [:]
    /// User id → (sessions before this instant are void, until).
    private var voided: [String: (before: Date, expiresAt: Date)] = [:]
    private var checkedAt: ContinuousClock.Instant?
    private var syncing: Task<Void, any Error>?

    init(requests: ServiceRequests) {
        self.requests = requests
    }

    func refuses(_ tokenID: String, user userID: String, issuedAt: Date) async throws -> Bool {
        if checkedAt.map({ ContinuousClock.now - $0 >= .seconds(1) }) ?? true {
            let sync = syncing ?? Task { try await self.sync() }
            syncing = sync
            defer { syncing = nil }
            try await sync.value
        }
        return revoked[tokenID] != nil || voided[userID].map { issuedAt < $0.before } ?? false
    }

    private func sync() async throws {
        let started = ContinuousClock.now
        let path = APIPaths.revocations + "?after=\(revision)"
        guard let feed = try await requests.get(path, as: RevocationFeed.self, token: nil) else {
            throw APIError.unavailable("the identity service did not answer \(path)")
        }
        guard feed.revision >= revision else {
            // The identity service's list started again (a new database): so does the copy.
            (revision, revoked, voided) = (0, [:], [:])
            return try await sync()
        }
        for token in feed.revoked { revoked[token.id] = token.expiresAt }
        for entry in feed.voided { voided[entry.user] = (entry.before, entry.expiresAt) }
        revision = feed.revision
        let now = Date()
        revoked = revoked.filter { $0.value > now }
        voided = voided.filter { $0.value.expiresAt > now }
        checkedAt = started
    }
}

/// What the orchestrator needs of a project to send its alerts: the project's default rule and its webhooks, opened.
public struct ProjectAlerting: Codable, Sendable, Equatable {
    public struct Target: Codable, Sendable, Equatable {
        public var url: String
        public var format: WebhookFormat
        /// The signing key, when the webhook signs.
        public var secret: String?

        public init(url: String, format: WebhookFormat, secret: String?) {
            self.url = url
            self.format = format
            self.secret = secret
        }
    }

    public var alerts: AlertRule?
    public var webhooks: [String: Target]

    public init(alerts: AlertRule?, webhooks: [String: Target]) {
        self.alerts = alerts
        self.webhooks = webhooks
    }
}

/// A user token whose revocation is to be checked: its id, its user, and when it was issued.
public struct TokenSession: Sendable {
    /// The token's id (`jti`).
    public let tokenID: String
    /// The token's user (`sub`), whose sessions may have been voided since `issuedAt`.
    public let userID: String
    public let issuedAt: Date

    public init(tokenID: String, userID: String, issuedAt: Date) {
        self.tokenID = tokenID
        self.userID = userID
        self.issuedAt = issuedAt
    }
}
