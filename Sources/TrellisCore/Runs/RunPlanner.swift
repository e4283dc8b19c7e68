/// Decides what a run does next from its plan and where its tasks are; pure, so every rule is tested alone.
///
/// Rules: a task starts when all its upstreams succeeded or were skipped, and no earlier than its retry time; a
/// task marked `skip` is skipped at that moment and its downstream goes on; a task with an upstream that failed,
/// timed out, was cancelled or is itself upstream-failed becomes `upstream_failed`; at most `parallelism` tasks
/// run at once, started in dependency order. A stopping run (cancel, run timeout) starts nothing and cancels
/// what has not started. The run ends when no task can change any more.
public enum RunPlanner {
    /// Where one task of a run is.
    public struct TaskProgress: Sendable, Equatable {
        public var state: TaskState
        /// A pending task waiting for its retry backoff: not before this instant (Unix milliseconds).
        public var notBefore: Int64?

        public init(state: TaskState, notBefore: Int64? = nil) {
            self.state = state
            self.notBefore = notBefore
        }
    }

    public struct Decision: Sendable, Equatable {
        /// Tasks to start now, in dependency order.
        public var start: [String] = []
        /// Tasks that end without running, with the state they end in.
        public var settle: [String: TaskState] = [:]
        /// The run's final state, when it is over.
        public var finished: RunState?
        /// The earliest retry instant still ahead, to wake up for.
        public var wakeAt: Int64?

        public init() {}
    }

    /// `stopping`: the state the run ends in once nothing runs any more (cancelled, or failed on a run timeout).
    public static func decide(plan: RunPlan, progress: [String: TaskProgress], now: Int64, stopping: RunState? = nil) -> Decision {
        var decision = Decision()
        var states = progress.mapValues(\.state)
        var running = states.values.count { $0 == .running }
        for name in plan.topologicalOrder {
            guard let task = plan.task(named: name), let current = progress[name], current.state == .pending else { continue }
            if stopping != nil {
                decision.settle[name] = .cancelled
                states[name] = .cancelled
                continue
            }
            let upstream = task.dependsOn.map { states[$0] ?? .pending }
            if upstream.contains(where: { $0.isFinished && !$0.letsDownstreamRun }) {
                decision.settle[name] = .upstreamFailed
                states[name] = .upstreamFailed
                continue
            }
            guard upstream.allSatisfy(\.letsDownstreamRun) else { continue }
            if task.skip {
                decision.settle[name] = .skipped
                states[name] = .skipped
                continue
            }
            if let notBefore = current.notBefore, notBefore > now {
                decision.wakeAt = min(decision.wakeAt ?? notBefore, notBefore)
                continue
            }
            if let parallelism = plan.parallelism, running >= parallelism { continue }
            decision.start.append(name)
            states[name] = .running
            running += 1
        }
        if states.values.allSatisfy(\.isFinished) {
            if let stopping {
                decision.finished = stopping
            } else {
                decision.finished = states.values.allSatisfy(\.letsDownstreamRun) ? .succeeded : .failed
            }
        }
        return decision
    }

    /// The tasks a resume runs again: every task that did not succeed (or was skipped) — or, `from` a chosen task,
    /// it and everything downstream of it, succeeded or not. Succeeded tasks outside that set never run again.
    public static func tasksToRerun(plan: RunPlan, states: [String: TaskState], from task: String? = nil) -> Set<String> {
        if let task { return plan.downstream(of: task) }
        return Set(plan.tasks.map(\.name).filter { !(states[$0] ?? .pending).letsDownstreamRun })
    }
}
