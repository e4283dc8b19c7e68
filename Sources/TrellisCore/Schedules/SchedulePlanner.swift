import Foundation

/// Decides what a pipeline's schedule does at an instant: which ticks become records, which records launch runs,
/// which are skipped or expire. Pure, so every policy is tested on an injected clock; the scheduler service applies
/// the decision in one transaction.
///
/// Policies (DESIGN.md's schedule fields; cube-studio's names in brackets):
/// - **backfill** (`catchup: true`, cube's 补录): every tick from `startTime` to now is recorded and launched, oldest first.
/// - **ignore** (`catchup: false`, 忽略): of the ticks that came due together, only the newest is kept; the older ones
///   are recorded `skipped`.
/// - **dependsOnPast** (依赖): a tick launches only once the run of the previous launched tick succeeded; a failed
///   one blocks until it is resumed to success (or its record is skipped by a user).
/// - **maxActiveRuns** (并发限制): at most N runs launched by the schedule unfinished at once. Manual runs do not count:
///   a developer's debug run must not hold the schedule back, and the schedule must not block a manual run.
/// - **expiredLimit** (过期淘汰): with N > 0, only the newest N pending ticks wait; older ones become `expired`.
/// - **minimum interval** (cube's PIPELINE_TASK_CRON_RESOLUTION): a tick closer than it to the previous recorded tick
///   is recorded `skipped`.
public enum SchedulePlanner {
    public enum RecordState: String, Codable, Sendable, CaseIterable {
        /// Due, waiting to launch (cube's comed).
        case pending
        /// Its run was created (cube's created).
        case launched
        case skipped
        case expired
    }

    /// A schedule record as the planner sees it.
    public struct Record: Sendable, Equatable {
        public var executionDate: Date
        public var state: RecordState
        /// The state of its run, once launched.
        public var runState: RunState?

        public init(executionDate: Date, state: RecordState, runState: RunState? = nil) {
            self.executionDate = executionDate
            self.state = state
            self.runState = runState
        }
    }

    public struct Policy: Sendable, Equatable {
        public var cron: Cron
        public var zone: TimeZone
        public var startTime: Date
        public var catchup: Bool
        public var dependsOnPast: Bool
        public var maxActiveRuns: Int
        public var expiredLimit: Int
        public var minimumInterval: TimeInterval

        public init(
            cron: Cron, zone: TimeZone, startTime: Date, catchup: Bool = true, dependsOnPast: Bool = false, maxActiveRuns: Int = 1,
            expiredLimit: Int = 0, minimumInterval: TimeInterval = 600
        ) {
            self.cron = cron
            self.zone = zone
            self.startTime = startTime
            self.catchup = catchup
            self.dependsOnPast = dependsOnPast
            self.maxActiveRuns = maxActiveRuns
            self.expiredLimit = expiredLimit
            self.minimumInterval = minimumInterval
        }
    }

    public struct Decision: Sendable, Equatable {
        /// New records, oldest first, with their state and (for skipped ones) the reason.
        public var created: [(date: Date, state: RecordState, reason: String?)] = []
        /// Records (new or old) whose run starts now, oldest first.
        public var launch: [Date] = []
        /// Pending records that expire now, with the reason.
        public var expire: [Date] = []
        /// The next tick after now, to wake up for.
        public var nextTick: Date?

        public init() {}

        public static func == (lhs: Decision, rhs: Decision) -> Bool {
            lhs.created.map { "\($0.date)|\($0.state)|\($0.reason ?? "")" }
                == rhs.created.map { "\($0.date)|\($0.state)|\($0.reason ?? "")" }
                && lhs.launch == rhs.launch && lhs.expire == rhs.expire && lhs.nextTick == rhs.nextTick
        }
    }

    /// At most this many ticks are recorded in one decision (a long-paused schedule catches up over several).
    public static let maximumNewTicks = 1_000

    public static func decide(policy: Policy, records: [Record], now: Date) -> Decision {
        var decision = Decision()
        var all = records.sorted { $0.executionDate < $1.executionDate }
        // New ticks: after the newest record (or from the start time), up to now.
        var cursor = all.last?.executionDate ?? policy.startTime.addingTimeInterval(-1)
        var due: [Date] = []
        while due.count < maximumNewTicks, let tick = policy.cron.next(after: cursor, in: policy.zone), tick <= now {
            due.append(tick)
            cursor = tick
        }
        var previous = all.last { $0.state != .skipped && $0.state != .expired }?.executionDate
        for (index, tick) in due.enumerated() {
            var state = RecordState.pending
            var reason: String?
            if let previous, tick.timeIntervalSince(previous) < policy.minimumInterval {
                state = .skipped
                reason =
                    "closer than the minimum interval of \(DurationText.format(milliseconds: Int64(policy.minimumInterval * 1000))) to the previous tick"
            } else if !policy.catchup, index < due.count - 1 {
                state = .skipped
                reason = "catchup is off and a newer tick is due"
            }
            if state == .pending { previous = tick }
            decision.created.append((tick, state, reason))
            all.append(Record(executionDate: tick, state: state))
        }
        // Expiry: only the newest `expiredLimit` pending ticks wait.
        if policy.expiredLimit > 0 {
            let pending = all.filter { $0.state == .pending }
            for record in pending.dropLast(policy.expiredLimit) {
                decision.expire.append(record.executionDate)
                if let index = all.firstIndex(of: record) { all[index].state = .expired }
            }
        }
        // Launch, oldest first, within maxActiveRuns and dependsOnPast.
        var active = all.count { $0.state == .launched && !($0.runState?.isFinished ?? false) }
        for (index, record) in all.enumerated() where record.state == .pending {
            guard active < policy.maxActiveRuns else { break }
            if policy.dependsOnPast, let earlier = all[..<index].last(where: { $0.state == .launched }) {
                guard earlier.runState == .succeeded else { break }
            }
            if policy.dependsOnPast, all[..<index].contains(where: { $0.state == .pending }) { break }
            decision.launch.append(record.executionDate)
            all[index].state = .launched
            all[index].runState = .pending
            active += 1
        }
        decision.nextTick = policy.cron.next(after: max(now, cursor), in: policy.zone)
        return decision
    }
}
