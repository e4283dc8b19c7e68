import AsyncHTTPClient
import Foundation
import NIOCore

/// GET requests from one service to another's public API, as the caller: 200 is decoded, 404 is nil, and an
/// unreachable service or any other answer is a 503 naming the service. Shared by the HTTP service clients.
struct ServiceRequests: Sendable {
    let service: ServiceName
    let baseURL: String
    let httpClient: HTTPClient

    init(service: ServiceName, baseURL: String, httpClient: HTTPClient) {
        self.service = service
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.httpClient = httpClient
    }

    func get<T: Decodable>(_ path: String, as type: T.Type, token: String?, limit: Int = 8 << 20) async throws -> T? {
        var request = HTTPClientRequest(url: baseURL + path)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await httpClient.execute(request, timeout: .seconds(10))
            body = try await response.body.collect(upTo: limit)
        } catch {
            throw APIError.unavailable("the \(service.rawValue) service is unreachable at \(baseURL)")
        }
        switch response.status {
        case .ok: return try JSONDecoder().decode(type, from: Data(buffer: body))
        case .notFound: return nil
        default: throw APIError.unavailable("the \(service.rawValue) service answered \(response.status.code) for \(path)")
        }
    }

    /// One path segment, escaped (a `/` in a name stays inside the segment).
    static func escaped(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? segment
    }
}
