import AsyncHTTPClient
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore

/// One HTTP exchange with Trellis, whatever carries it: an in-process router or a real server.
public struct APIResponse: Sendable {
    public let status: Int
    public let headers: [String: String]
    public let body: Data

    /// The body as a JSON object (empty when it is not one).
    public var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
    }

    /// The body as a JSON array of objects (nil when it is not one).
    public var array: [[String: Any]]? {
        (try? JSONSerialization.jsonObject(with: body)) as? [[String: Any]]
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// `error.code` and `error.message` of an error body.
    public var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    public var errorMessage: String? { (json["error"] as? [String: Any])?["message"] as? String }
    public var errorRequestID: String? { (json["error"] as? [String: Any])?["requestId"] as? String }
}

public protocol APITransport: Sendable {
    func send(_ method: String, _ path: String, headers: [String: String], body: Data?) async throws -> APIResponse
}

extension APITransport {
    /// Sends `body` as JSON with an optional bearer token.
    public func call(_ method: String, _ path: String, token: String? = nil, json body: [String: Any]? = nil) async throws -> APIResponse {
        var headers: [String: String] = [:]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        var data: Data?
        if let body {
            headers["Content-Type"] = "application/json"
            data = try JSONSerialization.data(withJSONObject: body)
        }
        return try await Trail.step("\(method) \(path)") { try await send(method, path, headers: headers, body: data) }
    }

    /// Logs in and returns the token, failing loudly when login does not work.
    public func login(_ username: String, _ password: String) async throws -> String {
        let response = try await call("POST", "/api/v1/auth/login", json: ["username": username, "password": password])
        guard response.status == 200, let token = response.json["token"] as? String else {
            throw TransportError("login as \(username) answered \(response.status): \(response.text)")
        }
        return token
    }
}

public struct TransportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Requests to an application under HummingbirdTesting.
public struct TestClientTransport: APITransport {
    let client: any TestClientProtocol

    public init(_ client: any TestClientProtocol) {
        self.client = client
    }

    public func send(_ method: String, _ path: String, headers: [String: String], body: Data?) async throws -> APIResponse {
        var fields = HTTPFields()
        for (name, value) in headers { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        let response = try await client.execute(
            uri: path, method: HTTPRequest.Method(method)!, headers: fields, body: body.map { ByteBuffer(bytes: $0) }
        )
        var responseHeaders: [String: String] = [:]
        for field in response.headers { responseHeaders[field.name.canonicalName] = field.value }
        return APIResponse(status: response.status.code, headers: responseHeaders, body: Data(buffer: response.body))
    }
}

/// Requests to a real server over TCP.
public struct HTTPTransport: APITransport {
    public let baseURL: String
    let client: HTTPClient

    public init(baseURL: String, client: HTTPClient) {
        self.baseURL = baseURL
        self.client = client
    }

    public func send(_ method: String, _ path: String, headers: [String: String], body: Data?) async throws -> APIResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .init(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        // The whole exchange is bounded (a followed log stream ends with its run), not only until the answer starts.
        let (response, bytes) = try await Waiting.within(.seconds(120), "\(method) \(path) to answer in full") { [client, request] in
            let response = try await client.execute(request, timeout: .seconds(30))
            return (response, try await response.body.collect(upTo: 16 << 20))
        }
        var responseHeaders: [String: String] = [:]
        for (name, value) in response.headers { responseHeaders[name.lowercased()] = value }
        return APIResponse(status: Int(response.status.code), headers: responseHeaders, body: Data(buffer: bytes))
    }
}
