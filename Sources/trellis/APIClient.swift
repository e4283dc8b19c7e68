import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Where the CLI talks to Trellis and as whom: `--server` / `TRELLIS_SERVER`, and a token from `--token`,
/// `TRELLIS_TOKEN` or the file `trellis login` wrote (`$TRELLIS_HOME/token`, default `~/.config/trellis/token`).
struct ServerOptions: ParsableArguments {
    @Option(help: "The Trellis server (TRELLIS_SERVER; default http://127.0.0.1:8080).")
    var server: String?

    @Option(help: "An access token (TRELLIS_TOKEN; default: the one `trellis login` saved).")
    var token: String?

    var serverURL: String {
        let url = server ?? ProcessInfo.processInfo.environment["TRELLIS_SERVER"] ?? "http://127.0.0.1:8080"
        return url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    static var tokenFile: URL {
        let environment = ProcessInfo.processInfo.environment
        let home =
            environment["TRELLIS_HOME"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: environment["HOME"] ?? ".").appendingPathComponent(".config/trellis")
        return home.appendingPathComponent("token")
    }

    func bearerToken() throws -> String {
        if let token = token ?? ProcessInfo.processInfo.environment["TRELLIS_TOKEN"] { return token }
        guard let saved = try? String(contentsOf: Self.tokenFile, encoding: .utf8) else {
            throw ValidationError("not logged in: run `trellis login --username NAME` or set TRELLIS_TOKEN")
        }
        return saved.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// One request to the API; a Trellis error body becomes a one-line error naming the problem.
struct APIClient {
    let options: ServerOptions

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    func send(
        _ method: HTTPMethod, _ path: String, body: Data? = nil, contentType: String = "application/json", authenticated: Bool = true
    ) async throws -> (Int, Data) {
        var collected = Data()
        let status = try await exchange(method, path, body: body, contentType: contentType, authenticated: authenticated) { response in
            collected = Data(buffer: try await response.body.collect(upTo: 64 << 20))
        }
        try Self.check(status, collected, method: method, path: path)
        return (status, collected)
    }

    /// Hands each chunk of a successful answer to `chunk` as it arrives (logs, followed logs).
    func stream(_ method: HTTPMethod, _ path: String, chunk: @escaping (ByteBuffer) -> Void) async throws {
        var failure = Data()
        let status = try await exchange(method, path, body: nil, contentType: "application/json", authenticated: true) { response in
            if response.status.code >= 400 {
                failure = Data(buffer: try await response.body.collect(upTo: 1 << 20))
                return
            }
            for try await buffer in response.body { chunk(buffer) }
        }
        try Self.check(status, failure, method: method, path: path)
    }

    private func exchange(
        _ method: HTTPMethod, _ path: String, body: Data?, contentType: String, authenticated: Bool,
        read: (HTTPClientResponse) async throws -> Void
    ) async throws -> Int {
        var request = HTTPClientRequest(url: options.serverURL + path)
        request.method = method
        if authenticated { request.headers.add(name: "Authorization", value: "Bearer \(try options.bearerToken())") }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let result: Result<Int, any Error>
        do {
            let response = try await client.execute(request, timeout: .hours(24))
            try await read(response)
            result = .success(Int(response.status.code))
        } catch {
            result = .failure(Failure(description: "cannot reach \(options.serverURL): \(error)"))
        }
        try await client.shutdown()
        return try result.get()
    }

    static func check(_ status: Int, _ data: Data, method: HTTPMethod, path: String) throws {
        if status >= 400 {
            struct ErrorBody: Decodable {
                struct Detail: Decodable { let code: String, message: String }
                let error: Detail
            }
            let detail = (try? JSONDecoder().decode(ErrorBody.self, from: data)).map { "\($0.error.message) (\($0.error.code))" }
            throw Failure(description: "\(method.rawValue) \(path): \(status) \(detail ?? String(decoding: data, as: UTF8.self))")
        }
    }
}
