import Foundation
import Hummingbird
import TrellisCore

/// An error a client sees: `{"error": {"code", "message", "requestId", "fields"?}}` with `status`. The message names
/// the field, task or edge at fault; it never carries SQL, LDAP or stack text. A bad document also lists each
/// problem in `fields` (`[{field, message}]`), so an editor can show it beside its field.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct FieldProblem: Codable, Sendable, Equatable {
        public let field: String
        public let message: String
    }

    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public let fields: [FieldProblem]

    public init(_ status: HTTPResponse.Status, code: String, _ message: String, fields: [FieldProblem] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    public static func invalidField(_ field: String, _ message: String) -> APIError {
        invalid([ValidationError(field: field, message)])
    }

    /// A document with these problems: each one in the message and in `fields`.
    public static func invalid(_ problems: [ValidationError]) -> APIError {
        APIError(
            .badRequest, code: "invalid_argument", problems.map(\.description).joined(separator: "; "),
            fields: problems.map { FieldProblem(field: $0.field, message: $0.message) })
    }
    public static func badRequest(_ message: String) -> APIError {
        APIError(.badRequest, code: "bad_request", message)
    }
    public static func unauthorized(_ message: String) -> APIError {
        APIError(.unauthorized, code: "unauthenticated", message)
    }
    public static func forbidden(_ message: String) -> APIError {
        APIError(.forbidden, code: "permission_denied", message)
    }
    public static func notFound(_ message: String) -> APIError {
        APIError(.notFound, code: "not_found", message)
    }
    public static func conflict(_ message: String) -> APIError {
        APIError(.conflict, code: "already_exists", message)
    }
    public static func failedPrecondition(_ message: String) -> APIError {
        APIError(.conflict, code: "failed_precondition", message)
    }
    public static func payloadTooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, code: "payload_too_large", "request body is larger than the limit of \(limit) bytes")
    }
    public static func payloadTooLarge(_ message: String) -> APIError {
        APIError(.contentTooLarge, code: "payload_too_large", message)
    }
    public static func unsupportedMediaType(_ contentType: String) -> APIError {
        APIError(
            .unsupportedMediaType, code: "unsupported_media_type",
            "Content-Type \"\(contentType)\" is not supported; send application/json or application/yaml"
        )
    }
    public static func tooManyRequests(_ message: String) -> APIError {
        APIError(.tooManyRequests, code: "too_many_requests", message)
    }

    public static func unavailable(_ message: String) -> APIError {
        APIError(.serviceUnavailable, code: "unavailable", message)
    }
    public static let `internal` = APIError(
        .internalServerError, code: "internal", "internal error; the server log has the details under this request id"
    )

    /// The wire form.
    struct Body: Codable, Sendable {
        struct Detail: Codable, Sendable {
            let code: String
            let message: String
            let requestId: String
            let fields: [FieldProblem]?
        }
        let error: Detail
    }

    /// The error as a client receives it, with the request's id.
    public func response(requestID: String) -> Response {
        let body = Body(error: .init(code: code, message: message, requestId: requestID, fields: fields.isEmpty ? nil : fields))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data = (try? encoder.encode(body)) ?? Data()
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}

/// A module error that knows how clients should see it; ``ErrorMiddleware`` maps it once, at the edge.
public protocol APIErrorConvertible: Error {
    var apiError: APIError { get }
}
