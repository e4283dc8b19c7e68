import Hummingbird
import TrellisHTTP

/// The template registry: task templates, their versions and the marketplace of published ones.
///
/// Its API and tables arrive with their own issue; it already runs as a service, alone or inside `trellis serve`,
/// with `/healthz`, `/metrics` and token checks.
public struct TemplateRegistryModule: ServiceModule {
    public static let name = ServiceName.templates

    public init(environment: ServiceEnvironment) async throws {}

    public func addRoutes(public: RouterGroup<TrellisRequestContext>, authenticated: RouterGroup<TrellisRequestContext>) {}
}
