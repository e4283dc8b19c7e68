import Foundation
import Hummingbird
import Logging
import TrellisCore

/// Who made a request, from a verified token.
public struct AuthenticatedUser: Sendable, Equatable, Codable {
    public let id: String
    public let username: String
    public let isAdmin: Bool
    /// Set when the caller used a personal API token: what it may reach.
    public let scope: TokenScope?

    public init(id: String, username: String, isAdmin: Bool, scope: TokenScope? = nil) {
        self.id = id
        self.username = username
        self.isAdmin = isAdmin
        self.scope = scope
    }

    /// `role` as this caller may use it in `project`: unchanged for a login; with an API token nil outside its
    /// projects and at most its ceiling.
    public func limited(_ role: ProjectRole?, in project: String) -> ProjectRole? {
        guard let scope else { return role }
        guard scope.projects.map({ $0.contains(project) }) ?? true, let role else { return nil }
        return min(role, scope.ceiling)
    }
}

/// What a personal API token may do: act in `projects` (nil: every project of its user) with at most `ceiling`.
/// API tokens never act as a platform admin.
public struct TokenScope: Sendable, Equatable, Codable {
    public let projects: [String]?
    public let ceiling: ProjectRole

    public init(projects: [String]?, ceiling: ProjectRole) {
        self.projects = projects
        self.ceiling = ceiling
    }
}

/// Per-request state only: the request id and the caller. Dependencies live in controllers and middleware.
public struct TrellisRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// From `X-Request-ID` (set by the gateway) or made here; in every log line and error body.
    public var requestID: String
    /// Set by ``AuthenticationMiddleware`` on authenticated routes.
    public var user: AuthenticatedUser?
    /// The caller's bearer token, to ask other services on their behalf.
    public var bearerToken: String?
    /// The peer's IP address (in split mode, the gateway's).
    public let remoteAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.requestID = ""
        self.user = nil
        self.bearerToken = nil
        self.remoteAddress = source.channel.remoteAddress?.ipAddress
    }

    public var requestDecoder: DocumentDecoder { DocumentDecoder() }

    public var responseEncoder: JSONEncoder { APICoding.encoder() }

    /// The body limit for decoded documents (pipelines, templates): generous for a DAG of hundreds of tasks.
    public var maxUploadSize: Int { 1 << 20 }

    /// The caller, or 401 when the route was reached without authentication.
    public func requireUser() throws(APIError) -> AuthenticatedUser {
        guard let user else { throw APIError.unauthorized("a bearer token is required") }
        return user
    }

    /// The caller when they are a platform admin, else 403 saying that `doing` (managing users…) needs one.
    public func requireAdmin(for doing: String) throws(APIError) -> AuthenticatedUser {
        let user = try requireUser()
        guard user.isAdmin else { throw APIError.forbidden("\(doing) needs a platform admin") }
        return user
    }
}
