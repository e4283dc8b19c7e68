import AsyncHTTPClient
import Foundation
import JWTKit
import NIOCore
import TrellisCore

/// What other services ask of the identity service. In embedded mode the identity service answers in process;
/// in split mode ``HTTPIdentityClient`` asks it over HTTP.
public protocol IdentityClient: Sendable {
    /// The public keys that verify access tokens (a JWKS), served at `GET /api/v1/auth/jwks`.
    func publicKeys() async throws -> JWKS

    /// The caller's role in a project, nil when they are not a member (platform admins are owners everywhere).
    /// `token` is the caller's own bearer token: over HTTP the question is asked as the caller.
    func role(of user: AuthenticatedUser, inProject project: String, token: String) async throws -> ProjectRole?
}

/// ``IdentityClient`` over HTTP, for services running as their own processes.
public struct HTTPIdentityClient: IdentityClient {
    public let baseURL: String
    let httpClient: HTTPClient

    public init(baseURL: String, httpClient: HTTPClient) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.httpClient = httpClient
    }

    public func publicKeys() async throws -> JWKS {
        let request = HTTPClientRequest(url: baseURL + APIPaths.jwks)
        let response = try await httpClient.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else {
            throw APIError.unavailable("identity service answered \(response.status.code) for its public keys")
        }
        return try JSONDecoder().decode(JWKS.self, from: Data(buffer: body))
    }

    public func role(of user: AuthenticatedUser, inProject project: String, token: String) async throws -> ProjectRole? {
        var request = HTTPClientRequest(
            url: baseURL + "/api/v1/projects/" + (project.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? project))
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await httpClient.execute(request, timeout: .seconds(10))
            body = try await response.body.collect(upTo: 1 << 20)
        } catch {
            throw APIError.unavailable("the identity service is unreachable at \(baseURL)")
        }
        switch response.status {
        case .ok:
            struct Membership: Decodable { let role: ProjectRole }
            return try JSONDecoder().decode(Membership.self, from: Data(buffer: body)).role
        case .notFound:
            return nil
        default:
            throw APIError.unavailable("identity service answered \(response.status.code) for project \(project)")
        }
    }
}

/// Paths that several modules need to agree on.
public enum APIPaths {
    public static let login = "/api/v1/auth/login"
    public static let jwks = "/api/v1/auth/jwks"
    /// Reached without a token.
    public static let publicPaths: Set<String> = [login, jwks]
}
