import Foundation
import SQLKit
import TrellisCore
import TrellisStore

/// The scheduler's tables: `orchestrator_schedules` and `orchestrator_schedule_records` (migrations/orchestrator).
///
/// Exactly once: a tick's record is unique per (pipeline, execution date); a schedule is decided only under its row's
/// lock (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two orchestrators share the due schedules without waiting on each
/// other; SQLite serializes transactions); a tick that launches is given its run id in that transaction, and the run
/// is created under that id, so a second attempt to create it (after a crash, or by another process) is a no-op.
struct ScheduleRepository: Sendable {
    let database: Database

    struct ScheduleRow: Sendable, Equatable {
        var project: String
        var pipeline: String
        var definition: ScheduleDefinition
        var owner: String
        var paused: Bool
        var revision: Int64
        var tickCursor: Int64?
        var dueAt: Int64?
    }

    struct RecordRow: Codable, Sendable, Equatable {
        var project: String, pipeline: String, execution_date: Int64, run_trigger: String, state: String, reason: String?
        var run_id: String?, created_at: Int64, updated_at: Int64
        /// A backfill's parameter values (JSON), nil for the pipeline's defaults.
        var parameters: String?

        var parameterValues: [String: String]? { Self.parameterValues(parameters) }

        /// The values a record's `parameters` column holds, nil for none.
        static func parameterValues(_ column: String?) -> [String: String]? {
            column.flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) }
        }
    }

    /// A tick to create a run for: its record is `launching` with `runID`.
    struct Launch: Sendable, Equatable {
        var project: String
        var pipeline: String
        var executionDate: Int64
        var trigger: RunTrigger
        var runID: String
        var definition: ScheduleDefinition
        var owner: String
        /// The values a backfill gave, nil for the defaults.
        var parameters: [String: String]? = nil
    }

    private struct StoredSchedule: Codable {
        var project: String, pipeline: String, definition: String, owner: String, paused: Bool, revision: Int64
        var tick_cursor: Int64?, due_at: Int64?
    }

    private var lock: SQLQueryString { database.dialect == .postgres ? " FOR UPDATE" : "" }

    // MARK: Following the pipeline store

    /// Applies one change of the feed; older than what is stored, it is ignored. Returns whether it changed anything.
    @discardableResult
    func apply(_ change: ScheduleChange, now: Int64) async throws -> Bool {
        try await database.transaction { sql in
            let existing = try await load(change.project, change.pipeline, sql: sql, lock: lock)
            if let existing, existing.revision >= change.revision { return false }
            guard let schedule = change.schedule else {
                try await sql.delete(from: "orchestrator_schedules").where("project", .equal, change.project)
                    .where("pipeline", .equal, change.pipeline).run()
                return existing != nil
            }
            let definition = try ScheduleDefinition(schedule, savedAt: change.savedAt, previous: existing?.definition)
            let row = ScheduleRow(
                project: change.project, pipeline: change.pipeline, definition: definition, owner: change.savedBy,
                paused: existing?.paused ?? false, revision: change.revision, tickCursor: existing?.tickCursor, dueAt: now)
            try await save(row, sql: sql)
            return true
        }
    }

    /// Deletes a deleted project's schedules and their records (its pipelines' removal is in the feed already:
    /// replaying the feed ends with them removed too).
    func deleteAll(ofProject project: String) async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "orchestrator_schedules").where("project", .equal, project).run()
            try await sql.delete(from: "orchestrator_schedule_records").where("project", .equal, project).run()
        }
    }

    // MARK: Reading

    func schedule(_ project: String, _ pipeline: String) async throws -> ScheduleRow? {
        try await database.read { try await load(project, pipeline, sql: $0, lock: "") }
    }

    /// The earliest instant a schedule is due, to sleep until.
    func nextDue() async throws -> Int64? {
        try await database.read { sql in
            try await sql.raw("SELECT MIN(due_at) AS due FROM orchestrator_schedules").first()?.decode(column: "due", as: Int64?.self)
        }
    }

    struct RecordFilter: Sendable {
        var state: SchedulePlanner.RecordState?
        /// The execution date of the last record of the previous page (records are listed newest first).
        var before: Int64?
        var limit: Int
    }

    /// A pipeline's records, newest first.
    func records(_ project: String, _ pipeline: String, matching filter: RecordFilter) async throws -> [RecordRow] {
        try await database.read { sql in
            var query = sql.select().columns("*").from("orchestrator_schedule_records").where("project", .equal, project)
                .where("pipeline", .equal, pipeline)
            if let state = filter.state { query = query.where("state", .equal, state.rawValue) }
            if let before = filter.before { query = query.where("execution_date", .lessThan, before) }
            return try await query.orderBy("execution_date", .descending).limit(filter.limit).all(decoding: RecordRow.self)
        }
    }

    func record(_ project: String, _ pipeline: String, at date: Int64) async throws -> RecordRow? {
        try await database.read { sql in
            try await sql.select().columns("*").from("orchestrator_schedule_records").where("project", .equal, project)
                .where("pipeline", .equal, pipeline).where("execution_date", .equal, date).first(decoding: RecordRow.self)
        }
    }

    /// Records left `launching` since before `instant` (their process stopped between choosing and creating the run).
    /// Those whose schedule is gone meanwhile are recorded failed.
    func stalledLaunches(before instant: Int64, limit: Int) async throws -> [Launch] {
        try await database.transaction { sql in
            let rows = try await sql.select().columns("*").from("orchestrator_schedule_records")
                .where("state", .equal, SchedulePlanner.RecordState.launching.rawValue).where("updated_at", .lessThan, instant)
                .limit(limit).all(decoding: RecordRow.self)
            var launches: [Launch] = []
            for row in rows {
                guard let schedule = try await load(row.project, row.pipeline, sql: sql, lock: ""), let runID = row.run_id else {
                    try await sql.update("orchestrator_schedule_records")
                        .set("state", to: SQLBind(SchedulePlanner.RecordState.failed.rawValue))
                        .set("reason", to: SQLBind("the schedule was removed before the run was created")).set(
                            "run_id", to: SQLBind(String?.none)
                        )
                        .where("project", .equal, row.project).where("pipeline", .equal, row.pipeline)
                        .where("execution_date", .equal, row.execution_date).run()
                    continue
                }
                launches.append(
                    Launch(
                        project: row.project, pipeline: row.pipeline, executionDate: row.execution_date,
                        trigger: RunTrigger(rawValue: row.run_trigger) ?? .schedule, runID: runID, definition: schedule.definition,
                        owner: schedule.owner, parameters: row.parameterValues))
            }
            return launches
        }
    }

    // MARK: Deciding

    /// Claims up to `limit` due schedules, lets the planner decide each, and writes the decisions: new records,
    /// expiries, and the ticks that launch (each `launching` with a fresh run id, returned to be created). `lags` says how
    /// late each schedule was decided (milliseconds past its due instant). The schedules' records are read, and the
    /// decisions written, together: a few statements for the batch, one more for each tick that was waiting.
    func decideDue(now: Int64, limit: Int, minimumInterval: TimeInterval) async throws -> (lags: [Int64], launches: [Launch]) {
        let postgres = database.dialect == .postgres
        return try await database.transaction { sql in
            let claim: SQLQueryString = postgres ? " FOR UPDATE SKIP LOCKED" : ""
            let due = try await sql.raw(
                "SELECT * FROM orchestrator_schedules WHERE due_at <= \(bind: now) ORDER BY due_at LIMIT \(unsafeRaw: String(limit))\(claim)"
            ).all(decoding: StoredSchedule.self)
            let schedules = try due.map(Self.schedule)
            let records = try await plannerRecords(of: schedules.map { ScheduleKey(project: $0.project, pipeline: $0.pipeline) }, sql: sql)
            var decisions = Decisions()
            for (stored, schedule) in zip(due, schedules) {
                try decide(
                    schedule, stored: stored, records: records[ScheduleKey(project: schedule.project, pipeline: schedule.pipeline)] ?? [],
                    now: now, minimumInterval: minimumInterval, into: &decisions)
            }
            return (due.map { now - ($0.due_at ?? now) }, try await write(decisions, now: now, sql: sql))
        }
    }

    struct ScheduleKey: Hashable, Sendable {
        var project: String
        var pipeline: String
    }

    /// What the planner decided for a batch of schedules, to write.
    private struct Decisions {
        /// New records, each in the state it ends the decision in (a new tick that launches is `launching` already).
        var created: [(record: RecordRow, schedule: ScheduleRow)] = []
        /// Ticks recorded before that expire now, or launch now (with their run id).
        var expired: [(schedule: ScheduleRow, date: Int64, reason: String)] = []
        var launched: [(schedule: ScheduleRow, date: Int64, runID: String)] = []
        /// The schedules with their new tick cursor and due instant.
        var schedules: [StoredSchedule] = []
    }

    private func decide(
        _ schedule: ScheduleRow, stored: StoredSchedule, records: [SchedulePlanner.Record], now: Int64, minimumInterval: TimeInterval,
        into decisions: inout Decisions
    ) throws {
        let policy = try schedule.definition.policy(minimumInterval: minimumInterval, paused: schedule.paused)
        let decision = SchedulePlanner.decide(
            policy: policy, records: records, cursor: schedule.tickCursor.map(Date.fromMilliseconds), now: .fromMilliseconds(now))
        let expiry = "expired: only the newest \(policy.expiredLimit) pending ticks wait (expiredLimit)"
        let expiring = Set(decision.expire.map(\.milliseconds))
        let launching = Set(decision.launch.map(\.milliseconds))
        let created = Set(decision.created.map(\.date.milliseconds))
        for tick in decision.created {
            let date = tick.date.milliseconds
            var row = RecordRow(
                project: schedule.project, pipeline: schedule.pipeline, execution_date: date, run_trigger: RunTrigger.schedule.rawValue,
                state: tick.state.rawValue, reason: tick.reason, run_id: nil, created_at: now, updated_at: now)
            if launching.contains(date) {
                row.state = SchedulePlanner.RecordState.launching.rawValue
                row.reason = nil
                row.run_id = UUID().uuidString.lowercased()
            } else if expiring.contains(date), tick.state == .pending {
                row.state = SchedulePlanner.RecordState.expired.rawValue
                row.reason = expiry
            }
            decisions.created.append((row, schedule))
        }
        for date in expiring.subtracting(created).sorted() { decisions.expired.append((schedule, date, expiry)) }
        for date in launching.subtracting(created).sorted() {
            decisions.launched.append((schedule, date, UUID().uuidString.lowercased()))
        }
        // Ticks still waiting are looked at again when a run of the schedule ends, and at least every minute.
        let pending = Set(records.filter { $0.state == .pending }.map(\.executionDate))
            .union(decision.created.filter { $0.state == .pending }.map(\.date))
        let waiting = !pending.subtracting(decision.launch).subtracting(decision.expire).isEmpty
        var dueAt = decision.nextTick?.milliseconds
        if waiting { dueAt = min(dueAt ?? .max, now + 60_000) }
        var updated = stored
        updated.tick_cursor = decision.cursor?.milliseconds ?? schedule.tickCursor
        updated.due_at = dueAt
        decisions.schedules.append(updated)
    }

    /// Writes a batch's decisions; returns the launches.
    private func write(_ decisions: Decisions, now: Int64, sql: any SQLDatabase) async throws -> [Launch] {
        var launches: [Launch] = []
        var conflicting: [(record: RecordRow, schedule: ScheduleRow)] = []
        for batch in decisions.created.batches(of: RunRepository.rowsPerStatement / 2) {
            let inserted = try await sql.insert(into: "orchestrator_schedule_records").models(
                batch.map(\.record), nilEncodingStrategy: .asNil
            )
            .ignoringConflicts(with: ["project", "pipeline", "execution_date"]).returning("project", "pipeline", "execution_date").all()
            var stored: Set<RecordKey> = []
            for row in inserted {
                stored.insert(
                    RecordKey(
                        project: try row.decode(column: "project", as: String.self),
                        pipeline: try row.decode(column: "pipeline", as: String.self),
                        date: try row.decode(column: "execution_date", as: Int64.self)))
            }
            for (record, schedule) in batch {
                guard stored.contains(RecordKey(project: record.project, pipeline: record.pipeline, date: record.execution_date)) else {
                    conflicting.append((record, schedule))
                    continue
                }
                let state = SchedulePlanner.RecordState(rawValue: record.state) ?? .pending
                try await Self.recordTickEvent(
                    record.project, record.pipeline, at: record.execution_date, state: state, reason: record.reason, now: now, sql: sql)
                if let runID = record.run_id {
                    launches.append(
                        Launch(
                            project: record.project, pipeline: record.pipeline, executionDate: record.execution_date, trigger: .schedule,
                            runID: runID, definition: schedule.definition, owner: schedule.owner))
                }
            }
        }
        // A tick recorded meanwhile (a backfill into the future) is changed as a tick recorded before.
        var expired = decisions.expired
        var launched = decisions.launched
        for (record, schedule) in conflicting {
            if record.state == SchedulePlanner.RecordState.expired.rawValue {
                expired.append((schedule, record.execution_date, record.reason ?? ""))
            } else if let runID = record.run_id {
                launched.append((schedule, record.execution_date, runID))
            }
        }
        for (schedule, date, reason) in expired {
            try await setState(.expired, reason: reason, of: schedule, at: date, from: [.pending], now: now, sql: sql)
        }
        for (schedule, date, id) in launched {
            let row = try await sql.update("orchestrator_schedule_records")
                .set("state", to: SQLBind(SchedulePlanner.RecordState.launching.rawValue)).set("run_id", to: SQLBind(id))
                .set("reason", to: SQLBind(String?.none)).set("updated_at", to: SQLBind(now))
                .where("project", .equal, schedule.project).where("pipeline", .equal, schedule.pipeline)
                .where("execution_date", .equal, date).returning("run_trigger", "parameters").first()
            let trigger = try row?.decode(column: "run_trigger", as: String.self)
            let parameters = try row?.decode(column: "parameters", as: String?.self)
            launches.append(
                Launch(
                    project: schedule.project, pipeline: schedule.pipeline, executionDate: date,
                    trigger: trigger.flatMap(RunTrigger.init(rawValue:)) ?? .schedule, runID: id, definition: schedule.definition,
                    owner: schedule.owner, parameters: RecordRow.parameterValues(parameters)))
        }
        for batch in decisions.schedules.batches(of: RunRepository.rowsPerStatement / 2) {
            try await sql.insert(into: "orchestrator_schedules").models(batch, nilEncodingStrategy: .asNil)
                .onConflict(with: ["project", "pipeline"]) { $0.set(excludedValueOf: "tick_cursor").set(excludedValueOf: "due_at") }.run()
        }
        return launches
    }

    private struct RecordKey: Hashable {
        var project: String
        var pipeline: String
        var date: Int64
    }

    /// What the planner needs of each schedule's records: those pending or launching, those whose run is unfinished,
    /// the newest few (minimum interval, dependsOnPast), and the newest with a run before the oldest pending one. A few
    /// statements for the batch, one more for each schedule with a pending tick.
    func plannerRecords(of schedules: [ScheduleKey], sql: any SQLDatabase) async throws -> [ScheduleKey: [SchedulePlanner.Record]] {
        struct Row: Decodable { let pipeline: String, execution_date: Int64, state: String, run_state: String? }
        var found: [ScheduleKey: [SchedulePlanner.Record]] = [:]
        let byProject = Dictionary(grouping: schedules, by: \.project).mapValues { Set($0.map(\.pipeline)).sorted() }
        for (project, names) in byProject.sorted(by: { $0.key < $1.key }) {
            for pipelines in names.batches(of: Self.pipelinesPerRead) {
                let open = try await sql.raw(
                    """
                    SELECT pipeline, execution_date, state, NULL AS run_state FROM orchestrator_schedule_records
                    WHERE project = \(bind: project) AND pipeline IN (\(binds: pipelines)) AND state IN ('pending', 'launching')
                    """
                ).all(decoding: Row.self)
                let unfinished = try await sql.raw(
                    """
                    SELECT r.pipeline, r.execution_date, r.state, x.state AS run_state FROM orchestrator_runs x
                    JOIN orchestrator_schedule_records r ON r.project = x.project AND r.pipeline = x.pipeline
                        AND r.execution_date = x.execution_date AND r.run_id = x.id
                    WHERE x.project = \(bind: project) AND x.pipeline IN (\(binds: pipelines)) AND x.state IN ('pending', 'running')
                    """
                ).all(decoding: Row.self)
                // The newest of each pipeline, each read by its own index range.
                var newestQuery = SQLQueryString("")
                for (position, pipeline) in pipelines.enumerated() {
                    if position > 0 { newestQuery.appendLiteral(" UNION ALL ") }
                    newestQuery.appendInterpolation(
                        """
                        SELECT * FROM (SELECT r.pipeline, r.execution_date, r.state, x.state AS run_state
                        FROM orchestrator_schedule_records r LEFT JOIN orchestrator_runs x ON x.id = r.run_id
                        WHERE r.project = \(bind: project) AND r.pipeline = \(bind: pipeline) ORDER BY r.execution_date DESC LIMIT 64) AS n\(literal: position)
                        """ as SQLQueryString)
                }
                let newest = Dictionary(grouping: try await sql.raw(newestQuery).all(decoding: Row.self), by: \.pipeline)
                let unfinishedOf = Dictionary(grouping: unfinished, by: \.pipeline)
                let openOf = Dictionary(grouping: open, by: \.pipeline)
                for pipeline in pipelines {
                    var predecessor: [Row] = []
                    if let oldestPending = openOf[pipeline]?.filter({ $0.state == "pending" }).map(\.execution_date).min() {
                        predecessor = try await sql.raw(
                            """
                            SELECT r.pipeline, r.execution_date, r.state, x.state AS run_state FROM orchestrator_schedule_records r
                            LEFT JOIN orchestrator_runs x ON x.id = r.run_id
                            WHERE r.project = \(bind: project) AND r.pipeline = \(bind: pipeline) AND r.execution_date < \(bind: oldestPending)
                            AND r.state IN ('launching', 'launched', 'failed') ORDER BY r.execution_date DESC LIMIT 1
                            """
                        ).all(decoding: Row.self)
                    }
                    // Later rows tell a tick's state; a run's state is kept from whichever row had it.
                    var byDate: [Int64: SchedulePlanner.Record] = [:]
                    for row in (newest[pipeline] ?? []) + predecessor + (unfinishedOf[pipeline] ?? []) + (openOf[pipeline] ?? []) {
                        guard let state = SchedulePlanner.RecordState(rawValue: row.state) else {
                            throw StoreError.corrupt("unknown schedule record state \"\(row.state)\" in orchestrator_schedule_records")
                        }
                        let runState = row.run_state.flatMap(RunState.init(rawValue:)) ?? byDate[row.execution_date]?.runState
                        byDate[row.execution_date] = SchedulePlanner.Record(
                            executionDate: .fromMilliseconds(row.execution_date), state: state, runState: runState)
                    }
                    found[ScheduleKey(project: project, pipeline: pipeline)] = byDate.values.sorted { $0.executionDate < $1.executionDate }
                }
            }
        }
        return found
    }

    static let pipelinesPerRead = 50

    // MARK: Changing records

    /// The ticks' runs exist (or could not be created: `failed` with the reason), in one transaction.
    func finishLaunches(_ launches: [(launch: Launch, failure: String?)], now: Int64) async throws {
        guard !launches.isEmpty else { return }
        try await database.transaction { sql in
            // A launching record's run id is its own (a fresh UUID): launched in one statement per batch.
            let launched = launches.filter { $0.failure == nil }.map(\.launch.runID)
            for batch in launched.batches(of: RunRepository.rowsPerStatement) {
                try await sql.raw(
                    """
                    UPDATE orchestrator_schedule_records SET state = 'launched', updated_at = \(bind: now)
                    WHERE state = 'launching' AND run_id IN (\(binds: batch))
                    """
                ).run()
            }
            for (launch, failure) in launches {
                guard let failure else { continue }
                let changed = try await sql.update("orchestrator_schedule_records").set("updated_at", to: SQLBind(now))
                    .set("state", to: SQLBind(SchedulePlanner.RecordState.failed.rawValue)).set("reason", to: SQLBind(failure))
                    .set("run_id", to: SQLBind(String?.none))
                    .where("project", .equal, launch.project).where("pipeline", .equal, launch.pipeline)
                    .where("execution_date", .equal, launch.executionDate).where("run_id", .equal, launch.runID)
                    .where("state", .equal, SchedulePlanner.RecordState.launching.rawValue).returning("execution_date").all()
                if !changed.isEmpty {
                    try await Self.recordTickEvent(
                        launch.project, launch.pipeline, at: launch.executionDate, state: .failed, reason: failure, now: now, sql: sql)
                    try await wakeIfWaiting(launch.project, [launch.pipeline], now: now, sql: sql)
                }
            }
        }
    }

    /// Has the scheduler look at these schedules now, those of them with pending ticks (runs of them ended).
    func wakeIfWaiting(_ schedules: [(project: String, pipeline: String)], now: Int64) async throws {
        guard !schedules.isEmpty else { return }
        let byProject = Dictionary(grouping: schedules, by: \.project).mapValues { Set($0.map(\.pipeline)).sorted() }
        try await database.transaction { sql in
            for (project, pipelines) in byProject.sorted(by: { $0.key < $1.key }) {
                for batch in pipelines.batches(of: RunRepository.rowsPerStatement) {
                    try await wakeIfWaiting(project, batch, now: now, sql: sql)
                }
            }
        }
    }

    /// Moves the due instant of the project's `pipelines` to now, those with pending ticks: only they can launch before
    /// their next tick.
    private func wakeIfWaiting(_ project: String, _ pipelines: [String], now: Int64, sql: any SQLDatabase) async throws {
        try await sql.raw(
            """
            UPDATE orchestrator_schedules SET due_at = \(bind: now)
            WHERE project = \(bind: project) AND pipeline IN (\(binds: pipelines)) AND (due_at IS NULL OR due_at > \(bind: now))
            AND EXISTS (SELECT 1 FROM orchestrator_schedule_records r WHERE r.project = orchestrator_schedules.project
                AND r.pipeline = orchestrator_schedules.pipeline AND r.state = 'pending')
            """
        ).run()
    }

    enum ChangeError: Error, Equatable {
        case noSchedule
        case noRecord
        case notAllowed(String)
        case tooManyTicks
    }

    /// Pauses or unpauses. Unpausing does not make up for the ticks the pause covered: the schedule goes on from now.
    func setPaused(_ paused: Bool, _ project: String, _ pipeline: String, now: Int64) async throws -> ScheduleRow {
        try await database.transaction { sql in
            guard var schedule = try await load(project, pipeline, sql: sql, lock: lock) else { throw ChangeError.noSchedule }
            if schedule.paused && !paused { schedule.tickCursor = now }
            schedule.paused = paused
            schedule.dueAt = now
            try await save(schedule, sql: sql)
            return schedule
        }
    }

    /// Records every tick of `from...to` that has none, to launch under the schedule's policies (`catchup` aside),
    /// with `parameters` (values by name; nil: the pipeline's defaults).
    func backfill(
        _ project: String, _ pipeline: String, from: Int64, to: Int64, now: Int64, minimumInterval: TimeInterval,
        parameters: [String: String]? = nil
    ) async throws -> [RecordRow] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let values = try parameters.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        return try await database.transaction { sql in
            guard let schedule = try await load(project, pipeline, sql: sql, lock: lock) else { throw ChangeError.noSchedule }
            let policy = try schedule.definition.policy(minimumInterval: minimumInterval, paused: false)
            let existing = try await sql.raw(
                """
                SELECT execution_date, state FROM orchestrator_schedule_records WHERE project = \(bind: project)
                AND pipeline = \(bind: pipeline) AND execution_date <= \(bind: to)
                AND (execution_date >= \(bind: from) OR state NOT IN ('skipped', 'expired'))
                ORDER BY execution_date DESC LIMIT 2000
                """
            ).all().map {
                SchedulePlanner.Record(
                    executionDate: .fromMilliseconds(try $0.decode(column: "execution_date", as: Int64.self)),
                    state: SchedulePlanner.RecordState(rawValue: try $0.decode(column: "state", as: String.self)) ?? .pending)
            }
            guard
                let ticks = SchedulePlanner.backfill(
                    policy: policy, from: .fromMilliseconds(from), to: .fromMilliseconds(to), records: existing.reversed())
            else { throw ChangeError.tooManyTicks }
            var created: [RecordRow] = []
            for tick in ticks {
                created.append(
                    try await insertRecord(
                        schedule, at: tick.date.milliseconds, trigger: .backfill, state: tick.state, reason: tick.reason, now: now,
                        parameters: values, sql: sql))
            }
            try await wakeIfWaiting(project, [pipeline], now: now, sql: sql)
            return created
        }
    }

    /// Lets a tick launch again: a skipped, expired or failed record becomes pending (its run, if any, is resumed by
    /// the caller instead).
    func requeue(_ project: String, _ pipeline: String, at date: Int64, now: Int64) async throws {
        try await database.transaction { sql in
            guard let schedule = try await load(project, pipeline, sql: sql, lock: lock) else { throw ChangeError.noSchedule }
            let changed = try await setState(
                .pending, reason: nil, of: schedule, at: date, from: [.skipped, .expired, .failed], now: now, sql: sql)
            guard changed else { throw ChangeError.notAllowed("only a skipped, expired or failed tick without a run is retried this way") }
            try await wakeIfWaiting(project, [pipeline], now: now, sql: sql)
        }
    }

    /// A user skips a tick: pending, or launched with a run that did not succeed (unblocking `dependsOnPast`).
    func skip(_ project: String, _ pipeline: String, at date: Int64, by user: String, now: Int64) async throws {
        try await database.transaction { sql in
            guard let schedule = try await load(project, pipeline, sql: sql, lock: lock) else { throw ChangeError.noSchedule }
            guard
                let record = try await sql.select().columns("*").from("orchestrator_schedule_records").where("project", .equal, project)
                    .where("pipeline", .equal, pipeline).where("execution_date", .equal, date).first(decoding: RecordRow.self)
            else { throw ChangeError.noRecord }
            if let run = record.run_id, record.state == SchedulePlanner.RecordState.launched.rawValue {
                let state = try await sql.select().column("state").from("orchestrator_runs").where("id", .equal, run).first()?
                    .decode(column: "state", as: String.self)
                guard let state, let runState = RunState(rawValue: state), runState.isFinished, runState != .succeeded else {
                    throw ChangeError.notAllowed("a tick whose run is unfinished or succeeded cannot be skipped")
                }
            }
            let changed = try await setState(
                .skipped, reason: "skipped by \(user)", of: schedule, at: date, from: [.pending, .launched, .failed], now: now, sql: sql)
            guard changed else { throw ChangeError.notAllowed("a \(record.state) tick cannot be skipped") }
            try await wakeIfWaiting(project, [pipeline], now: now, sql: sql)
        }
    }

    // MARK: Rows

    @discardableResult
    private func insertRecord(
        _ schedule: ScheduleRow, at date: Int64, trigger: RunTrigger, state: SchedulePlanner.RecordState, reason: String?, now: Int64,
        parameters: String? = nil, sql: any SQLDatabase
    ) async throws -> RecordRow {
        let row = RecordRow(
            project: schedule.project, pipeline: schedule.pipeline, execution_date: date, run_trigger: trigger.rawValue,
            state: state.rawValue,
            reason: reason, run_id: nil, created_at: now, updated_at: now, parameters: parameters)
        try await sql.insert(into: "orchestrator_schedule_records").model(row).ignoringConflicts(with: [
            "project", "pipeline", "execution_date",
        ]).run()
        try await Self.recordTickEvent(schedule.project, schedule.pipeline, at: date, state: state, reason: reason, now: now, sql: sql)
        return row
    }

    @discardableResult
    private func setState(
        _ state: SchedulePlanner.RecordState, reason: String?, of schedule: ScheduleRow, at date: Int64,
        from states: [SchedulePlanner.RecordState], now: Int64, sql: any SQLDatabase
    ) async throws -> Bool {
        let rows = try await sql.update("orchestrator_schedule_records").set("state", to: SQLBind(state.rawValue))
            .set("reason", to: SQLBind(reason)).set("updated_at", to: SQLBind(now))
            .where("project", .equal, schedule.project).where("pipeline", .equal, schedule.pipeline).where("execution_date", .equal, date)
            .where("state", .in, states.map(\.rawValue)).returning("execution_date").all()
        if !rows.isEmpty {
            try await Self.recordTickEvent(schedule.project, schedule.pipeline, at: date, state: state, reason: reason, now: now, sql: sql)
        }
        return !rows.isEmpty
    }

    /// The alert outbox's event of a tick that expired or failed (nothing for other states), in the record's transaction.
    private static func recordTickEvent(
        _ project: String, _ pipeline: String, at date: Int64, state: SchedulePlanner.RecordState, reason: String?, now: Int64,
        sql: any SQLDatabase
    ) async throws {
        let trigger: AlertTrigger
        switch state {
        case .expired: trigger = .tickExpired
        case .failed: trigger = .tickFailed
        default: return
        }
        let event = AlertEvent(
            id: AlertEvent.tickID(project: project, pipeline: pipeline, executionDate: date, state: state.rawValue, at: now),
            kind: .ended(trigger),
            project: project, pipeline: pipeline, executionDate: .fromMilliseconds(date), state: state.rawValue, reason: reason,
            occurredAt: .fromMilliseconds(now))
        try await AlertRepository.record([event], sql: sql)
    }

    private func load(_ project: String, _ pipeline: String, sql: any SQLDatabase, lock: SQLQueryString) async throws -> ScheduleRow? {
        try await sql.raw("SELECT * FROM orchestrator_schedules WHERE project = \(bind: project) AND pipeline = \(bind: pipeline)\(lock)")
            .first(decoding: StoredSchedule.self).map(Self.schedule)
    }

    private func save(_ row: ScheduleRow, sql: any SQLDatabase) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let stored = StoredSchedule(
            project: row.project, pipeline: row.pipeline, definition: String(decoding: try encoder.encode(row.definition), as: UTF8.self),
            owner: row.owner, paused: row.paused, revision: row.revision, tick_cursor: row.tickCursor, due_at: row.dueAt)
        try await sql.insert(into: "orchestrator_schedules").model(stored)
            .onConflict(with: ["project", "pipeline"]) { try $0.set(excludedContentOf: stored) }.run()
    }

    private static func schedule(_ stored: StoredSchedule) throws -> ScheduleRow {
        ScheduleRow(
            project: stored.project, pipeline: stored.pipeline,
            definition: try JSONDecoder().decode(ScheduleDefinition.self, from: Data(stored.definition.utf8)), owner: stored.owner,
            paused: stored.paused, revision: stored.revision, tickCursor: stored.tick_cursor, dueAt: stored.due_at)
    }
}
