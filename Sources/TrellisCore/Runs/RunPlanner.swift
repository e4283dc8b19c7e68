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

    /// Decides from scratch (``RunProgress`` decides again after each change, at the cost of what changed).
    /// `stopping`: the state the run ends in once nothing runs any more (cancelled, or failed on a run timeout).
    public static func decide(plan: RunPlan, progress: [String: TaskProgress], now: Int64, stopping: RunState? = nil) -> Decision {
        var run = RunProgress(
            plan: plan, index: PlanIndex(plan), states: progress.mapValues(\.state), notBefore: progress.compactMapValues(\.notBefore))
        return run.decide(now: now, stopping: stopping)
    }

    /// The tasks a resume runs again: every task that did not succeed (or was skipped) — or, `from` a chosen task,
    /// it and everything downstream of it, succeeded or not. Succeeded tasks outside that set never run again.
    public static func tasksToRerun(index: PlanIndex, states: [String: TaskState], from task: String? = nil) -> Set<String> {
        if let task {
            guard let position = index.positions[task] else { return [] }
            return Set(index.downstream(of: position).map { index.names[$0] })
        }
        return Set(index.names.filter { !(states[$0] ?? .pending).letsDownstreamRun })
    }
}
