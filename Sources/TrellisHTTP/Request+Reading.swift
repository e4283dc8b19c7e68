import Hummingbird
import TrellisCore

extension Request {
    /// The body decoded as `type`, or nil when the request has none (an optional JSON or YAML body).
    public func decodeIfPresent<T: Decodable>(as type: T.Type, context: TrellisRequestContext) async throws -> T? {
        guard let length = headers[.contentLength].flatMap(Int.init), length > 0 else { return nil }
        return try await decode(as: type, context: context)
    }
}

extension Request {
    /// The page a list request asks for (`?limit=&cursor=`); a bad limit or cursor is a 400 naming it.
    public func pageRequest() throws(ValidationError) -> PageRequest {
        let query = uri.queryParameters
        return try PageRequest(limit: query.get("limit"), cursor: query.get("cursor"))
    }
}
