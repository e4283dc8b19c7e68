import Hummingbird
import TrellisHTTP

/// The pipeline store: pipelines, their versions and editor layout, validated against templates.
///
/// Its API and tables arrive with their own issue; it already runs as a service, alone or inside `trellis serve`,
/// with `/healthz`, `/metrics` and token checks.
public struct PipelineStoreModule: ServiceModule {
    public static let name = ServiceName.pipelines

    public init(environment: ServiceEnvironment) async throws {}

    public func addRoutes(public: RouterGroup<TrellisRequestContext>, authenticated: RouterGroup<TrellisRequestContext>) {}
}
