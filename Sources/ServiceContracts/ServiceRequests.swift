import AsyncHTTPClient
import Foundation
import NIOCore

/// Requests from one service to another: 200 is decoded, 204 is empty, 404 is nil, and an unreachable service or
/// any other answer is a 503 naming the service — but a 401 to a request made with the caller's own token is the
/// caller's: their token was refused (revoked a moment ago, before this service's copy of the revocations knew).
/// Shared by the HTTP service clients.
public struct ServiceRequests: Sendable {
    let service: ServiceName
    let baseURL: String
    let httpClient: HTTPClient

    init(service: ServiceName, baseURL: String, httpClient: HTTPClient) {
        self.service = service
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.httpClient = httpClient
    }

    func get<T: Decodable>(_ path: String, as type: T.Type, token: String?, timeout: TimeAmount = .seconds(10)) async throws -> T? {
        guard let body = try await send("GET", path, body: Optional<Data>.none, token: token, timeout: timeout) else { return nil }
        return try APICoding.decoder().decode(type, from: body)
    }

    /// ``get(_:as:token:timeout:)`` as the caller, with their token: a 401 is theirs.
    func get<T: Decodable>(_ path: String, as type: T.Type, caller token: String) async throws -> T? {
        guard let body = try await send("GET", path, body: Optional<Data>.none, token: token, callersOwn: true) else { return nil }
        return try APICoding.decoder().decode(type, from: body)
    }

    func post<T: Decodable>(_ path: String, json: some Encodable, as type: T.Type, token: String?) async throws -> T? {
        guard let body = try await send("POST", path, body: try APICoding.encoder().encode(json), token: token) else { return nil }
        return try APICoding.decoder().decode(type, from: body)
    }

    /// Sends and returns the body of a 200 or 204 (empty), nil on 404.
    @discardableResult
    func send(
        _ method: String, _ path: String, body: Data?, token: String?, timeout: TimeAmount = .seconds(10), callersOwn: Bool = false
    ) async throws -> Data? {
        let response = try await open(method, path, body: body, token: token, timeout: timeout)
        let bytes: ByteBuffer
        do {
            bytes = try await response.body.collect(upTo: 8 << 20)
        } catch {
            throw APIError.unavailable("the \(service.rawValue) service broke off its answer to \(method) \(path)")
        }
        switch response.status {
        case .ok, .created, .noContent: return Data(buffer: bytes)
        case .notFound: return nil
        case .unauthorized where callersOwn: throw APIError.unauthorized("the \(service.rawValue) service refused the token")
        default: throw APIError.unavailable("the \(service.rawValue) service answered \(response.status.code) for \(method) \(path)")
        }
    }

    /// The response, its body not yet read (streamed logs).
    func open(_ method: String, _ path: String, body: Data?, token: String?, timeout: TimeAmount = .seconds(10)) async throws
        -> HTTPClientResponse
    {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .init(rawValue: method)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            return try await httpClient.execute(request, timeout: timeout)
        } catch {
            throw APIError.unavailable("the \(service.rawValue) service is unreachable at \(baseURL)")
        }
    }

    /// One path segment, escaped (a `/` in a name stays inside the segment).
    public static func escaped(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? segment
    }
}
