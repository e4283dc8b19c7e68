import Hummingbird
import ServiceContracts

/// Requires a valid `Authorization: Bearer …` token and puts the caller in the context; 401 otherwise.
///
/// A read of the identity service's (`GET`, `HEAD`) leaves a user token's revocation to its handler's first read
/// (``TrellisRequestContext/revocation``), which checks it in the same statement; whatever no read settled is checked
/// here before the answer, or the handler's error, leaves. Every other request is checked before its handler runs.
public struct AuthenticationMiddleware: RouterMiddleware {
    public typealias Context = TrellisRequestContext
    let verifier: TokenVerifier

    public init(verifier: TokenVerifier) {
        self.verifier = verifier
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let token = try Self.requireToken(in: request)
        guard Self.defersRevocation(of: request) else {
            context.user = try await verifier.verify(token)
            return try await next(request, authenticated(context, token: token))
        }
        let (user, revocation) = try await verifier.verifyDeferringRevocation(token)
        context.user = user
        context.revocation = revocation
        let response: Response
        do {
            response = try await next(request, authenticated(context, token: token))
        } catch {
            // A revoked token learns nothing from the error (whether a project exists, say).
            if let revocation { try await verifier.check(revocation) }
            throw error
        }
        if let revocation { try await verifier.check(revocation) }
        return response
    }

    private func authenticated(_ context: Context, token: String) -> Context {
        var context = context
        context.bearerToken = token
        context.logger[metadataKey: "user"] = context.user.map { .string($0.username) }
        return context
    }

    /// Reads of the identity service, whose handlers read through statements that also check a token's revocation.
    static func defersRevocation(of request: Request) -> Bool {
        (request.method == .get || request.method == .head) && ServiceName.owner(ofPath: request.uri.path) == .identity
    }

    public func authenticate(_ request: Request) async throws(APIError) -> AuthenticatedUser {
        try await verifier.verify(try Self.requireToken(in: request))
    }

    static func requireToken(in request: Request) throws(APIError) -> String {
        guard request.headers[.authorization] != nil else {
            throw APIError.unauthorized("a bearer token is required: send Authorization: Bearer <token> from POST \(APIPaths.login)")
        }
        guard let token = Self.token(in: request) else {
            throw APIError.unauthorized("the Authorization header must be \"Bearer <token>\"")
        }
        return token
    }

    static func token(in request: Request) -> String? {
        guard let authorization = request.headers[.authorization] else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else { return nil }
        return String(parts[1])
    }
}
