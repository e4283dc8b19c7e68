import Foundation
import ServiceContracts
import TrellisCore
import TrellisHTTP

/// Runs of projects bound to a Kubernetes cluster: the run is compiled to one Argo Workflow, submitted once, and
/// Argo moves it (DAG, retries, deadlines); the engine follows the Workflow and writes its progress into the run —
/// task states, and each pod as an attempt (a retry is the next attempt). Cancel shuts the Workflow down; resume
/// retries it as `argo retry` does.
/// What one reading of a Workflow changed: the scheduled run that ended, and the attempts that did.
struct WorkflowStep: Sendable {
    var scheduledEnded: (project: String, pipeline: String)?
    var ended: [AttemptRecord]
}

extension RunEngine {
    /// A pending run on Kubernetes starts: it is submitted after this transaction. Cancelled before, it ends here.
    static func startOnCluster(_ run: inout RunRecord, now: Int64) -> Outcome {
        guard run.state == .pending else { return Outcome() }
        if run.stopping != nil {
            for name in run.tasks.keys { run.update(task: name) { $0.state = .cancelled } }
            finish(&run, .cancelled, now: now)
            return Outcome(scheduledEnded: scheduledEnded(run))
        }
        run.state = .running
        run.reason = nil
        run.startedAt = now
        return Outcome(submit: true)
    }

    /// Sends the run's Workflow to its cluster. Sent again after a restart, the cluster keeps the one it has (one
    /// name per run); refused, the run fails with the cluster's reason (resume sends it again).
    func submit(_ id: String) async {
        guard let run = try? await repository.run(id), let cluster = run.cluster else { return }
        logger.info("submitting a Workflow", metadata: ["run": .string(id), "cluster": .string(cluster)])
        do {
            let registries = try await templates.registryCredentials(ofProject: run.project)
            let workflow = try ArgoWorkflow.manifest(
                run.plan,
                run: ArgoWorkflow.Run(
                    id: run.id, project: run.project, runner: run.startedBy, executionDate: run.executionDate,
                    namespace: ArgoWorkflow.namespace(ofProject: run.project),
                    pullSecrets: registries.isEmpty ? [] : [WorkflowSubmission.pullSecret]))
            try await executor.submit(
                WorkflowSubmission(
                    run: id, project: run.project, cluster: cluster, workflow: workflow, registries: registries,
                    secretEnvironment: try await secretValues(of: run, names: run.plan.secretEnvironment ?? [])))
        } catch {
            logger.error("cannot submit a Workflow", metadata: ["run": .string(id), "error": .string("\(error)")])
            await fail(id, reason: "the Workflow could not be submitted to cluster \(cluster): \(error)")
        }
    }

    /// The resumed run's Workflow runs its failed nodes (and those of `restarting`) again; never submitted (or gone),
    /// it is submitted.
    func retryWorkflow(_ id: String, restarting: [String]) async {
        let retried: Bool
        do {
            retried = try await executor.retryWorkflow(ofRun: id, restarting: restarting)
        } catch {
            resumeReachedCluster(id)
            logger.error("cannot retry a Workflow", metadata: ["run": .string(id), "error": .string("\(error)")])
            return await fail(id, reason: "the Workflow could not be retried: \(error)")
        }
        resumeReachedCluster(id)
        if retried { await syncWorkflow(id) } else { await submit(id) }
    }

    /// From now on the Workflow's state is the resumed run's.
    private func resumeReachedCluster(_ id: String) {
        resuming.remove(id)
        if resumes.count > 10_000 { resumes.removeAll() }
        resumes[id, default: 0] += 1
    }

    /// The cluster refused the run: it fails with the reason, its unfinished tasks cancelled.
    private func fail(_ id: String, reason: String) async {
        let now = nowMilliseconds
        let ended = try? await repository.update(id) { run -> (project: String, pipeline: String)? in
            guard !run.state.isFinished else { return nil }
            for (name, task) in run.tasks where !task.state.isFinished { run.update(task: name) { $0.state = .cancelled } }
            run.reason = reason
            Self.finish(&run, .failed, now: now)
            return Self.scheduledEnded(run)
        }
        if let schedule = ended ?? nil { await wakeSchedules([schedule]) }
    }

    /// Workflows changed (their cluster's watch said so): read side by side, a few at a time (each waits on the
    /// cluster and the database, not on this engine).
    func workflowsChanged(_ runs: [String]) async {
        await withTaskGroup(of: Void.self) { group in
            for (index, id) in runs.enumerated() {
                if index >= 8 { await group.next() }
                group.addTask { await self.syncWorkflow(id) }
            }
        }
    }

    /// Reads the run's Workflow and writes its progress into the run. One read of a run at a time: a notice that comes
    /// during a read makes it read again after, so an older state is never written after a newer one.
    func syncWorkflow(_ id: String) async {
        guard !syncing.contains(id) else {
            changedWhileSyncing.insert(id)
            return
        }
        syncing.insert(id)
        repeat {
            changedWhileSyncing.remove(id)
            await syncWorkflowOnce(id)
        } while changedWhileSyncing.contains(id)
        syncing.remove(id)
    }

