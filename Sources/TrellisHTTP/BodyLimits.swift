import Hummingbird

/// How large a request body each route reads, so a cheap route cannot be made to buffer a megabyte (docs/api.md):
/// documents — pipelines, templates, layouts — 1 MiB; logins and tokens 16 KiB; cluster registrations (kubeconfig
/// and certificates) 256 KiB; the services' internal routes (a compiled Workflow of a thousand tasks) 16 MiB;
/// everything else 64 KiB.
public enum BodyLimits {
    public static let documents = 1 << 20
    public static let authentication = 16 << 10
    public static let clusters = 256 << 10
    public static let internalRoutes = 16 << 20
    public static let other = 64 << 10

    /// The limit of the route `path` belongs to.
    public static func limit(forPath path: String) -> Int {
        let segments = path.split(separator: "/")
        guard segments.count >= 3, segments[0] == "api", segments[1] == "v1" else { return other }
        switch segments[2] {
        case "auth", "tokens": return authentication
        case "internal": return internalRoutes
        case "clusters": return clusters
        case "templates": return documents
        case "projects" where segments.count >= 5 && ["pipelines", "templates"].contains(segments[4]):
            return documents
        default: return other
        }
    }
}

/// Sets the request's body limit from its path (``BodyLimits``).
public struct BodyLimitMiddleware: RouterMiddleware {
    public typealias Context = TrellisRequestContext

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.bodyLimit = BodyLimits.limit(forPath: request.uri.path)
        return try await next(request, context)
    }
}
