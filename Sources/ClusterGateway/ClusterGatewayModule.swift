import Foundation
import Hummingbird
import ServiceLifecycle
import TrellisHTTP
import TrellisStore

/// The cluster gateway: where tasks run, their logs and their process status. Its backend today is local processes
/// (``LocalBackend``), each attempt under a `trellis-shim` supervisor with its files in `<data dir>/executions`.
public struct ClusterGatewayModule: ServiceModule {
    public static let name = ServiceName.clusterGateway

    public static func migrations() throws -> MigrationSet? {
        try MigrationSet(service: name.rawValue, files: EmbeddedMigrations.files)
    }

    let backend: LocalBackend
    let serviceToken: ServiceToken
    let clusters: ClusterController

    public init(environment: ServiceEnvironment) async throws {
        serviceToken = try ServiceToken(configuration: environment.configuration)
        let configuration = environment.configuration
        clusters = ClusterController(
            repository: ClusterRepository(database: environment.database),
            secrets: try SecretBox.load(base64Key: configuration.secretsKey, dataDirectory: configuration.dataDirectory), now: Date.init)
        let root = URL(fileURLWithPath: environment.configuration.dataDirectory, isDirectory: true).appendingPathComponent("executions")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let shimPath = LocalBackend.defaultShimPath()
        guard FileManager.default.isExecutableFile(atPath: shimPath) else { throw MissingSupervisor(path: shimPath) }
        backend = LocalBackend(root: root, shimPath: shimPath, logger: environment.logger)
    }

    public func addRoutes(public: RouterGroup<TrellisRequestContext>, authenticated: RouterGroup<TrellisRequestContext>) {
        let internalRoutes = `public`.group("internal/executions").add(middleware: ServiceTokenMiddleware(token: serviceToken))
        ExecutionController(executor: InProcessExecutorClient(backend: backend)).addRoutes(to: internalRoutes)
        clusters.addRoutes(to: authenticated)
    }

    public var services: [any Service] { [AdoptionService(backend: backend)] }

    public var executorClient: (any ExecutorClient)? { InProcessExecutorClient(backend: backend) }
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

/// The local backend answering the orchestrator of the same process (embedded mode).
struct InProcessExecutorClient: ExecutorClient {
    let backend: LocalBackend

    func launch(_ request: ExecutionRequest) async throws { try await backend.launch(request) }

    func status(of ids: [String]) async throws -> [ExecutionStatus] {
        var statuses: [ExecutionStatus] = []
        for id in ids { statuses.append(await backend.status(of: id)) }
        return statuses
    }

    func stop(_ id: String) async throws { await backend.stop(id) }

    func changes(after cursor: UInt64, wait: Duration) async throws -> ExecutionChanges {
        await backend.feed.changes(after: cursor, wait: wait)
    }

    func logs(of id: String, replica: Int?, follow: Bool) async throws -> LogStream? {
        await backend.logs(of: id, replica: replica, follow: follow)
    }

    func samples(of id: String) async throws -> [ResourceSample] { await backend.samples(of: id) }
}
