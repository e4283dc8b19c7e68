import Foundation
import Hummingbird
import TrellisHTTP

/// Serves the portal (`Web/`, compiled into the binary) for `GET`/`HEAD` outside `/api/`. `/` is `index.html`.
struct WebMiddleware: RouterMiddleware {
    typealias Context = TrellisRequestContext
    let files: [String: Data]

    static let mediaTypes = [
        "html": "text/html; charset=utf-8", "css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8",
        "mjs": "text/javascript; charset=utf-8", "json": "application/json", "svg": "image/svg+xml", "png": "image/png",
        "ico": "image/x-icon", "woff2": "font/woff2",
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get || request.method == .head, !request.uri.path.hasPrefix("/api/") else {
            return try await next(request, context)
        }
        let path = request.uri.path == "/" ? "index.html" : String(request.uri.path.dropFirst())
        guard let data = files[path] else { return try await next(request, context) }
        let fileExtension = path.split(separator: ".").last.map(String.init) ?? ""
        return Response(
            status: .ok,
            headers: [
                .contentType: Self.mediaTypes[fileExtension] ?? "application/octet-stream",
                .cacheControl: "no-cache",
            ],
            body: request.method == .head ? .init() : .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}
