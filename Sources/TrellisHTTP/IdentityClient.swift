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
}

/// ``IdentityClient`` over HTTP, for services running as their own processes (acting as a user with the service
/// token, on the identity service's internal route).
public struct HTTPIdentityClient: IdentityClient {
    let requests: ServiceRequests
    let serviceToken: ServiceToken?

    public init(baseURL: String, httpClient: HTTPClient, serviceToken: ServiceToken?) {
        requests = ServiceRequests(service: .identity, baseURL: baseURL, httpClient: httpClient)
        self.serviceToken = serviceToken
    }

    public func actAs(_ username: String) async throws -> Caller? {
        guard let serviceToken else { throw APIError.unavailable("acting as a user needs the service token") }
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
        return try await requests.get(
            "/api/v1/projects/" + ServiceRequests.escaped(project), as: Membership.self, token: token)?.role
    }
}

/// Paths that several modules need to agree on.
public enum APIPaths {
    public static let login = "/api/v1/auth/login"
    public static let jwks = "/api/v1/auth/jwks"
    /// Internal (service token): a token for a user, for work done on their behalf.
    public static let actAs = "/api/v1/internal/identity/act-as"
    /// Reached without a token.
    public static let publicPaths: Set<String> = [login, jwks]
}
