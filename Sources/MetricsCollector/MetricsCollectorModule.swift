import Hummingbird
import ServiceContracts
import ServiceLifecycle
import TrellisHTTP
import TrellisStore

/// The metrics collector: resource samples per task attempt and their queries. It follows the orchestrator's attempts
/// and keeps their samples in its own tables (``UsageIngestion``), answers the usage routes (``UsageController``), and
/// purges a deleted project's samples after the orchestrator has.
public struct MetricsCollectorModule: ServiceModule {
    public static let name = ServiceName.metrics

    public static func migrations() throws -> MigrationSet? {
        try MigrationSet(service: name.rawValue, files: EmbeddedMigrations.files)
    }

    let controller: UsageController
    let ingestion: UsageIngestion
    let purger: ProjectPurger

    public init(environment: ServiceEnvironment) async throws {
        let repository = UsageRepository(database: environment.database)
        controller = UsageController(
            repository: repository, access: ProjectAccess(identity: try environment.requireIdentity(for: Self.name)))
        ingestion = UsageIngestion(
            repository: repository, attempts: try environment.requireAttempts(for: Self.name),
            executor: try environment.requireExecutor(for: Self.name), ready: environment.ready, logger: environment.logger,
            retention: UsageRetention(
                repository: repository, rawAge: environment.configuration.metricsRawAge,
                retention: environment.configuration.metricsRetention))
        let passes = ingestion.passes
        // After the orchestrator's purge the feed has none of the project's attempts, but a pass that read them before
        // may still be writing: deleted again once a pass that started after the first deletion has ended.
        purger = try ProjectPurger(Self.name, environment: environment) { deletion in
            try await repository.deleteAll(ofProject: deletion.project)
            guard await passes.waitForNext() else { throw PurgeNotDone("waiting for the collector's pass in progress") }
            try await repository.deleteAll(ofProject: deletion.project)
        }
    }

    public func addRoutes(public: RouterGroup<TrellisRequestContext>, authenticated: RouterGroup<TrellisRequestContext>) {
        controller.addRoutes(to: authenticated)
    }

    public var services: [any Service] { [ingestion, purger] }
}
