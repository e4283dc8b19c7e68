/// Where a run's tasks are, kept so that deciding what happens next costs what changed since the last decision, not
/// the run's size: each task's count of upstreams still to let it run and of upstreams that failed, the pending tasks
/// ready to start (by their rank in the dependency order), those waiting for a retry's backoff, and counts of running,
/// unfinished and failed tasks. Every change of a task's state goes through ``set(_:_:notBefore:)``.
///
/// Rules (``RunPlanner``): a task starts when all its upstreams succeeded or were skipped, and no earlier than its
/// retry time; a task marked `skip` is skipped at that moment and its downstream goes on; a task with an upstream that
/// failed, timed out, was cancelled or is itself upstream-failed becomes `upstream_failed`; at most `parallelism` tasks
/// run at once, started in dependency order. A stopping run (cancel, run timeout) starts nothing and cancels what has
/// not started. The run ends when no task can change any more.
public struct RunProgress: Sendable {
    public let index: PlanIndex
    private let skip: [Bool]
    private let parallelism: Int?
    public private(set) var states: [TaskState]
    private var notBefore: [Int64?]
    /// Upstreams that have not succeeded or been skipped (an unknown upstream never has).
    private var unsatisfied: [Int]
    /// Upstreams in a finished state that does not let downstream run.
    private var failedUpstreams: [Int]
    /// Pending tasks whose upstreams all let them run, to be started in rank order (a heap of ranks; an entry whose task
    /// is no longer ready is dropped when it comes up).
    private var isReady: [Bool]
    private var queue = RankHeap()
    /// Ready tasks marked `skip`, settled at the next decision.
    private var skips: [Int] = []
    /// Pending tasks with a failed upstream, settled as upstream-failed at the next decision.
    private var doomed: [Int] = []
    /// Ready tasks whose retry backoff has not passed yet, and until when.
    private var backingOff: [Int: Int64] = [:]
    public private(set) var running = 0
    public private(set) var unfinished = 0
    /// Finished tasks that do not let downstream run: the run fails when it ends with any.
    private var blocking = 0

    public init(plan: RunPlan, index: PlanIndex, states: [String: TaskState], notBefore: [String: Int64] = [:]) {
        self.index = index
        skip = plan.tasks.map(\.skip)
        parallelism = plan.parallelism
        self.states = index.names.map { states[$0] ?? .pending }
        self.notBefore = index.names.map { notBefore[$0] }
        unsatisfied = index.unknownUpstreams
        failedUpstreams = [Int](repeating: 0, count: index.names.count)
        isReady = [Bool](repeating: false, count: index.names.count)
        for position in index.names.indices {
            let state = self.states[position]
            if state == .running { running += 1 }
            if !state.isFinished { unfinished += 1 }
            if Self.blocks(state) { blocking += 1 }
            for upstream in index.upstreams[position] {
                if !self.states[upstream].letsDownstreamRun { unsatisfied[position] += 1 }
                if Self.blocks(self.states[upstream]) { failedUpstreams[position] += 1 }
            }
        }
        for position in index.order { place(position) }
    }

    /// A task's state changed (an attempt started or ended, a retry is due at `notBefore`, a resume reset it).
    public mutating func set(_ position: Int, _ state: TaskState, notBefore: Int64? = nil) {
        let old = states[position]
        self.notBefore[position] = state == .pending ? notBefore : nil
        backingOff[position] = nil
        if old != state {
            states[position] = state
            running += (state == .running ? 1 : 0) - (old == .running ? 1 : 0)
            unfinished += (state.isFinished ? 0 : 1) - (old.isFinished ? 0 : 1)
            if Self.blocks(old) != Self.blocks(state) {
                let change = Self.blocks(state) ? 1 : -1
                blocking += change
                for dependent in index.dependents[position] {
                    failedUpstreams[dependent] += change
                    place(dependent)
                }
            }
            if old.letsDownstreamRun != state.letsDownstreamRun {
                let change = state.letsDownstreamRun ? -1 : 1
                for dependent in index.dependents[position] {
                    unsatisfied[dependent] += change
                    place(dependent)
                }
            }
        }
        isReady[position] = false
        place(position)
    }

    /// Puts the task where its state says: ready, doomed, or neither.
    private mutating func place(_ position: Int) {
        guard states[position] == .pending else {
            isReady[position] = false
            backingOff[position] = nil
            return
        }
        if failedUpstreams[position] > 0 { doomed.append(position) }
        let ready = unsatisfied[position] == 0
        guard ready != isReady[position] else { return }
        isReady[position] = ready
        if !ready {
            backingOff[position] = nil
        } else if skip[position] {
            skips.append(position)
        } else {
            queue.push(index.ranks[position], position)
        }
    }

    private static func blocks(_ state: TaskState) -> Bool { state.isFinished && !state.letsDownstreamRun }

    /// What happens now, applied here: tasks settled without running (skipped, upstream-failed, cancelled when
    /// `stopping`) and tasks started (running) — a caller that does not start one of `start` sets it back to pending.
    public mutating func decide(now: Int64, stopping: RunState? = nil) -> RunPlanner.Decision {
        var decision = RunPlanner.Decision()
        if stopping != nil {
            for position in index.order where states[position] == .pending {
                decision.settle[index.names[position]] = .cancelled
                set(position, .cancelled)
            }
        }
        while !skips.isEmpty || !doomed.isEmpty {
            while let position = doomed.popLast() {
                guard states[position] == .pending, failedUpstreams[position] > 0 else { continue }
                decision.settle[index.names[position]] = .upstreamFailed
                set(position, .upstreamFailed)
            }
            while let position = skips.popLast() {
                guard states[position] == .pending, isReady[position] else { continue }
                decision.settle[index.names[position]] = .skipped
                set(position, .skipped)
            }
        }
        for (position, instant) in backingOff where instant <= now {
            backingOff[position] = nil
            queue.push(index.ranks[position], position)
        }
        while let position = queue.peek() {
            guard states[position] == .pending, isReady[position], backingOff[position] == nil else {
                queue.pop()
                continue
            }
            if let instant = notBefore[position], instant > now {
                queue.pop()
                backingOff[position] = instant
                continue
            }
            if let parallelism, running >= parallelism { break }
            queue.pop()
            decision.start.append(index.names[position])
            set(position, .running)
        }
        decision.wakeAt = backingOff.values.min()
        if unfinished == 0 { decision.finished = stopping ?? (blocking == 0 ? .succeeded : .failed) }
        return decision
    }
}

/// A min-heap of (rank, position).
struct RankHeap: Sendable {
    private var items: [(rank: Int, position: Int)] = []

    func peek() -> Int? { items.first?.position }

    mutating func push(_ rank: Int, _ position: Int) {
        items.append((rank, position))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].rank < items[parent].rank else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() {
        guard !items.isEmpty else { return }
        items.swapAt(0, items.count - 1)
        items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count, items[left].rank < items[smallest].rank { smallest = left }
            if right < items.count, items[right].rank < items[smallest].rank { smallest = right }
            guard smallest != parent else { return }
            items.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
