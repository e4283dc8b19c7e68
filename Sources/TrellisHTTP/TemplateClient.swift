import AsyncHTTPClient
import Foundation
import NIOCore
import TrellisCore

/// Who asks another service, on whose behalf: the caller and their bearer token.
public struct Caller: Sendable {
    public let user: AuthenticatedUser
    public let token: String

    public init(user: AuthenticatedUser, token: String) {
        self.user = user
        self.token = token
    }
}

extension TrellisRequestContext {
    /// The authenticated caller, to ask other services as them.
    public func caller() throws(APIError) -> Caller {
        Caller(user: try requireUser(), token: bearerToken ?? "")
    }
}

/// A template version's status as the registry reports it.
public struct TemplateVersionStatus: Codable, Sendable, Equatable {
    public let version: String
    public let status: String

    public init(version: String, status: String) {
        self.version = version
        self.status = status
    }
}

/// What other services ask the template registry: in process in embedded mode, over HTTP in split mode. Both
/// answer with what the caller may see.
public protocol TemplateClient: Sendable {
    /// The versions of `name` the caller may see, newest first; empty when there are none.
    func versions(of name: String, caller: Caller) async throws -> [TemplateVersionStatus]
    /// One version's template, nil when the caller may not see it.
    func template(_ name: String, version: String, caller: Caller) async throws -> TemplateSpec?
}

/// ``TemplateClient`` over HTTP, asking as the caller.
public struct HTTPTemplateClient: TemplateClient {
    public let baseURL: String
    let httpClient: HTTPClient

    public init(baseURL: String, httpClient: HTTPClient) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.httpClient = httpClient
    }

    public func versions(of name: String, caller: Caller) async throws -> [TemplateVersionStatus] {
        struct Summary: Decodable { let versions: [TemplateVersionStatus] }
        return try await get("/api/v1/templates/\(escaped(name))", as: Summary.self, caller: caller)?.versions ?? []
    }

    public func template(_ name: String, version: String, caller: Caller) async throws -> TemplateSpec? {
        struct Version: Decodable { let spec: TemplateSpec }
        return try await get("/api/v1/templates/\(escaped(name))/versions/\(escaped(version))", as: Version.self, caller: caller)?.spec
    }

    func escaped(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? segment
    }

    func get<T: Decodable>(_ path: String, as type: T.Type, caller: Caller) async throws -> T? {
        var request = HTTPClientRequest(url: baseURL + path)
        request.headers.add(name: "Authorization", value: "Bearer \(caller.token)")
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await httpClient.execute(request, timeout: .seconds(10))
            body = try await response.body.collect(upTo: 8 << 20)
        } catch {
            throw APIError.unavailable("the templates service is unreachable at \(baseURL)")
        }
        switch response.status {
        case .ok: return try JSONDecoder().decode(type, from: Data(buffer: body))
        case .notFound: return nil
        default: throw APIError.unavailable("the templates service answered \(response.status.code) for \(path)")
        }
    }
}
