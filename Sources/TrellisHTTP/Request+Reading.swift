import Hummingbird

extension Request {
    /// The body decoded as `type`, or nil when the request has none (an optional JSON or YAML body).
    public func decodeIfPresent<T: Decodable>(as type: T.Type, context: TrellisRequestContext) async throws -> T? {
        guard let length = headers[.contentLength].flatMap(Int.init), length > 0 else { return nil }
        return try await decode(as: type, context: context)
    }
}
