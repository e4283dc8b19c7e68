import AsyncHTTPClient
import Foundation
import Hummingbird
import ServiceContracts
import ServiceLifecycle
import TrellisCore
import TrellisHTTP
import TrellisStore

/// The cluster gateway: where tasks run, their logs and their status. Local processes (``LocalBackend``), each
/// attempt under a `trellis-shim` supervisor with its files in `<data dir>/executions`; or, for projects bound to a
/// registered Kubernetes cluster, Argo Workflows (``WorkflowBackend``).
public struct ClusterGatewayModule: ServiceModule {
    public static let name = ServiceName.clusterGateway

    public static func migrations() throws -> MigrationSet? {
        try MigrationSet(service: name.rawValue, files: EmbeddedMigrations.files)
    }

    let backend: LocalBackend
    let users: TaskUsers
    let workflows: WorkflowBackend
    let serviceToken: ServiceToken
    let clusters: ClusterController
    let purger: ProjectPurger
    let httpClient: HTTPClient

    public init(environment: ServiceEnvironment) async throws {
        serviceToken = try ServiceToken(configuration: environment.configuration)
        httpClient = environment.httpClient
        let configuration = environment.configuration
        let secrets = try SecretBox.load(base64Key: configuration.secretsKey, dataDirectory: configuration.dataDirectory)
        let registry = ClusterRepository(database: environment.database)
        clusters = ClusterController(repository: registry, secrets: secrets, now: Date.init)
        try PrivateFiles.directory(configuration.dataDirectory)
        // Absolute and without symlinks: what the sandbox hides and refuses to mount is compared by path.
        let data = URL(fileURLWithPath: configuration.dataDirectory, isDirectory: true).resolvingSymlinksInPath().path
        let root = URL(fileURLWithPath: data, isDirectory: true).appendingPathComponent("executions")
        try PrivateFiles.directory(root.path)
        let shimPath = LocalBackend.defaultShimPath()
        guard FileManager.default.isExecutableFile(atPath: shimPath) else { throw MissingSupervisor(path: shimPath) }
        var sandbox = LocalSandbox.detect(
            mode: configuration.localExecutor, users: configuration.taskUsers, processLimit: configuration.taskMaxProcesses,
            fileLimit: configuration.taskMaxFiles, dataDirectory: data, shimPath: shimPath)
        sandbox.gpuProbe = configuration.taskGPUProbe
        if case .unavailable = sandbox.mode {
            environment.logger.error("\(sandbox.summary)")
        } else {
            environment.logger.info("\(sandbox.summary)")
        }
        users = TaskUsers(database: environment.database, range: configuration.taskUsers)
        backend = LocalBackend(root: root, shimPath: shimPath, sandbox: sandbox, logger: environment.logger)
        let podLogs = URL(fileURLWithPath: data, isDirectory: true).appendingPathComponent("pod-logs")
        try PrivateFiles.directory(podLogs.path)
        workflows = WorkflowBackend(
            workflows: WorkflowRepository(database: environment.database), clusters: registry, secrets: secrets, feed: backend.feed,
            archive: PodLogArchive(root: podLogs), logger: environment.logger)
        let (workflows, users) = (workflows, users)
        purger = try ProjectPurger(Self.name, environment: environment) { deletion in
            try await workflows.purge(project: deletion.project)
            try await users.retire(deletion)
        }
    }

    public func addRoutes(public: RouterGroup<TrellisRequestContext>, authenticated: RouterGroup<TrellisRequestContext>) {
        let internalRoutes = `public`.group("internal/executions").add(middleware: ServiceTokenMiddleware(token: serviceToken))
        ExecutionController(executor: executor).addRoutes(to: internalRoutes)
        WorkflowController(executor: executor).addRoutes(
            to: `public`.group("internal/workflows").add(middleware: ServiceTokenMiddleware(token: serviceToken)))
        clusters.addRoutes(to: authenticated)
    }

    public var services: [any Service] { [AdoptionService(backend: backend), WorkflowWatchService(workflows: workflows), purger] }

    public var executorClient: (any ExecutorClient)? { executor }

    var executor: InProcessExecutorClient {
        InProcessExecutorClient(backend: backend, users: users, workflows: workflows, httpClient: httpClient)
    }
}

