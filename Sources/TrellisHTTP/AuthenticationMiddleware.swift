import Hummingbird
import ServiceContracts

/// Requires a valid `Authorization: Bearer …` token and puts the caller in the context; 401 otherwise.
public struct AuthenticationMiddleware: RouterMiddleware {
    public typealias Context = TrellisRequestContext
    let verifier: TokenVerifier

    public init(verifier: TokenVerifier) {
        self.verifier = verifier
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.user = try await authenticate(request)
        context.bearerToken = Self.token(in: request)
        context.logger[metadataKey: "user"] = context.user.map { .string($0.username) }
        return try await next(request, context)
    }

    public func authenticate(_ request: Request) async throws(APIError) -> AuthenticatedUser {
        guard request.headers[.authorization] != nil else {
            throw APIError.unauthorized("a bearer token is required: send Authorization: Bearer <token> from POST \(APIPaths.login)")
        }
        guard let token = Self.token(in: request) else {
            throw APIError.unauthorized("the Authorization header must be \"Bearer <token>\"")
        }
        return try await verifier.verify(token)
    }

    static func token(in request: Request) -> String? {
        guard let authorization = request.headers[.authorization] else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else { return nil }
        return String(parts[1])
    }
}
