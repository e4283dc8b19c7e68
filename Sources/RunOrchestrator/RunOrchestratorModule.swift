import Hummingbird
import TrellisHTTP

/// The run orchestrator: runs, task attempts, retries, timeouts, resume and the cron scheduler.
///
/// Its API and tables arrive with their own issue; it already runs as a service, alone or inside `trellis serve`,
/// with `/healthz`, `/metrics` and token checks.
public struct RunOrchestratorModule: ServiceModule {
    public static let name = ServiceName.orchestrator

    public init(environment: ServiceEnvironment) async throws {}

    public func addRoutes(public: RouterGroup<TrellisRequestContext>, authenticated: RouterGroup<TrellisRequestContext>) {}
}
