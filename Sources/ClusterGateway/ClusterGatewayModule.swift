import Hummingbird
import TrellisHTTP

/// The cluster gateway: where tasks run (local processes, Kubernetes through Argo), their logs and status.
///
/// Its API and tables arrive with their own issue; it already runs as a service, alone or inside `trellis serve`,
/// with `/healthz`, `/metrics` and token checks.
public struct ClusterGatewayModule: ServiceModule {
    public static let name = ServiceName.clusterGateway

    public init(environment: ServiceEnvironment) async throws {}

    public func addRoutes(public: RouterGroup<TrellisRequestContext>, authenticated: RouterGroup<TrellisRequestContext>) {}
}
