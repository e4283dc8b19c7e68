import Foundation
import Hummingbird
import ServiceContracts
import ServiceLifecycle
import TrellisCore
import TrellisHTTP
import TrellisStore
import Yams

/// The pipeline store: pipelines, their versions and editor layout, validated against the templates they use.
public struct PipelineStoreModule: ServiceModule {
    public static let name = ServiceName.pipelines

    public static func migrations() throws -> MigrationSet? {
        try MigrationSet(service: name.rawValue, files: EmbeddedMigrations.files)
    }

    let controller: PipelineController<SQLPipelineRepository>
    let serviceToken: ServiceToken
    let clusters: ClusterDirectory
    let purger: ProjectPurger

    public init(environment: ServiceEnvironment) async throws {
        serviceToken = try ServiceToken(configuration: environment.configuration)
        let identity = try environment.requireIdentity(for: Self.name)
        clusters = ClusterDirectory(environment.executor)
        controller = PipelineController(
            repository: SQLPipelineRepository(database: environment.database),
            access: ProjectAccess(identity: identity), identity: identity,
            templates: try environment.requireTemplates(for: Self.name), clusters: clusters,
            now: Date.init
        )
        let repository = controller.repository
        purger = try ProjectPurger(Self.name, environment: environment) { deletion in
            try await repository.deleteAll(ofProject: deletion.project, at: Date().milliseconds)
        }
    }

    public var services: [any Service] { [purger] }

    /// The cluster gateway, built after this module in embedded mode: saved pipelines are checked against what the
    /// project's cluster allows.
    public func bindClusters(_ executor: any ExecutorClient) {
        clusters.bind(executor)
    }

    /// The demo pipeline `hello-trellis` in `project`, when missing (`trellis serve --demo`, used by `make run`).
    public func seedDemoPipeline(project: String, owner: String) async throws {
        let repository = controller.repository
        guard try await repository.pipeline(named: DemoPipeline.name, project: project) == nil else { return }
        var spec = try YAMLDecoder().decode(PipelineSpec.self, from: DemoPipeline.yaml)
        spec.metadata.project = project
        let ids = Dictionary(uniqueKeysWithValues: spec.spec.tasks.map { ($0.name, UUID().uuidString.lowercased()) })
        let templates = Dictionary(uniqueKeysWithValues: spec.spec.tasks.map { ($0.name, "\($0.template)@1.0.0") })
        try await repository.save(
            PipelineVersion(
                pipeline: DemoPipeline.name, version: 1, spec: spec, taskIDs: ids, templates: templates, createdBy: owner, createdAt: Date()
            ),
            project: project, existing: nil
        )
    }

    public var pipelineClient: (any PipelineClient)? {
        InProcessPipelineClient(repository: controller.repository, access: controller.access)
    }

    public func addRoutes(public: RouterGroup<TrellisRequestContext>, authenticated: RouterGroup<TrellisRequestContext>) {
        controller.addRoutes(to: authenticated)
        let internalRoutes = `public`.group("internal/schedules").add(middleware: ServiceTokenMiddleware(token: serviceToken))
        internalRoutes.get(use: scheduleChanges)
        let alerts = `public`.group("internal/pipelines").add(middleware: ServiceTokenMiddleware(token: serviceToken))
        alerts.get(":project/:pipeline/alerts") { _, context in
            let (project, pipeline) = (try context.parameters.require("project"), try context.parameters.require("pipeline"))
            guard let alerts = try await pipelineClient?.alerts(ofPipeline: pipeline, project: project) else {
                throw APIError.notFound("no pipeline \"\(pipeline)\" in project \"\(project)\"")
            }
            return alerts
        }
    }

    /// `GET /api/v1/internal/schedules?after=N&limit=M`: the schedule feed, for the scheduler.
    @Sendable func scheduleChanges(_ request: Request, context: TrellisRequestContext) async throws -> ScheduleChanges {
        let query = request.uri.queryParameters
        guard let after = Int64(query.get("after") ?? "0"), after >= 0 else {
            throw APIError.invalidField("after", "must be a revision ≥ 0")
        }
        guard let limit = Int(query.get("limit") ?? "500"), (1...5000).contains(limit) else {
            throw APIError.invalidField("limit", "must be 1 to 5000")
        }
        return ScheduleChanges(changes: try await controller.repository.scheduleChanges(after: after, limit: limit))
    }
}

struct ScheduleChanges: ResponseEncodable {
    let changes: [ScheduleChange]
}

/// A small diamond of the built-in templates, to try the editor and runs on.
enum DemoPipeline {
    static let name = "hello-trellis"
    static let yaml = """
        apiVersion: trellis.dev/v1
        kind: Pipeline
        metadata: {name: hello-trellis, description: "A first pipeline: prepare, two branches, join."}
        spec:
          parallelism: 2
          tasks:
            - {name: prepare, template: shell, args: {command: "echo preparing {{execution_date}}"}}
            - {name: left, template: shell, args: {command: "echo left branch"}, dependsOn: [prepare]}
            - {name: right, template: python, args: {script: "print('right branch')"}, dependsOn: [prepare]}
            - {name: join, template: noop, dependsOn: [left, right]}
        """
}

extension PipelineAlerts: ResponseEncodable {}
