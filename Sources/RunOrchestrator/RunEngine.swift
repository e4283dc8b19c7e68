import Foundation
import Logging
import ServiceContracts
import TrellisCore
import TrellisHTTP
import TrellisStore

/// Moves runs forward: starts the tasks the planner says may start, records how attempts end, retries with
/// backoff, stops runs on cancel or timeout, resumes them, and after a restart reconciles every unfinished run
/// with what the executor reports. Every change is one transaction on the run's rows; one engine per process
/// serialises them.
actor RunEngine {
    let repository: RunRepository
    let executor: any ExecutorClient
    /// The projects' registry logins, for the image pull secret of runs on Kubernetes.
    let templates: any TemplateClient
    let logger: Logger
    let stopGraceMilliseconds: Int64
    let now: @Sendable () -> Date
    /// Told when scheduled runs end (their project and pipeline): the scheduler looks at their schedules again.
    let scheduledRunsEnded: @Sendable ([(project: String, pipeline: String)]) async throws -> Void
    /// Projects' maxConcurrentRuns and maxConcurrentTasks.
    let quotas: ProjectQuotas
    /// The values of a project's secret env entries, asked at each launch (never stored by the orchestrator).
    let secrets: @Sendable (String) async throws -> [String: String]
    /// Attempts' start latency and duration, for `/metrics`.
    let metrics: RunMetrics
    /// The project of each run this engine has seen.
    private var projects: [String: String] = [:]
    /// Runs with a timer already set for their next retry or deadline, and when.
    private var timers: [String: Int64] = [:]
    /// Runs being resumed, and how many resumes of each run on Kubernetes reached its cluster: a Workflow read before
    /// the retry reached it must not end the resumed run.
    var resuming: Set<String> = []
    var resumes: [String: Int] = [:]
    /// Runs whose Workflow is being read, and those of them whose Workflow changed meanwhile.
    var syncing: Set<String> = []
    var changedWhileSyncing: Set<String> = []

    init(
        repository: RunRepository, executor: any ExecutorClient, templates: any TemplateClient, logger: Logger, stopGrace: Duration,
        now: @escaping @Sendable () -> Date, metrics: RunMetrics,
        quotas: ProjectQuotas, secrets: @escaping @Sendable (String) async throws -> [String: String] = { _ in [:] },
        scheduledRunsEnded: @escaping @Sendable ([(project: String, pipeline: String)]) async throws -> Void = { _ in }
    ) {
        self.repository = repository
        self.quotas = quotas
        self.secrets = secrets
        self.scheduledRunsEnded = scheduledRunsEnded
        self.executor = executor
        self.templates = templates
        self.logger = logger
        self.stopGraceMilliseconds = stopGrace.milliseconds
        self.now = now
        self.metrics = metrics
    }

    var nowMilliseconds: Int64 { now().milliseconds }

    // MARK: Commands

    func create(_ run: RunRecord) async throws {
        guard try await store([run]).contains(run.id) else { throw APIError.conflict("a run with id \(run.id) exists already") }
        await advance([run.id])
    }

    /// Stores new runs, pending, without starting them; a run whose id exists already is left as it is (a tick's run id
    /// is chosen before its run is created, which may be tried again). Returns the ids stored now.
    func store(_ runs: [RunRecord]) async throws -> Set<String> {
        let stored = try await repository.insert(runs)
        for run in runs where stored.contains(run.id) {
            projects[run.id] = run.project
            logger.info(
                "run created",
                metadata: ["run": .string(run.id), "pipeline": .string(run.pipeline), "trigger": .string(run.trigger.rawValue)])
        }
        return stored
    }

    /// Stops a run: its running attempts get SIGTERM (then SIGKILL), what has not started is cancelled. On
    /// Kubernetes, its Workflow is shut down.
    func cancel(_ id: String) async throws -> Bool {
        let stops = try await repository.update(id) { run -> (executions: [String], workflow: Bool)? in
            guard !run.state.isFinished else { return nil }
            run.stopping = run.stopping ?? .cancelled
            run.reason = run.reason ?? "cancelled"
            return (run.runningAttempts.map(\.executionID), run.cluster != nil && run.state == .running)
        }
        guard let stops = stops ?? nil else { return false }
        if stops.workflow {
            do {
                try await executor.stopWorkflow(ofRun: id)
            } catch {
                // Asked again by the next check of the run.
                logger.warning("cannot stop the Workflow of a run", metadata: ["run": .string(id), "error": .string("\(error)")])
            }
        }
        for execution in stops.executions where !stops.workflow { try? await executor.stop(execution) }
        await advance(id)
        return true
    }

    enum ResumeError: Error {
        case stillRunning
        case nothingToResume
        case unknownTask(String)
    }

    /// Runs again what did not succeed (or `task` and its downstream); succeeded tasks keep their attempts. On
    /// Kubernetes, its Workflow is retried as `argo retry` does — with `--restart-successful` for `task` and its
    /// downstream — or submitted when the cluster has none.
    func resume(_ id: String, from task: String?) async throws -> Bool {
        let now = nowMilliseconds
        resuming.insert(id)
        let found: (onCluster: Bool, restarting: [String])?
        do {
            found = try await repository.update(id) { run -> (onCluster: Bool, restarting: [String]) in
                guard run.state.isFinished else { throw ResumeError.stillRunning }
                if let task, run.plannedTask(task) == nil { throw ResumeError.unknownTask(task) }
                let rerun = RunPlanner.tasksToRerun(index: run.progress.index, states: run.tasks.mapValues(\.state), from: task)
                guard !rerun.isEmpty else { throw ResumeError.nothingToResume }
                for name in rerun {
                    run.update(task: name) { record in
                        record.state = .pending
                        record.notBefore = nil
                        record.roundStart = record.attempts + 1
                    }
                }
                run.state = .running
                run.reason = nil
                run.stopping = nil
                run.finishedAt = nil
                run.deadlineAt = run.cluster == nil ? run.plan.timeoutMilliseconds.map { now + $0 } : nil
                return (run.cluster != nil, task == nil ? [] : rerun.sorted())
            }
        } catch {
            resuming.remove(id)
            throw error
        }
        guard let found else {
            resuming.remove(id)
            return false
        }
        logger.info("run resumed", metadata: ["run": .string(id), "from": .string(task ?? "failures")])
        if found.onCluster {
            await retryWorkflow(id, restarting: found.restarting)
        } else {
            resuming.remove(id)
            await advance(id)
        }
        return true
    }

    // MARK: Advancing

    /// Moves the run on: what the planner decides now.
    func advance(_ id: String) async {
        await step(id, ended: [])
    }

    /// Moves the runs on, as few transactions as their projects' quotas allow.
    func advance(_ ids: [String]) async {
        await step(Dictionary(ids.map { ($0, []) }, uniquingKeysWith: { $1 }))
    }

    /// Records how `ended` attempts ended (retry policy included), lets the planner decide, and launches what it
    /// starts — all one transaction on the run's rows, then the launches.
    func step(_ id: String, ended: [ExecutionStatus]) async {
        await step([id: ended])
    }

    /// ``step(_:ended:)`` for several runs (each with the attempts of it that ended). The runs of projects without
    /// quotas are stepped in one transaction; a project's quotas count its other runs under the project's lock, so its
    /// runs are stepped one transaction each.
    func step(_ ended: [String: [ExecutionStatus]]) async {
        var together: [String] = []
        var alone: [(id: String, project: String, limits: ProjectQuotas.Limits)] = []
        for id in ended.keys.sorted() {
            guard let project = await project(of: id) else {
                together.append(id)
                continue
            }
            let limits = await quotas.limits(of: project)
            if limits.any { alone.append((id, project, limits)) } else { together.append(id) }
        }
        let now = nowMilliseconds
        let grace = stopGraceMilliseconds
        var outcomes: [(id: String, outcome: Outcome, limits: ProjectQuotas.Limits)] = []
        if together.count > 1 {
            do {
                let changed = try await repository.update(together) { run in
                    Self.transition(&run, ended: ended[run.id] ?? [], limits: ProjectQuotas.Limits(), usage: nil, now: now, grace: grace)
                }
                outcomes += together.compactMap { id in changed[id].map { (id, $0, ProjectQuotas.Limits()) } }
                together = []
            } catch {
                // Each alone: one run that cannot be written holds back no other.
                logger.warning("cannot advance runs together; one by one", metadata: ["error": .string("\(error)")])
            }
        }
        for (id, project, limits) in together.map({ ($0, String?.none, ProjectQuotas.Limits()) })
            + alone.map({ ($0.id, $0.project, $0.limits) })
        {
            do {
                let outcome = try await repository.update(id, usageOf: limits.any ? project : nil) { run, usage in
                    Self.transition(&run, ended: ended[id] ?? [], limits: limits, usage: usage, now: now, grace: grace)
                }
                if let outcome { outcomes.append((id, outcome, limits)) }
            } catch {
                logger.error("cannot advance run", metadata: ["run": .string(id), "error": .string("\(error)")])
            }
        }
        await wakeSchedules(outcomes.compactMap { $0.outcome.scheduledEnded })
        for (id, outcome, limits) in outcomes {
            await carryOut(outcome, ofRun: id, limits: limits, anyEnded: !(ended[id] ?? []).isEmpty)
        }
    }

    /// A step's change to the run: `ended` recorded, then what the planner decides, within the project's `limits`.
    static func transition(
        _ run: inout RunRecord, ended: [ExecutionStatus], limits: ProjectQuotas.Limits, usage: RunRepository.ProjectUsage?, now: Int64,
        grace: Int64
    ) -> Outcome {
        let endedNow = ended.compactMap { record($0, in: &run, now: now) }
        guard !run.state.isFinished else { return Outcome(ended: endedNow) }
        // Queued behind the project's limit of concurrent runs.
        if run.state == .pending, run.stopping == nil, let maxRuns = limits.runs, let usage, usage.runningRuns >= maxRuns {
            run.reason = "waiting: project \(run.project) runs at most \(maxRuns) at once (maxConcurrentRuns)"
            return Outcome(ended: endedNow)
        }
        if run.cluster != nil {
            var outcome = startOnCluster(&run, now: now)
            outcome.ended = endedNow
            return outcome
        }
        var stops: [String] = []
        if let deadline = run.deadlineAt, deadline <= now, run.stopping == nil {
            run.stopping = .failed
            run.reason = "the run timed out after \(DurationText.format(milliseconds: run.plan.timeoutMilliseconds ?? 0))"
            stops = run.runningAttempts.map(\.executionID)
        }
        let decision = run.decide(now: now)
        run.apply(decision)
        var starts = decision.start
        if let maxTasks = limits.tasks, let usage {
            // The project's limit of task attempts at once, over all its runs: the rest start later.
            let room = max(0, maxTasks - usage.runningTasks - (run.progress.running - starts.count))
            for name in starts.dropFirst(room) { run.deferStart(name) }
            starts = Array(starts.prefix(room))
        }
        var launches: [ExecutionRequest] = []
        for name in starts {
            guard let task = run.plannedTask(name), let attempts = run.tasks[name]?.attempts else { continue }
            run.update(task: name) { record in
                record.attempts += 1
                record.state = .running
                record.notBefore = nil
            }
            let request = request(run: run, task: task, attempt: attempts + 1, grace: grace)
            launches.append(request)
            run.append(
                AttemptRecord(
                    task: name, number: attempts + 1, executionID: request.id, state: .running, createdAt: now,
                    invocation: Invocation(
                        command: request.command, environment: request.environment, image: request.image, replicas: request.replicas
                    ).json
                ))
        }
        if run.state == .pending {
            run.state = .running
            run.reason = nil
            run.startedAt = now
            run.deadlineAt = run.plan.timeoutMilliseconds.map { now + $0 }
        }
        if let finished = decision.finished { finish(&run, finished, now: now) }
        let wakeAt = [decision.wakeAt, run.state.isFinished ? nil : run.deadlineAt].compactMap { $0 }.min()
        return Outcome(
            launches: launches, secretNames: run.plan.secretEnvironment ?? [], stops: stops, wakeAt: wakeAt,
            scheduledEnded: scheduledEnded(run), ended: endedNow)
    }

    /// What a step does once its transaction committed: metrics, the Workflow's submission, stops, launches (side by
    /// side: a fan-out of hundreds of tasks does not start them one by one), the next wake-up, and places freed under
    /// a quota handed to the project's other runs.
    private func carryOut(_ outcome: Outcome, ofRun id: String, limits: ProjectQuotas.Limits, anyEnded: Bool) async {
        metrics.attemptsEnded(outcome.ended)
        if outcome.submit { await submit(id) }
        for execution in outcome.stops { try? await executor.stop(execution) }
        let executor = executor
        var launches: [ExecutionRequest] = []
        var unlaunched: [ExecutionStatus] = []
        var secretValues: [String: String]?
        for request in outcome.launches {
            do {
                launches.append(try await revealed(request, secrets: outcome.secretNames, values: &secretValues))
            } catch {
                unlaunched.append(ExecutionStatus(id: request.id, phase: .lost, reason: "could not launch: \(error)", finishedAt: Date()))
            }
        }
        let failed = await withTaskGroup(of: ExecutionStatus?.self) { group in
            for request in launches {
                group.addTask {
                    do {
                        try await executor.launch(request)
                        return nil
                    } catch {
                        // A launch that fails is a platform error of the attempt: the retry policy decides what comes next.
                        return ExecutionStatus(id: request.id, phase: .lost, reason: "could not launch: \(error)", finishedAt: Date())
                    }
                }
            }
            return await group.reduce(into: unlaunched) { if let failure = $1 { $0.append(failure) } }
        }
        if !failed.isEmpty { await step(id, ended: failed) }
        if let wakeAt = outcome.wakeAt { schedule(id, at: wakeAt) }
        if limits.any, anyEnded, let others = try? await repository.projectRuns(of: id)?.others {
            for other in others { Task { await self.advance(other) } }
        }
    }

    /// What a step does after its transaction.
    struct Outcome: Sendable {
        var launches: [ExecutionRequest] = []
        /// The run's secret env entries, revealed to the launches.
        var secretNames: [String] = []
        var stops: [String] = []
        var wakeAt: Int64?
        var scheduledEnded: (project: String, pipeline: String)?
        /// The run goes to its Kubernetes cluster now.
        var submit = false
        /// Attempts that ended in this step.
        var ended: [AttemptRecord] = []
    }

    /// The run ends in `state`; a failure names the failed tasks unless it has a reason already.
    static func finish(_ run: inout RunRecord, _ state: RunState, now: Int64) {
        run.state = state
        run.finishedAt = now
        if state == .failed, run.reason == nil {
            let failed = run.plan.tasks.map(\.name).filter { [.failed, .timedOut].contains(run.tasks[$0]?.state) }
            run.reason = "failed tasks: \(failed.joined(separator: ", "))"
        }
    }

    /// The schedule of a scheduled run that ended.
    static func scheduledEnded(_ run: RunRecord) -> (project: String, pipeline: String)? {
        run.state.isFinished && [.schedule, .backfill].contains(run.trigger) ? (run.project, run.pipeline) : nil
    }

    /// The waiting ticks (maxActiveRuns, dependsOnPast) of the schedules whose runs ended may go now.
    func wakeSchedules(_ schedules: [(project: String, pipeline: String)]) async {
        guard !schedules.isEmpty else { return }
        do {
            try await scheduledRunsEnded(schedules)
        } catch {
            logger.warning("cannot wake the schedules of ended runs", metadata: ["error": .string("\(error)")])
        }
    }

    /// The run's project, remembered.
    private func project(of id: String) async -> String? {
        if let known = projects[id] { return known }
        let found = try? await repository.projectRuns(of: id)?.project
        if projects.count > 10_000 { projects.removeAll() }
        projects[id] = found
        return found
    }

    /// Wakes the run at `instant` (a retry's backoff or the run's deadline).
    private func schedule(_ id: String, at instant: Int64) {
        if let existing = timers[id], existing <= instant { return }
        timers[id] = instant
        let delay = max(0, instant - nowMilliseconds)
        Task {
            try? await Task.sleep(for: .milliseconds(delay))
            await self.timerFired(id, instant: instant)
        }
    }

    private func timerFired(_ id: String, instant: Int64) async {
        if timers[id] == instant { timers[id] = nil }
        await advance(id)
    }

    // MARK: Attempts ending

    /// Executions ended: their attempts are recorded run by run, each run in one step.
    func executionsEnded(_ executionIDs: [String]) async {
        do {
            let statuses = try await executor.status(of: executionIDs).filter(\.phase.isFinished)
            var byRun: [String: [ExecutionStatus]] = [:]
            for status in statuses {
                guard let run = ExecutionID.run(of: status.id) else { continue }
                byRun[run, default: []].append(status)
            }
            await step(byRun)
        } catch {
            logger.error("cannot read how executions ended", metadata: ["error": .string("\(error)")])
        }
    }

    /// How an attempt ended, into the run: its state, and the task's — pending again when the retry policy says so.
    /// The attempt, when it was running until now.
    @discardableResult
    static func record(_ status: ExecutionStatus, in run: inout RunRecord, now: Int64) -> AttemptRecord? {
        guard let index = run.attemptIndex(execution: status.id), run.attempts[index].state == .running else { return nil }
        let outcome = Self.outcome(of: status, stopping: run.stopping)
        run.update(attemptAt: index) { attempt in
            attempt.state = outcome.state
            attempt.exitCode = status.exitCode
            attempt.reason = status.reason
            attempt.startedAt = status.startedAt?.milliseconds ?? attempt.createdAt
            attempt.finishedAt = status.finishedAt?.milliseconds ?? now
            attempt.workingDirectory = status.workingDirectory
            attempt.storedBytes = status.storedBytes
        }
        let attempt = run.attempts[index]
        guard let task = run.tasks[attempt.task], let planned = run.plannedTask(attempt.task) else { return attempt }
        if run.stopping == nil, let delay = planned.retry.delay(after: outcome, attempt: attempt.number - task.roundStart + 1) {
            // The backoff counts from the attempt's end (not when the engine heard of it), never from the future.
            let retryAt = min(attempt.finishedAt ?? now, now) + delay.milliseconds
            run.update(attemptAt: index) { $0.retryAt = retryAt }
            run.update(task: attempt.task) { task in
                task.state = .pending
                task.notBefore = retryAt
            }
        } else {
            run.update(task: attempt.task) { $0.state = outcome.state }
        }
        return run.attempts[index]
    }

    static func outcome(of status: ExecutionStatus, stopping: RunState?) -> AttemptOutcome {
        switch status.phase {
        case .succeeded: .succeeded
        case .failed: .failed(exitCode: status.exitCode)
        case .timedOut: .timedOut
        // Stopped because the whole run timed out: the attempt timed out with it.
        case .cancelled: stopping == .failed ? .timedOut : .cancelled
        case .lost, .unknown, .running: .error(status.reason ?? "the execution was lost")
        }
    }

    // MARK: Reconciling

    /// After a start: every unfinished run is checked against the executor. Attempts that ended while nobody
    /// watched are recorded, attempts never launched are launched (launching is idempotent), stops that were asked
    /// for are asked again, and each run advances.
    func reconcile() async {
        let ids: [String]
        do {
            ids = try await repository.activeRunIDs()
        } catch {
            // Cancelled: the server is shutting down.
            if !(error is CancellationError) {
                logger.error("cannot list unfinished runs", metadata: ["error": .string("\(error)")])
            }
            return
        }
        for id in ids {
            guard let run = try? await repository.run(id) else { continue }
            projects[id] = run.project
            if run.cluster != nil {
                await syncWorkflow(id)
                continue
            }
            let running = run.runningAttempts
            let statuses = (try? await executor.status(of: running.map(\.executionID))) ?? []
            var ended: [ExecutionStatus] = []
            for (attempt, status) in zip(running, statuses) {
                if status.phase.isFinished {
                    ended.append(status)
                } else if status.phase == .unknown, let task = run.plannedTask(attempt.task) {
                    do {
                        var values: [String: String]?
                        try await executor.launch(
                            try await revealed(
                                Self.request(run: run, task: task, attempt: attempt.number, grace: stopGraceMilliseconds),
                                secrets: run.plan.secretEnvironment ?? [], values: &values))
                    } catch {
                        ended.append(
                            ExecutionStatus(
                                id: attempt.executionID, phase: .lost, reason: "could not launch: \(error)", finishedAt: self.now()))
                    }
                } else if run.stopping != nil {
                    try? await executor.stop(attempt.executionID)
                }
            }
            await step(id, ended: ended)
        }
    }

    // MARK: Requests

    /// `request` with the values of the project's secret env entries it holds placeholders for, each also masked in
    /// its logs. A secret whose value is gone fails the launch, naming it. `values` are asked of the identity service
    /// once for all the launches of a step.
    func revealed(_ request: ExecutionRequest, secrets names: [String], values known: inout [String: String]?) async throws
        -> ExecutionRequest
    {
        let wanted = names.filter { request.environment[$0] == RunPlan.secretPlaceholder }
        guard !wanted.isEmpty else { return request }
        let values: [String: String]
        if let known {
            values = known
        } else {
            values = try await secrets(request.project)
            known = values
        }
        var revealed = request
        for name in wanted {
            guard let value = values[name] else {
                throw APIError.conflict("the secret env entry \(name) of project \(request.project) has no value any more")
            }
            revealed.environment[name] = value
        }
        revealed.masked = wanted.compactMap { values[$0] }
        return revealed
    }

    /// The values of the secret env entries `names` of the run's project, for a Workflow's Secret.
    func secretValues(of run: RunRecord, names: [String]) async throws -> [String: String] {
        guard !names.isEmpty else { return [:] }
        return try await secrets(run.project).filter { names.contains($0.key) }
    }

    /// What an attempt runs: the plan's command and env plus the `TRELLIS_*` variables of DESIGN.md.
    static func request(run: RunRecord, task: RunPlan.Task, attempt: Int, grace: Int64) -> ExecutionRequest {
        let environment = run.plan.environment(
            of: task, project: run.project, run: run.id, attempt: String(attempt), executionDate: run.executionDate, runner: run.startedBy)
        return ExecutionRequest(
            id: ExecutionID.make(run: run.id, task: task.name, attempt: attempt), project: run.project, pipeline: run.pipeline, run: run.id,
            task: task.name,
            attempt: attempt, command: task.command, environment: environment, image: task.image, workingDirectory: task.workingDirectory,
            replicas: task.replicas, timeoutMilliseconds: task.timeoutMilliseconds, stopGraceMilliseconds: grace,
            keepWorkingDirectory: run.debug, mounts: task.mounts.isEmpty ? nil : task.mounts,
            hostPaths: run.plan.hostPaths, network: run.plan.network,
            cpuLimitMillicores: task.resources?.cpu.flatMap {
                try? ResourceQuantity.range($0, field: "cpu", parse: ResourceQuantity.cpu).upperBound
            },
            memoryLimitBytes: task.resources?.memory.flatMap {
                try? ResourceQuantity.range($0, field: "memory", parse: ResourceQuantity.memory).upperBound
            }
        )
    }
}

/// An attempt's execution id: `<run id>-<task>-<attempt>`; the run id (a UUID) is its first 36 characters.
enum ExecutionID {
    static func make(run: String, task: String, attempt: Int) -> String { "\(run)-\(task)-\(attempt)" }

    static func run(of execution: String) -> String? {
        let run = String(execution.prefix(36))
        return UUID(uuidString: run) == nil ? nil : run
    }
}
