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
        var request = HTTPClientRequest(url: options.serverURL + path)
        request.method = method
        if authenticated { request.headers.add(name: "Authorization", value: "Bearer \(try options.bearerToken())") }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let result: Result<(Int, Data), any Error>
        do {
            let response = try await client.execute(request, timeout: .seconds(60))
            result = .success((Int(response.status.code), Data(buffer: try await response.body.collect(upTo: 64 << 20))))
        } catch {
            result = .failure(Failure(description: "cannot reach \(options.serverURL): \(error)"))
        }
        try await client.shutdown()
        let (status, data) = try result.get()
        if status >= 400 {
            struct ErrorBody: Decodable {
                struct Detail: Decodable { let code: String, message: String }
                let error: Detail
            }
            let detail = (try? JSONDecoder().decode(ErrorBody.self, from: data)).map { "\($0.error.message) (\($0.error.code))" }
            throw Failure(description: "\(method.rawValue) \(path): \(status) \(detail ?? String(decoding: data, as: UTF8.self))")
        }
        return (status, data)
    }
}
