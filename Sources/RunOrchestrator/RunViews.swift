import Foundation
import Hummingbird
import ServiceContracts
import TrellisCore
import TrellisHTTP

/// A run as the API shows it (DESIGN.md: `id, state, trigger, executionDate, tasks[{name, state, attempts}]`).
struct RunView: ResponseEncodable {
    let id: String
    let project: String
    let pipeline: String
    let pipelineVersion: Int
    let state: RunState
    let trigger: RunTrigger
    let reason: String?
    let debug: Bool
    /// Kept from the project's retention.
    let pinned: Bool
    let executionDate: Date
    let startedBy: String
    let createdAt: Date
    let startedAt: Date?
    let finishedAt: Date?
    /// The parameter values the run was created with (`params.NAME`); absent when its pipeline declares none.
    let parameters: [String: String]?
    let tasks: [TaskView]

    struct TaskView: Codable {
        let name: String
        let state: TaskState
        let template: String
        let dependsOn: [String]
        /// The command and env it runs with, its template variables rendered when the run was created.
        let command: [String]
        let env: [String: String]
        let mounts: [String]
        /// A task waiting to be retried starts no earlier than this.
        let retryAt: Date?
        let attempts: [AttemptView]
    }

    init(_ run: RunRecord) {
        id = run.id
        project = run.project
        pipeline = run.pipeline
        pipelineVersion = run.pipelineVersion
        state = run.state
        trigger = run.trigger
        reason = run.reason
        debug = run.debug
        pinned = run.pinned
        executionDate = .fromMilliseconds(run.executionDate)
        startedBy = run.startedBy
        createdAt = .fromMilliseconds(run.createdAt)
        startedAt = run.startedAt.map(Date.fromMilliseconds)
        finishedAt = run.finishedAt.map(Date.fromMilliseconds)
        parameters = run.plan.parameters
        let attempts = run.attemptsByTask
        tasks = run.plan.tasks.map { task in
            let record = run.tasks[task.name]
            return TaskView(
                name: task.name, state: record?.state ?? .pending, template: task.template, dependsOn: task.dependsOn,
                command: task.command, env: task.environment, mounts: task.mounts,
                retryAt: record?.notBefore.map(Date.fromMilliseconds),
                attempts: (attempts[task.name] ?? []).map { AttemptView($0, showInvocation: run.debug) }
            )
        }
    }
}

struct AttemptView: Codable {
    let number: Int
    let state: TaskState
    let exitCode: Int?
    let reason: String?
    let startedAt: Date?
    let finishedAt: Date?
    /// For an attempt that failed and is retried: when the next one is due (its end plus the retry's backoff).
    let retryAt: Date?
    /// The exact command, env and working directory (always on the attempt's own page; in the run for debug runs).
    let invocation: Invocation?

    init(_ attempt: AttemptRecord, showInvocation: Bool) {
        number = attempt.number
        state = attempt.state
        exitCode = attempt.exitCode
        reason = attempt.reason
        startedAt = attempt.startedAt.map(Date.fromMilliseconds)
        finishedAt = attempt.finishedAt.map(Date.fromMilliseconds)
        retryAt = attempt.retryAt.map(Date.fromMilliseconds)
        invocation = showInvocation ? Self.invocation(attempt) : nil
    }
}

extension AttemptView {
    static func invocation(_ attempt: AttemptRecord) -> Invocation? {
        var invocation = try? JSONDecoder().decode(Invocation.self, from: Data(attempt.invocation.utf8))
        invocation?.workingDirectory = attempt.workingDirectory
        return invocation
    }
}

/// One attempt with its processes and resource samples (the status view).
struct AttemptDetail: ResponseEncodable {
    let attempt: AttemptView
    let process: ExecutionStatus
    let samples: [ResourceSample]
}

/// A run in a list.
struct RunSummary: Codable {
    let id: String
    let pipeline: String
    let pipelineVersion: Int
    let state: String
    let trigger: String
    let reason: String?
    let pinned: Bool
    let executionDate: Date
    let startedBy: String
    let createdAt: Date
    let startedAt: Date?
    let finishedAt: Date?

    init(_ row: RunRepository.RunListRow) {
        id = row.id
        pipeline = row.pipeline
        pipelineVersion = row.pipeline_version
        state = row.state
        trigger = row.run_trigger
        reason = row.reason
        pinned = row.pinned
        executionDate = .fromMilliseconds(row.execution_date)
        startedBy = row.started_by
        createdAt = .fromMilliseconds(row.created_at)
        startedAt = row.started_at.map(Date.fromMilliseconds)
        finishedAt = row.finished_at.map(Date.fromMilliseconds)
    }
}

struct RunList: ResponseEncodable {
    let runs: [RunSummary]
    /// The cursor of the next page; absent on the last.
    let next: String?
}

/// What a project's runs take (`GET /projects/{project}/storage`).
struct ProjectStorage: ResponseEncodable, Decodable, Sendable, Equatable {
    var runs: Int
    var pinnedRuns: Int
    var attempts: Int
    /// The attempts' logs and samples on the cluster gateway (local attempts; Kubernetes keeps its own).
    var logBytes: Int64
    /// The runs' plans and the attempts' invocations in the database (the largest part of their rows).
    var recordBytes: Int64
}
