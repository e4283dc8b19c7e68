import Foundation
import Hummingbird
import Logging
import ServiceContracts
import ServiceLifecycle
import TrellisCore
import TrellisHTTP
import TrellisStore

/// The run orchestrator: runs, task attempts, retries, timeouts, cancel, resume and single-task runs, executed
/// through the cluster gateway; and the cron scheduler that starts pipelines' scheduled runs.
public struct RunOrchestratorModule: ServiceModule {
    public static let name = ServiceName.orchestrator

    public static func migrations() throws -> MigrationSet? {
        try MigrationSet(service: name.rawValue, files: EmbeddedMigrations.files)
    }

    let controller: RunController
    let scheduleController: ScheduleController
    let engineService: EngineService
    let schedulerService: SchedulerService
    let purger: ProjectPurger
    let feed: InProcessAttemptFeed
    let serviceToken: ServiceToken
    let gauges: PlatformGaugeService
    let alertController: AlertController
    let alertDispatcher: AlertDispatcher
    let retention: RetentionService

    public init(environment: ServiceEnvironment) async throws {
        try await self.init(environment: environment, now: Date.init)
    }

    init(environment: ServiceEnvironment, now: @escaping @Sendable () -> Date) async throws {
        let repository = RunRepository(database: environment.database)
        let metrics = RunMetrics(registry: environment.metrics)
        gauges = PlatformGaugeService(repository: repository, metrics: metrics, ready: environment.ready, logger: environment.logger)
        feed = InProcessAttemptFeed(repository: repository)
        serviceToken = try ServiceToken(configuration: environment.configuration)
        let schedules = ScheduleRepository(database: environment.database)
        let executor = try environment.requireExecutor(for: Self.name)
        let identity = try environment.requireIdentity(for: Self.name)
        let pipelines = try environment.requirePipelines(for: Self.name)
        let templates = try environment.requireTemplates(for: Self.name)
        let engine = RunEngine(
            repository: repository, executor: executor, templates: templates, logger: environment.logger,
            stopGrace: environment.configuration.taskStopGrace,
            now: now, metrics: metrics, quotas: ProjectQuotas(identity: identity),
            secrets: { project in try await identity.secretEnvironment(ofProject: project) ?? [:] },
            scheduledRunsEnded: { try await schedules.wakeIfWaiting($0, now: now().milliseconds) }
        )
        let launcher = RunLauncher(
            engine: engine, pipelines: pipelines, templates: templates, identity: identity, now: now)
        let access = ProjectAccess(identity: identity)
        let minimumInterval = Double(environment.configuration.scheduleMinimumInterval.milliseconds) / 1000
        let scheduler = Scheduler(
            schedules: schedules, pipelines: pipelines, identity: identity, launcher: launcher, minimumInterval: minimumInterval,
            logger: environment.logger, now: now, metrics: metrics)
        controller = RunController(engine: engine, launcher: launcher, repository: repository, access: access, executor: executor)
        scheduleController = ScheduleController(
            scheduler: scheduler, schedules: schedules, runs: repository, engine: engine, access: access, minimumInterval: minimumInterval,
            now: now)
        let alerts = AlertRepository(database: environment.database)
        alertController = AlertController(repository: alerts, access: access, now: now)
        alertDispatcher = AlertDispatcher(
            repository: alerts, pipelines: pipelines, identity: identity, sender: WebhookSender(client: WebhookSender.makeClient()),
            attempts: environment.configuration.alertAttempts, backoff: environment.configuration.alertBackoff, ready: environment.ready,
            logger: environment.logger, now: now)
        engineService = EngineService(engine: engine, executor: executor, ready: environment.ready, logger: environment.logger)
        schedulerService = SchedulerService(scheduler: scheduler, ready: environment.ready, logger: environment.logger)
        retention = RetentionService(
            job: RunRetentionJob(
                repository: repository, settings: { try await identity.settings(ofProject: $0) }, executor: executor,
                logger: environment.logger, now: now),
            ready: environment.ready, interval: environment.configuration.runsRetentionInterval)
        purger = try ProjectPurger(Self.name, environment: environment) { deletion in
            try await Self.purge(deletion.project, runs: repository, schedules: schedules, engine: engine, executor: executor)
            try await alerts.deleteAll(ofProject: deletion.project)
        }
    }

    /// A deleted project's schedules, records and runs: its runs are cancelled first and the purge waits until
    /// they have ended; then every attempt's execution (logs, samples, working directory) goes, and the rows.
    static func purge(
        _ project: String, runs: RunRepository, schedules: ScheduleRepository, engine: RunEngine, executor: any ExecutorClient
    ) async throws {
        try await schedules.deleteAll(ofProject: project)
        let unfinished = try await runs.unfinishedRuns(inProject: project)
        guard unfinished.isEmpty else {
            for run in unfinished { _ = try await engine.cancel(run) }
            throw PurgeNotDone("\(unfinished.count) runs of \(project) are stopping")
        }
        for execution in try await runs.executions(ofProject: project) { try await executor.discard(execution) }
        try await runs.deleteAll(ofProject: project)
        // A tick decided while the runs stopped left a record: gone too.
        try await schedules.deleteAll(ofProject: project)
    }

    public func addRoutes(public: RouterGroup<TrellisRequestContext>, authenticated: RouterGroup<TrellisRequestContext>) {
        controller.addRoutes(to: authenticated)
        scheduleController.addRoutes(to: authenticated)
        alertController.addRoutes(to: authenticated)
        let feeds = `public`.group("internal/runs").add(middleware: ServiceTokenMiddleware(token: serviceToken))
        let feedController = AttemptFeedController(feed: feed)
        feeds.get("attempts", use: feedController.changes)
        feeds.get("deletions", use: feedController.deletions)
    }

    public var services: [any Service] { [engineService, schedulerService, purger, gauges, alertDispatcher, retention] }

    public var attemptFeedClient: (any AttemptFeedClient)? { feed }
}

/// Drives the engine: once the tables are ready it reconciles unfinished runs, then follows executions as they end
/// and Workflows as they change (long-polling the executor) and checks every unfinished run again every few seconds, in case a notice was lost.
struct EngineService: Service {
    let engine: RunEngine
    let executor: any ExecutorClient
    let ready: Gate
    let logger: Logger

    static let sweepInterval = Duration.seconds(3)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            guard await ready.wait() else { return }
            await engine.reconcile()
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await follow() }
                group.addTask { await sweep() }
            }
        }
    }

    private func follow() async {
        var cursor: UInt64 = 0
        while !Task.isCancelled {
            do {
                let changes = try await executor.changes(after: cursor, wait: .seconds(10))
                cursor = changes.cursor
                if changes.reset { await engine.reconcile() }
                if !changes.ids.isEmpty { await engine.executionsEnded(changes.ids) }
                if !changes.runs.isEmpty { await engine.workflowsChanged(changes.runs) }
            } catch {
                if Task.isCancelled { return }
                logger.warning("cannot follow executions; retrying", metadata: ["error": .string("\(error)")])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func sweep() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.sweepInterval)
            if Task.isCancelled { return }
            await engine.reconcile()
        }
    }
}