/// The start stops when tasks could not run: their supervisor is not where it belongs.
struct MissingSupervisor: Error, CustomStringConvertible {
    let path: String
    var description: String {
        "tasks run under trellis-shim, expected at \(path) next to this executable: build it (swift build --product trellis-shim)"
    }
}

/// Finds the executions a previous server left running and follows them until they end.
struct AdoptionService: Service {
    let backend: LocalBackend

    func run() async throws {
        await backend.adoptRunning()
        while !Task.isShuttingDownGracefully, await backend.hasAdopted {
            await backend.pollAdopted()
            try? await Task.sleep(for: .milliseconds(250))
        }
        try? await gracefulShutdown()
    }
}

/// Watches the namespaces that have Workflows from the start (others as runs are submitted there) until shutdown.
struct WorkflowWatchService: Service {
    let workflows: WorkflowBackend

    func run() async throws {
        // A failure to read the table is not fatal: each submission starts the watch of its namespace.
        try? await workflows.followAll()
        try? await gracefulShutdown()
        await workflows.shutdown()
    }
}

/// The backends answering the orchestrator of the same process (embedded mode); the routes of the split mode too.
struct InProcessExecutorClient: ExecutorClient {
    let backend: LocalBackend
    let users: TaskUsers
    let workflows: WorkflowBackend
    /// For the clusters' Prometheus servers.
    let httpClient: HTTPClient

    /// A local launch, as the project's own user when the server runs as root.
    func launch(_ request: ExecutionRequest) async throws {
        let user = backend.sandbox.switchesUsers ? try await users.uid(of: request.project) : nil
        try await backend.launch(request, user: user)
    }

    /// A local execution's status, or a Kubernetes attempt's (its id is its first pod's node id, `trellis-…`).
    func status(of ids: [String]) async throws -> [ExecutionStatus] {
        var statuses: [ExecutionStatus] = []
        for id in ids {
            let local = await backend.status(of: id)
            if local.phase == .unknown, let remote = try? await workflows.status(ofExecution: id), remote.phase != .unknown {
                statuses.append(remote)
            } else {
                statuses.append(local)
            }
        }
        return statuses
    }

    func stop(_ id: String) async throws { await backend.stop(id) }

    /// A local execution's files, or a Kubernetes attempt's kept logs.
    func discard(_ id: String) async throws {
        try await backend.discard(id)
        try await workflows.discardLogs(of: id)
    }

    func changes(after cursor: UInt64, wait: Duration) async throws -> ExecutionChanges {
        await backend.feed.changes(after: cursor, wait: wait)
    }

    /// A local execution's log, else a Kubernetes attempt's.
    func logs(of id: String, replica: Int?, follow: Bool) async throws -> LogStream? {
        if let local = await backend.logs(of: id, replica: replica, follow: follow) { return local }
        return try await workflows.logs(ofExecution: id, replica: replica, follow: follow)
    }

    func samples(of id: String) async throws -> [ResourceSample] { await backend.samples(of: id) }

    /// Local executions' samples from their supervisors' files; Kubernetes attempts' (ids `trellis-…`) from their
    /// cluster's Prometheus.
    func samples(after offsets: [String: Int64]) async throws -> [String: SampleBatch] {
        var batches: [String: SampleBatch] = [:]
        for (id, offset) in offsets {
            if await backend.directory(id).exists || !id.hasPrefix(ArgoWorkflow.name(ofRun: "")) {
                batches[id] = await backend.samples(of: id, after: offset)
            } else {
                batches[id] = try await workflows.samples(
                    ofExecution: id, after: offset, prometheus: { PrometheusClient(base: $0, httpClient: httpClient) }, now: Date())
            }
        }
        return batches
    }

    func cluster(named name: String) async throws -> ClusterAccess? { try await workflows.access(to: name) }

    func submit(_ submission: WorkflowSubmission) async throws { try await workflows.submit(submission) }

    func workflow(ofRun run: String) async throws -> WorkflowProgress? { try await workflows.progress(ofRun: run) }

    func stopWorkflow(ofRun run: String) async throws { try await workflows.stop(run: run) }

    func retryWorkflow(ofRun run: String, restarting tasks: [String]) async throws -> Bool {
        try await workflows.retry(run: run, restarting: Set(tasks))
    }
}
