import Hummingbird
import ServiceContracts
import TrellisHTTP

/// The metrics collector: resource samples per task attempt and their queries.
///
/// Its API and tables arrive with their own issue; it already runs as a service, alone or inside `trellis serve`,
/// with `/healthz`, `/metrics` and token checks.
public struct MetricsCollectorModule: ServiceModule {
    public static let name = ServiceName.metrics

    public init(environment: ServiceEnvironment) async throws {}

    public func addRoutes(public: RouterGroup<TrellisRequestContext>, authenticated: RouterGroup<TrellisRequestContext>) {}
}
