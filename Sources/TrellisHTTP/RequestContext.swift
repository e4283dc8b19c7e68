import Foundation
import Hummingbird
import Logging
import ServiceContracts
import TrellisCore

/// Per-request state only: the request id and the caller. Dependencies live in controllers and middleware.
public struct TrellisRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// From `X-Request-ID` (set by the gateway) or made here; in every log line and error body.
    public var requestID: String
    /// Set by ``AuthenticationMiddleware`` on authenticated routes.
    public var user: AuthenticatedUser?
    /// The caller's bearer token, to ask other services on their behalf.
    public var bearerToken: String?
    /// The caller's token's revocation, when ``AuthenticationMiddleware`` left it to this request's first read.
    public var revocation: DeferredRevocation?
    /// The peer's IP address (in split mode, the gateway's).
    public let remoteAddress: String?
    /// The client's address: the peer's, or in split mode the one the gateway vouches for (``ClientAddressMiddleware``).
    public var clientAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.requestID = ""
        self.user = nil
        self.bearerToken = nil
        self.revocation = nil
        self.remoteAddress = source.channel.remoteAddress?.ipAddress
        self.clientAddress = remoteAddress
    }

    public var requestDecoder: DocumentDecoder { DocumentDecoder() }

    public var responseEncoder: JSONEncoder { APICoding.encoder() }

    /// The most a decoded body may be, for this request's route (``BodyLimits``, set by ``BodyLimitMiddleware``).
    public var bodyLimit = BodyLimits.other

    public var maxUploadSize: Int { bodyLimit }

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

extension TrellisRequestContext {
    /// The authenticated caller, to ask other services as them.
    public func caller() throws(APIError) -> Caller {
        Caller(user: try requireUser(), token: bearerToken ?? "")
    }
}
