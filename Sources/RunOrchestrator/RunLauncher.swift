import Foundation
import ServiceContracts
import TrellisCore
import TrellisHTTP
import TrellisStore

/// Creates runs: the pipeline's current version, resolved against the templates it pinned and rendered with the run's
/// variables, handed to the engine. Manual and single-task runs come from the API as the caller; scheduled ones from
/// the scheduler as the schedule's owner, with the tick as their execution date in the schedule's time zone.
struct RunLauncher: Sendable {
    let engine: RunEngine
    let pipelines: any PipelineClient
    let templates: any TemplateClient
    let identity: any IdentityClient
    let now: @Sendable () -> Date

    /// A schedule tick a run is for.
    struct Tick: Sendable {
        var executionDate: Int64
        var definition: ScheduleDefinition
    }

    /// Creates the run and starts it. `parameters` are values for the pipeline's `spec.parameters`; nil or left out:
    /// their defaults.
    func start(
        project: String, pipeline name: String, task: String? = nil, debug: Bool = false, trigger: RunTrigger,
        parameters: [String: JSONValue]? = nil, caller: Caller
    ) async throws -> RunRecord {
        let run = try await prepare(
            project: project, pipeline: name, task: task, debug: debug, trigger: trigger, parameters: parameters, caller: caller)
        try await engine.create(run)
        return run
    }

    /// The run to create, not stored yet: its plan resolved and rendered, every task pending. Reads only; those that
    /// runs prepared together share go through `shared`.
    func prepare(
        project: String, pipeline name: String, task: String? = nil, debug: Bool = false, trigger: RunTrigger,
        runID id: String = UUID().uuidString.lowercased(), tick: Tick? = nil, parameters: [String: JSONValue]? = nil, caller: Caller,
        shared: SharedReads = SharedReads()
    ) async throws -> RunRecord {
        guard let version = try await pipelines.pipeline(name, project: project, version: nil, caller: caller) else {
            throw APIError.notFound("project \(project) has no pipeline named \"\(name)\"")
        }
        let instant = now()
        let created = instant.milliseconds
        // A project being deleted has no settings: nothing of it starts any more.
        guard let settings = try await shared.settings.value(project, { try await identity.settings(ofProject: project) }) else {
            throw APIError.notFound("no project named \"\(project)\"")
        }
        let access = try await cluster(settings.cluster, project: project, shared: shared)
        let cluster = access.kind == .kubernetes ? settings.cluster : nil
        var variables = RunVariables(
            project: project, runner: caller.user.username, runID: id, clusterName: settings.cluster, createdAt: created,
            executionDate: tick?.executionDate ?? created, randomBytes: RunVariables.systemRandomBytes)
        variables.createdAtMicroseconds = Int64((instant.timeIntervalSince1970 * 1_000_000).rounded())
        let declared = version.spec.spec.parameters
        if declared != nil || !(parameters ?? [:]).isEmpty {
            variables.parameters = try RunParameters.resolve(parameters, declared: declared ?? [])
        }
        if let tick, let zone = TimeZone(identifier: tick.definition.timezone), let cron = try? Cron(tick.definition.cron) {
            let date = Date.fromMilliseconds(tick.executionDate)
            variables.utcOffsetSeconds = zone.secondsFromGMT(for: date)
            variables.previousExecutionDate = cron.previous(before: date, in: zone)?.milliseconds
            variables.nextExecutionDate = cron.next(after: date, in: zone)?.milliseconds
        }
        var plan = try RunPlan(
            pipeline: version, templates: try await PinnedTemplates.resolve(version, client: shared.templates(templates), caller: caller),
            variables: variables, only: task, project: settings)
        let problems = access.problems(of: plan, project: project, settings: settings)
        guard problems.isEmpty else { throw ValidationErrors(problems) }
        if cluster != nil {
            plan.podSecurity = access.policy.level
            plan.gpuLabel = access.policy.gpuLabel
        }
        if let task {
            guard let single = plan.single(task) else { throw APIError.notFound("pipeline \"\(name)\" has no task named \"\(task)\"") }
            plan = single
        }
        return RunRecord(
            id: id, project: project, pipeline: plan.pipeline, pipelineVersion: plan.version, trigger: trigger, state: .pending, plan: plan,
            debug: debug, executionDate: variables.executionDate, startedBy: caller.user.username, cluster: cluster, createdAt: created,
            tasks: Dictionary(
                uniqueKeysWithValues: plan.tasks.map { ($0.name, TaskRecord(name: $0.name, state: .pending, attempts: 0, roundStart: 1)) }),
            attempts: []
        )
    }

    /// The cluster the project's runs go to, registered and granted to the project: a project bound to a cluster nobody
    /// registered runs nowhere, and neither does one whose cluster was taken back.
    func cluster(_ name: String, project: String, shared: SharedReads) async throws -> ClusterAccess {
        let executor = engine.executor
        guard let access = try await shared.clusters.value(name, { try await executor.cluster(named: name) }) else {
            throw APIError.failedPrecondition(
                "project \(project) is bound to cluster \"\(name)\", which is not registered: an owner can choose another (settings.cluster)"
            )
        }
        guard access.policy.grants(project) else {
            throw APIError.forbidden(
                "cluster \(name) is not granted to project \(project): a platform admin can grant it (PUT /api/v1/clusters/\(name)/policy)")
        }
        return access
    }
}
