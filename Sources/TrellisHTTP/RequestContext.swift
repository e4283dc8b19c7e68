import Foundation
import Hummingbird
import Logging

/// Who made a request, from a verified token.
public struct AuthenticatedUser: Sendable, Equatable, Codable {
    public let id: String
    public let username: String
    public let isAdmin: Bool

    public init(id: String, username: String, isAdmin: Bool) {
        self.id = id
        self.username = username
        self.isAdmin = isAdmin
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
}
