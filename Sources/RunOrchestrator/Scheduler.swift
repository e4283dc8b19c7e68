import Foundation
import Logging
import ServiceContracts
import ServiceLifecycle
import TrellisCore
import TrellisHTTP
import TrellisStore

/// The cron scheduler: follows the pipeline store's schedule feed into `orchestrator_schedules`, lets the planner
/// decide every due schedule, and creates the runs of the ticks that launch, as each schedule's owner. Every
/// orchestrator process runs one; the repository's row claims keep them from deciding one schedule twice.
actor Scheduler {
    let schedules: ScheduleRepository
    let pipelines: any PipelineClient
    let identity: any IdentityClient
    let launcher: RunLauncher
    let minimumInterval: TimeInterval
    let logger: Logger
    let now: @Sendable () -> Date
    let metrics: RunMetrics
    /// The newest feed revision applied by this process.
    private var feedRevision: Int64 = 0
    /// Callers acting as schedule owners, with when to ask for a fresh token.
    private var owners: [String: (caller: Caller, renewAt: Date)] = [:]

    static let feedPage = 500
    static let claimBatch = 100
    /// A tick left `launching` this long is taken to belong to a process that stopped; its run is created again
    /// (a no-op when the run exists).
    static let stalledAfter: Int64 = 30_000
    static let ownerTokenReuse: TimeInterval = 300

    init(
        schedules: ScheduleRepository, pipelines: any PipelineClient, identity: any IdentityClient, launcher: RunLauncher,
        minimumInterval: TimeInterval, logger: Logger, now: @escaping @Sendable () -> Date, metrics: RunMetrics
    ) {
        self.schedules = schedules
        self.pipelines = pipelines
        self.identity = identity
        self.launcher = launcher
        self.minimumInterval = minimumInterval
        self.logger = logger
        self.now = now
        self.metrics = metrics
    }

    /// Applies the feed's changes since the last call (a just-saved schedule is known after this).
    func sync() async throws {
        while true {
            let changes = try await pipelines.scheduleChanges(after: feedRevision, limit: Self.feedPage)
            for change in changes {
                do {
                    try await schedules.apply(change, now: now().milliseconds)
                } catch let error as ValidationError {
                    logger.error(
                        "ignoring a schedule the scheduler cannot read",
                        metadata: ["project": .string(change.project), "pipeline": .string(change.pipeline), "error": .string("\(error)")])
                }
                feedRevision = change.revision
            }
            if changes.count < Self.feedPage { return }
        }
    }

    /// One pass: follow the feed, create the runs of stalled launches, decide every due schedule and create the runs
    /// of the ticks that launch.
    func pass() async throws {
        let started = ContinuousClock.now
        try await sync()
        let instant = now().milliseconds
        await create(try await schedules.stalledLaunches(before: instant - Self.stalledAfter, limit: Self.claimBatch))
        var (decided, launched) = (0, 0)
        // A batch's runs are prepared (reads) while the previous batch's are stored and started (writes), in a child
        // task: cancelled with the pass (at shutdown), but finished before a failed decision ends the pass, so that no
        // stored run is left unstarted.
        let failure: (any Error)? = await withTaskGroup(of: Void.self) { group in
            var storing = false
            do {
                while true {
                    let batch = try await schedules.decideDue(now: instant, limit: Self.claimBatch, minimumInterval: minimumInterval)
                    decided += batch.lags.count
                    launched += batch.launches.count
                    metrics.schedulesDecided(lateBy: batch.lags)
                    let prepared = await prepare(batch.launches)
                    if storing { await group.next() }
                    group.addTask { await self.store(prepared) }
                    storing = true
                    if batch.lags.count < Self.claimBatch { return nil }
                }
            } catch {
                return error
            }
        }
        if let failure { throw failure }
        if decided > 0 {
            let elapsed = ContinuousClock.now - started
            logger.debug(
                "scheduler pass",
                metadata: [
                    "decided": .stringConvertible(decided), "launched": .stringConvertible(launched),
                    "milliseconds": .stringConvertible(
                        Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000),
                ])
        }
    }

    /// Creates the runs of `launching` ticks under the run ids their records hold, and starts them: each run's plan is
    /// prepared (reads only, several at once), the runs stored in one transaction, the records marked in another, then
    /// the runs advanced together. A run that exists already (another process, or this one before a crash, got there
    /// first) counts as created. A tick whose run cannot be created (the pipeline, a template or the owner is gone, a
    /// variable does not render) is recorded failed with the reason; a passing fault (a service unreachable) leaves it
    /// launching, to be tried again.
    func create(_ launches: [ScheduleRepository.Launch]) async {
        await store(await prepare(launches))
    }

    /// Stores the prepared runs, records their ticks launched (or failed), and starts them.
    private func store(_ prepared: [Prepared]) async {
        guard !prepared.isEmpty else { return }
        let runs = prepared.compactMap { $0.run }
        do {
            _ = try await launcher.engine.store(runs)
            try await schedules.finishLaunches(
                prepared.compactMap { outcome in outcome.run != nil || outcome.failure != nil ? (outcome.launch, outcome.failure) : nil },
                now: now().milliseconds)
        } catch {
            logger.warning(
                "cannot create scheduled runs yet; trying again later",
                metadata: ["runs": .stringConvertible(runs.count), "error": .string("\(error)")])
            return
        }
        await launcher.engine.advance(runs.map(\.id))
    }

    /// A launch's run, prepared; or why it cannot be created; or neither, when a passing fault stopped it.
    struct Prepared: Sendable {
        var launch: ScheduleRepository.Launch
        var run: RunRecord?
        var failure: String?
    }

    /// Prepares the launches' runs, a few at a time (their reads wait on the database, not on the processor), as their
    /// schedules' owners.
    private func prepare(_ launches: [ScheduleRepository.Launch]) async -> [Prepared] {
        guard !launches.isEmpty else { return [] }
        var owners: [String: Caller?] = [:]
        for name in Set(launches.map(\.owner)) {
            do {
                owners[name] = try await owner(name)
            } catch {
                logger.warning(
                    "cannot act as a schedule's owner yet; trying again later",
                    metadata: ["owner": .string(name), "error": .string("\(error)")])
            }
        }
        let launcher = launcher
        let logger = logger
        let shared = SharedReads()
        let owned = owners
        return await withTaskGroup(of: (Int, Prepared).self) { group in
            var prepared = [Prepared?](repeating: nil, count: launches.count)
            var next = 0
            func add() {
                let (position, launch) = (next, launches[next])
                next += 1
                group.addTask {
                    (position, await Self.prepare(launch, owner: owned[launch.owner], launcher: launcher, shared: shared, logger: logger))
                }
            }
            while next < min(Self.preparedAtOnce, launches.count) { add() }
            for await (position, outcome) in group {
                prepared[position] = outcome
                if next < launches.count { add() }
            }
            return prepared.compactMap { $0 }
        }
    }

    static let preparedAtOnce = 16

    /// `owner` is nil when it could not be asked, `.some(nil)` when the user no longer exists.
    private static func prepare(
        _ launch: ScheduleRepository.Launch, owner: Caller??, launcher: RunLauncher, shared: SharedReads, logger: Logger
    ) async -> Prepared {
        var outcome = Prepared(launch: launch)
        guard let owner else { return outcome }
        do {
            guard let caller = owner else { throw APIError.notFound("the schedule's owner \(launch.owner) no longer exists") }
            outcome.run = try await launcher.prepare(
                project: launch.project, pipeline: launch.pipeline, trigger: launch.trigger, runID: launch.runID,
                tick: RunLauncher.Tick(executionDate: launch.executionDate, definition: launch.definition),
                parameters: launch.parameters?.mapValues(JSONValue.string), caller: caller, shared: shared)
        } catch let error as ValidationErrors {
            outcome.failure = "the run could not be created: \(error)"
        } catch let error as APIError where (400..<500).contains(error.status.code) {
            outcome.failure = "the run could not be created: \(error.message)"
        } catch {
            logger.warning(
                "cannot create a scheduled run yet; trying again later",
                metadata: ["pipeline": .string(launch.pipeline), "run": .string(launch.runID), "error": .string("\(error)")])
        }
        return outcome
    }

    private func owner(_ username: String) async throws -> Caller? {
        if let known = owners[username], known.renewAt > now() { return known.caller }
        guard let caller = try await identity.actAs(username) else { return nil }
        owners[username] = (caller, now().addingTimeInterval(Self.ownerTokenReuse))
        return caller
    }

    /// How long to sleep before the next pass: until the next due schedule, at most `poll` (the feed, other
    /// processes' changes and woken schedules are noticed within it).
    func sleepTime(poll: Duration) async throws -> Duration {
        guard let due = try await schedules.nextDue() else { return poll }
        // Never quite zero: a due schedule another process holds is claimable again in a moment.
        let wait = Duration.milliseconds(max(20, due - now().milliseconds))
        return min(wait, poll)
    }
}

/// Runs the scheduler for as long as the process serves: a pass at each due instant, and at least every second.
struct SchedulerService: Service {
    let scheduler: Scheduler
    let ready: Gate
    let logger: Logger

    static let poll = Duration.seconds(1)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            guard await ready.wait() else { return }
            while !Task.isCancelled {
                var sleep = Self.poll
                do {
                    try await scheduler.pass()
                    sleep = try await scheduler.sleepTime(poll: Self.poll)
                } catch {
                    if Task.isCancelled { return }
                    logger.warning("scheduler pass failed; trying again", metadata: ["error": .string("\(error)")])
                }
                try? await Task.sleep(for: sleep)
            }
        }
    }
}
