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
/// - **paused**: no new ticks are recorded; ticks already pending (an explicit backfill among them) still launch.
public enum SchedulePlanner {
    public enum RecordState: String, Codable, Sendable, CaseIterable {
        /// Due, waiting to launch (cube's comed).
        case pending
        /// Its run is being created (under the run id the record already holds).
        case launching
        /// Its run was created (cube's created).
        case launched
        case skipped
        case expired
        /// Its run could not be created (the pipeline or a template is gone, a variable does not render); like a
        /// failed run it blocks `dependsOnPast` until it is retried or skipped.
        case failed

        /// Launching or launched: the tick has (or is about to have) a run.
        public var hasRun: Bool { self == .launching || self == .launched }
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
        public var paused: Bool

        public init(
            cron: Cron, zone: TimeZone, startTime: Date, catchup: Bool = true, dependsOnPast: Bool = false, maxActiveRuns: Int = 1,
            expiredLimit: Int = 0, minimumInterval: TimeInterval = 600, paused: Bool = false
        ) {
            self.cron = cron
            self.zone = zone
            self.startTime = startTime
            self.catchup = catchup
            self.dependsOnPast = dependsOnPast
            self.maxActiveRuns = maxActiveRuns
            self.expiredLimit = expiredLimit
            self.minimumInterval = minimumInterval
            self.paused = paused
        }
    }

    public struct Decision: Sendable, Equatable {
        /// New records, oldest first, with their state and (for skipped ones) the reason.
        public var created: [(date: Date, state: RecordState, reason: String?)] = []
        /// Records (new or old) whose run starts now, oldest first.
        public var launch: [Date] = []
        /// Pending records that expire now, with the reason.
        public var expire: [Date] = []
        /// The next tick after now, to wake up for (nil while paused).
        public var nextTick: Date?
        /// The newest tick considered: the next decision looks for ticks after it.
        public var cursor: Date?

        public init() {}

        public static func == (lhs: Decision, rhs: Decision) -> Bool {
            lhs.created.map { "\($0.date)|\($0.state)|\($0.reason ?? "")" }
                == rhs.created.map { "\($0.date)|\($0.state)|\($0.reason ?? "")" }
                && lhs.launch == rhs.launch && lhs.expire == rhs.expire && lhs.nextTick == rhs.nextTick && lhs.cursor == rhs.cursor
        }
    }

    /// At most this many ticks are recorded in one decision (a long-paused schedule catches up over several).
    public static let maximumNewTicks = 1_000

    /// `cursor` is the newest tick an earlier decision considered (nil: the newest record's); the schedule's records
    /// need only be those still pending, those with an unfinished run, and the newest few.
    public static func decide(policy: Policy, records: [Record], cursor: Date? = nil, now: Date) -> Decision {
        var decision = Decision()
        var all = records.sorted { $0.executionDate < $1.executionDate }
        let after = max(cursor ?? all.last?.executionDate ?? .distantPast, policy.startTime.addingTimeInterval(-1))
        var due: [Date] = []
        if !policy.paused {
            var tick = after
            while due.count < maximumNewTicks, let next = policy.cron.next(after: tick, in: policy.zone), next <= now {
                due.append(next)
                tick = next
            }
        }
        decision.cursor = due.last ?? cursor
        decision.created = ticks(due, policy: policy, catchup: policy.catchup, records: all)
        all.append(contentsOf: decision.created.map { Record(executionDate: $0.date, state: $0.state) })
        all.sort { $0.executionDate < $1.executionDate }
        // Expiry: only the newest `expiredLimit` pending ticks wait.
        if policy.expiredLimit > 0 {
            let pending = all.filter { $0.state == .pending }
            for record in pending.dropLast(policy.expiredLimit) {
                decision.expire.append(record.executionDate)
                if let index = all.firstIndex(of: record) { all[index].state = .expired }
            }
        }
        // Launch, oldest first, within maxActiveRuns and dependsOnPast.
        var active = all.count { $0.state.hasRun && !($0.runState?.isFinished ?? false) }
        for (index, record) in all.enumerated() where record.state == .pending {
            guard active < policy.maxActiveRuns else { break }
            if policy.dependsOnPast {
                if let earlier = all[..<index].last(where: { $0.state.hasRun || $0.state == .failed }) {
                    guard earlier.state.hasRun, earlier.runState == .succeeded else { break }
                }
            }
            decision.launch.append(record.executionDate)
            all[index].state = .launched
            all[index].runState = .pending
            active += 1
            // With dependsOnPast the next tick waits for this one's run to succeed.
            if policy.dependsOnPast { break }
        }
        // A long-paused schedule catches up over several decisions: the next one right away.
        decision.nextTick =
            policy.paused ? nil : due.count == maximumNewTicks ? now : policy.cron.next(after: max(now, after), in: policy.zone)
        return decision
    }

    /// The records an explicit backfill of `from...to` makes: every tick in it without a record, pending, except
    /// those closer than the minimum interval to the previous one (skipped). `catchup` does not apply: the user asked
    /// for these ticks. Nil when there are more than ``maximumNewTicks``.
    public static func backfill(policy: Policy, from: Date, to: Date, records: [Record]) -> [(
        date: Date, state: RecordState, reason: String?
    )]? {
        let existing = Set(records.map(\.executionDate))
        var due: [Date] = []
        var tick = from.addingTimeInterval(-1)
        while let next = policy.cron.next(after: tick, in: policy.zone), next <= to {
            if !existing.contains(next) { due.append(next) }
            guard due.count <= maximumNewTicks else { return nil }
            tick = next
        }
        return ticks(due, policy: policy, catchup: true, records: records.filter { $0.executionDate < from })
    }

    /// The state each due tick is recorded in: closer than the minimum interval to the previous kept tick, or (without
    /// catchup) older than the newest due one, it is skipped, with the reason.
    static func ticks(_ due: [Date], policy: Policy, catchup: Bool, records: [Record]) -> [(
        date: Date, state: RecordState, reason: String?
    )] {
        var previous = records.last { $0.state != .skipped && $0.state != .expired && $0.executionDate < (due.first ?? .distantFuture) }?
            .executionDate
        var created: [(date: Date, state: RecordState, reason: String?)] = []
        for (index, tick) in due.enumerated() {
            var state = RecordState.pending
            var reason: String?
            if let previous, tick.timeIntervalSince(previous) < policy.minimumInterval {
                state = .skipped
                reason =
                    "closer than the minimum interval of \(DurationText.format(milliseconds: Int64(policy.minimumInterval * 1000))) to the previous tick"
            } else if !catchup, index < due.count - 1 {
                state = .skipped
                reason = "catchup is off and a newer tick is due"
            }
            if state == .pending { previous = tick }
            created.append((tick, state, reason))
        }
        return created
    }
}
