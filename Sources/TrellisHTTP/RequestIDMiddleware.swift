import Foundation
import HTTPTypes
import Hummingbird

/// Gives every request an id: the `X-Request-ID` the gateway sent, or a new one. It goes into the context, the
/// logger metadata (`request_id`) and the response header, so a client's error body leads to the server log.
public struct RequestIDMiddleware: RouterMiddleware {
    public typealias Context = TrellisRequestContext
    public static let header = HTTPField.Name("X-Request-ID")!

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let incoming = request.headers[Self.header].flatMap { Self.isAcceptable($0) ? $0 : nil }
        context.requestID = incoming ?? UUID().uuidString.lowercased()
        context.logger[metadataKey: "request_id"] = .string(context.requestID)
        var response = try await next(request, context)
        response.headers[Self.header] = context.requestID
        return response
    }

    /// Ids from outside are echoed into logs, headers and error bodies: kept only when short and plain (letters,
    /// digits, `-`, `_`, `.`, `:`, at most 128), else replaced by a fresh one.
    static func isAcceptable(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count)
            && id.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5a).contains(byte) || (0x61...0x7a).contains(byte) || "-_.:".utf8.contains(byte)
            }
    }
}
