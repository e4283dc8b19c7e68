import Hummingbird
import Logging
import NIOCore
import ServiceContracts
import TrellisCore
import TrellisStore

/// Turns every error into the JSON error body, once, at the edge. Unexpected errors are logged with the request
/// id and shown to the client only as "internal".
public struct ErrorMiddleware: RouterMiddleware {
    public typealias Context = TrellisRequestContext

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = Self.apiError(for: error, request: request, context: context)
            return apiError.response(requestID: context.requestID)
        }
    }

    static func apiError(for error: any Error, request: Request, context: Context) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as any APIErrorConvertible:
            return error.apiError
        case let error as ValidationError:
            return .invalid([error])
        case let error as ValidationErrors:
            return .invalid(error.errors)
        case is NIOTooManyBytesError:
            return .payloadTooLarge(limit: context.maxUploadSize)
        case let error as HTTPError:
            switch error.status {
            case .notFound:
                return .notFound("no route for \(request.method) \(request.uri.path)")
            case .methodNotAllowed:
                return APIError(.methodNotAllowed, code: "method_not_allowed", "\(request.method) is not allowed on \(request.uri.path)")
            case .contentTooLarge:
                return .payloadTooLarge(limit: context.maxUploadSize)
            default:
                return APIError(error.status, code: Self.code(for: error.status), error.body ?? error.status.reasonPhrase)
            }
        case _ where StoreError.isStorageFull(error):
            context.logger.error("the database's disk is full", metadata: ["error": .string(String(reflecting: error))])
            return APIError(
                .init(code: 507, reasonPhrase: "Insufficient Storage"), code: "storage_full",
                "the database's disk is full: nothing of this request was saved (what is stored stays readable); free space and try again")
        default:
            context.logger.error("unhandled error", metadata: ["error": .string(String(reflecting: error))])
            return .internal
        }
    }

    static func code(for status: HTTPResponse.Status) -> String {
        status.reasonPhrase.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }.reduce(into: "") { $0.append($1) }
    }
}