    /// One read of the run's Workflow into the run; submits it when the cluster has none (a restart between the run's
    /// start and its submission) and asks again for a stop that has not taken.
    private func syncWorkflowOnce(_ id: String) async {
        guard !resuming.contains(id), let run = try? await repository.run(id), run.cluster != nil, !run.state.isFinished else { return }
        guard run.state == .running else { return await advance(id) }
        let resumesBefore = resumes[id]
        let progress: WorkflowProgress?
        do {
            progress = try await executor.workflow(ofRun: id)
        } catch {
            logger.warning("cannot read a Workflow", metadata: ["run": .string(id), "error": .string("\(error)")])
            return
        }
        guard let progress else { return await submit(id) }
        // Read before the retry of a resume reached the cluster: not the resumed run's state.
        guard !resuming.contains(id), resumes[id] == resumesBefore else { return }
        if run.stopping != nil, progress.phase == .running { try? await executor.stopWorkflow(ofRun: id) }
        let now = nowMilliseconds
        do {
            let outcome = try await repository.update(id) { run -> WorkflowStep? in
                guard !run.state.isFinished else { return nil }
                let before = run.attempts.map(\.state.isFinished)
                Self.apply(progress, to: &run, now: now)
                let ended = run.changes.attempts.sorted().filter { position in
                    run.attempts[position].state.isFinished && !(before.indices.contains(position) && before[position])
                }.map { run.attempts[$0] }
                return WorkflowStep(scheduledEnded: Self.scheduledEnded(run), ended: ended)
            }
            guard let step = outcome ?? nil else { return }
            // Pods' durations; their start latency is not known here (Argo's node starts when its pod is made).
            metrics.attemptsEnded(step.ended, startLatency: false)
            if let schedule = step.scheduledEnded { await wakeSchedules([schedule]) }
        } catch {
            logger.error("cannot record a Workflow's progress", metadata: ["run": .string(id), "error": .string("\(error)")])
        }
    }

    /// The Workflow's progress into the run: each task's state, and its attempts of the current round (Argo's
    /// first pod of the round is the attempt numbered `roundStart`; earlier rounds' attempts are kept as they are).
    /// A finished Workflow ends the run; tasks it never reached end cancelled or upstream-failed.
    static func apply(_ progress: WorkflowProgress, to run: inout RunRecord, now: Int64) {
        var recorded: [String: Int] = [:]
        for (index, attempt) in run.attempts.enumerated() { recorded["\(attempt.task)#\(attempt.number)"] = index }
        let reported = Dictionary(grouping: progress.attempts, by: \.task)
        for task in run.plan.tasks {
            guard var record = run.tasks[task.name] else { continue }
            for attempt in reported[task.name] ?? [] {
                let number = record.roundStart + attempt.number - 1
                let index = recorded["\(task.name)#\(number)"]
                var entry =
                    index.map { run.attempts[$0] }
                    ?? AttemptRecord(
                        task: task.name, number: number,
                        executionID: attempt.nodes.first ?? ExecutionID.make(run: run.id, task: task.name, attempt: number),
                        state: .running, createdAt: now, invocation: invocation(run: run, task: task, attempt: number))
                entry.state = attempt.state
                entry.exitCode = attempt.exitCode
                entry.reason = attempt.message
                entry.startedAt = attempt.startedAt?.milliseconds ?? entry.startedAt
                entry.finishedAt = attempt.finishedAt?.milliseconds
                if let index {
                    if run.attempts[index] != entry { run.update(attemptAt: index) { $0 = entry } }
                } else {
                    recorded["\(task.name)#\(number)"] = run.attempts.count
                    run.append(entry)
                }
                record.attempts = max(record.attempts, number)
            }
            if let state = progress.tasks[task.name] {
                record.state = state
            } else if progress.phase != .running, !record.state.isFinished {
                record.state = progress.phase == .cancelled ? .cancelled : .upstreamFailed
            }
            let updated = record
            run.update(task: task.name) { $0 = updated }
        }
        switch progress.phase {
        case .running: return
        case .succeeded: finish(&run, .succeeded, now: now)
        case .cancelled:
            run.reason = run.reason ?? "cancelled"
            finish(&run, .cancelled, now: now)
        case .failed:
            run.reason = run.reason ?? progress.message.map { "the Workflow failed: \($0)" }
            finish(&run, .failed, now: now)
        }
        run.stopping = nil
    }

    /// The command, environment and image of a Kubernetes attempt, as a local one shows them.
    static func invocation(run: RunRecord, task: RunPlan.Task, attempt: Int) -> String {
        let request = request(run: run, task: task, attempt: attempt, grace: 0)
        return Invocation(command: request.command, environment: request.environment, image: request.image, replicas: request.replicas)
            .json
    }
}
