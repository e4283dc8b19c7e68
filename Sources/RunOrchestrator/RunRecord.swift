import Foundation
import TrellisCore

/// A run as stored: the row, its tasks and every attempt, with where its tasks are for the planner
/// (``RunProgress``). The engine changes it through the methods below, which note what changed; the repository writes
/// back only that, in one transaction.
struct RunRecord: Sendable {
    var id: String
    var project: String
    var pipeline: String
    var pipelineVersion: Int
    var trigger: RunTrigger
    var state: RunState
    var reason: String?
    let plan: RunPlan
    var debug: Bool
    /// Unix milliseconds, as every time here.
    var executionDate: Int64
    var startedBy: String
    /// The Kubernetes cluster the run goes to as an Argo Workflow; nil for local processes.
    var cluster: String? = nil
    var createdAt: Int64
    var startedAt: Int64?
    var finishedAt: Int64?
    var deadlineAt: Int64?
    /// The state the run ends in once its running attempts stopped; nil while it is not being stopped.
    var stopping: RunState?
    /// Kept from the project's retention; changed on its own (``RunRepository/pin(_:_:)``), never by the engine.
    var pinned = false
    private(set) var tasks: [String: TaskRecord]
    private(set) var attempts: [AttemptRecord]
    private(set) var progress: RunProgress
    /// Each attempt's place in ``attempts``, by execution id.
    private var attemptPositions: [String: Int]
    /// What changed since the record was read or last written.
    private(set) var changes = Changes()
    /// The run's own fields as read or last written.
    private(set) var stored: Fields

    /// The run's own fields that change (the rest never do after its creation).
    struct Fields: Sendable, Equatable {
        var state: RunState, reason: String?, startedAt: Int64?, finishedAt: Int64?, deadlineAt: Int64?, stopping: RunState?
    }

    var fields: Fields {
        Fields(state: state, reason: reason, startedAt: startedAt, finishedAt: finishedAt, deadlineAt: deadlineAt, stopping: stopping)
    }

    struct Changes: Sendable {
        var tasks: Set<String> = []
        /// Positions in ``RunRecord/attempts``.
        var attempts: Set<Int> = []
    }

    init(
        id: String, project: String, pipeline: String, pipelineVersion: Int, trigger: RunTrigger, state: RunState, reason: String? = nil,
        plan: RunPlan, index: PlanIndex? = nil, debug: Bool, executionDate: Int64, startedBy: String, cluster: String? = nil,
        createdAt: Int64, startedAt: Int64? = nil, finishedAt: Int64? = nil, deadlineAt: Int64? = nil, stopping: RunState? = nil,
        pinned: Bool = false, tasks: [String: TaskRecord], attempts: [AttemptRecord]
    ) {
        self.id = id
        self.project = project
        self.pipeline = pipeline
        self.pipelineVersion = pipelineVersion
        self.trigger = trigger
        self.state = state
        self.reason = reason
        self.plan = plan
        self.debug = debug
        self.executionDate = executionDate
        self.startedBy = startedBy
        self.cluster = cluster
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.deadlineAt = deadlineAt
        self.stopping = stopping
        self.pinned = pinned
        self.tasks = tasks
        self.attempts = attempts
        progress = RunProgress(
            plan: plan, index: index ?? PlanIndex(plan), states: tasks.mapValues(\.state), notBefore: tasks.compactMapValues(\.notBefore))
        attemptPositions = Dictionary(attempts.enumerated().map { ($1.executionID, $0) }) { $1 }
        stored = Fields(
            state: state, reason: reason, startedAt: startedAt, finishedAt: finishedAt, deadlineAt: deadlineAt, stopping: stopping)
    }

    /// The plan's task named `name`, found through the plan's index.
    func plannedTask(_ name: String) -> RunPlan.Task? { progress.index.positions[name].map { plan.tasks[$0] } }

    func attempts(of task: String) -> [AttemptRecord] { attempts.filter { $0.task == task } }

    /// Attempts by task, each task's in the order they were made.
    var attemptsByTask: [String: [AttemptRecord]] { Dictionary(grouping: attempts, by: \.task) }

    var runningAttempts: [AttemptRecord] { attempts.filter { $0.state == .running } }

    func attemptIndex(execution id: String) -> Int? { attemptPositions[id] }

    /// Changes the task `name`: its record, and where the planner sees it.
    mutating func update(task name: String, _ change: (inout TaskRecord) -> Void) {
        guard var record = tasks[name] else { return }
        change(&record)
        guard record != tasks[name] else { return }
        tasks[name] = record
        changes.tasks.insert(name)
        if let position = progress.index.positions[name] { progress.set(position, record.state, notBefore: record.notBefore) }
    }

    /// Settles or starts tasks as the planner decided (it has moved them already).
    mutating func apply(_ decision: RunPlanner.Decision) {
        for (name, state) in decision.settle { update(task: name) { $0.state = state } }
    }

    /// What the planner decides now, applied to its view of the tasks (``RunProgress/decide(now:stopping:)``).
    mutating func decide(now: Int64) -> RunPlanner.Decision { progress.decide(now: now, stopping: stopping) }

    mutating func append(_ attempt: AttemptRecord) {
        attemptPositions[attempt.executionID] = attempts.count
        changes.attempts.insert(attempts.count)
        attempts.append(attempt)
    }

    mutating func update(attemptAt index: Int, _ change: (inout AttemptRecord) -> Void) {
        change(&attempts[index])
        changes.attempts.insert(index)
    }

    /// A task the planner started that is not started after all (a project's quota is full): pending again.
    mutating func deferStart(_ name: String) {
        guard let position = progress.index.positions[name] else { return }
        progress.set(position, .pending, notBefore: tasks[name]?.notBefore)
    }

    var hasChanges: Bool { fields != stored || !changes.tasks.isEmpty || !changes.attempts.isEmpty }

    /// Written: nothing changed since.
    mutating func written() {
        changes = Changes()
        stored = fields
    }
}

struct TaskRecord: Sendable, Equatable {
    var name: String
    var state: TaskState
    /// Attempts over every round.
    var attempts: Int
    /// The number of the first attempt of the current round (a resume starts a new round with a fresh retry budget).
    var roundStart: Int
    var notBefore: Int64?
}

struct AttemptRecord: Sendable, Equatable {
    var task: String
    var number: Int
    var executionID: String
    var state: TaskState
    var exitCode: Int?
    var reason: String?
    var createdAt: Int64
    var startedAt: Int64?
    var finishedAt: Int64?
    /// When the next attempt is due, for an attempt that failed and is retried: its end plus the retry's backoff.
    var retryAt: Int64?
    /// The ``Invocation`` as JSON: written once, decoded only to be shown.
    var invocation: String
    /// Where the processes ran, when it was kept (debug runs).
    var workingDirectory: String?
    /// What its logs and samples take on the cluster gateway once it ended (bytes); nil: unknown.
    var storedBytes: Int64? = nil
}

/// Exactly what an attempt ran: shown with the attempt (single-task debug shows it first).
struct Invocation: Codable, Sendable, Equatable {
    var command: [String]
    var environment: [String: String]
    var image: String
    var replicas: Int
    var workingDirectory: String?

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
