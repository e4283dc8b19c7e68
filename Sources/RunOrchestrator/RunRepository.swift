import Foundation
import SQLKit
import ServiceContracts
import Synchronization
import TrellisCore
import TrellisStore

/// The orchestrator's tables: `orchestrator_runs`, `orchestrator_tasks`, `orchestrator_attempts` (migrations/orchestrator).
struct RunRepository: Sendable {
    let database: Database
    /// Plans never change after a run is created: each is decoded and indexed once, not on every step of its run.
    let plans = PlanCache()
    /// Runs as this process last wrote them: a step reads the run's version, not its rows, while it is unchanged.
    let records = RunCache()

    struct RunRow: Codable {
        var id: String, project: String, pipeline: String, pipeline_version: Int, run_trigger: String, state: String
        var reason: String?, plan: String, debug: Bool, execution_date: Int64, started_by: String, created_at: Int64
        var started_at: Int64?, finished_at: Int64?, deadline_at: Int64?, stopping: String?, cluster: String?
        /// Writes of the run's rows so far (``RunCache``).
        var version: Int64
        var pinned: Bool
    }

    /// A run as lists show it: its row without the plan, which a list never shows and which is 288 kB for the
    /// benchmarks' pipeline of a thousand tasks (a page of 25 such runs read 7 MB).
    struct RunListRow: Codable {
        var id: String, pipeline: String, pipeline_version: Int, run_trigger: String, state: String, reason: String?
        var pinned: Bool, execution_date: Int64, started_by: String, created_at: Int64, started_at: Int64?, finished_at: Int64?

        static let columns = [
            "id", "pipeline", "pipeline_version", "run_trigger", "state", "reason", "pinned", "execution_date", "started_by",
            "created_at", "started_at", "finished_at",
        ]
    }

    struct TaskRow: Codable {
        var run_id: String, name: String, state: String, attempts: Int, round_start: Int, not_before: Int64?
    }

    struct AttemptRow: Codable {
        var run_id: String, task: String, number: Int, execution_id: String, state: String, exit_code: Int?, reason: String?
        var created_at: Int64, started_at: Int64?, finished_at: Int64?, invocation: String, working_directory: String?
        var retry_at: Int64?, changed_at: Int64?, stored_bytes: Int64?
    }

    // MARK: Platform metrics

    struct PlatformCounts: Sendable, Equatable {
        var runs: [String: Int]
        var activeTasks: [String: Int]
        var inFlight: Int
    }

    /// Runs by state; tasks by state and running attempts of the runs that have not ended (through the runs' state
    /// index: the cost follows the active runs, not the history).
    func platformCounts() async throws -> PlatformCounts {
        let active = [RunState.pending.rawValue, RunState.running.rawValue]
        return try await database.read { sql in
            func counts(_ query: SQLQueryString) async throws -> [String: Int] {
                var found: [String: Int] = [:]
                for row in try await sql.raw(query).all() {
                    found[try row.decode(column: "state", as: String.self)] = try row.decode(column: "n", as: Int.self)
                }
                return found
            }
            let runs = try await counts("SELECT state, COUNT(*) AS n FROM orchestrator_runs GROUP BY state")
            let tasks = try await counts(
                """
                SELECT t.state, COUNT(*) AS n FROM orchestrator_runs r JOIN orchestrator_tasks t ON t.run_id = r.id
                WHERE r.state IN (\(binds: active)) GROUP BY t.state
                """)
            let inFlight = try await counts(
                """
                SELECT a.state, COUNT(*) AS n FROM orchestrator_runs r JOIN orchestrator_attempts a ON a.run_id = r.id
                WHERE r.state IN (\(binds: active)) AND a.state = \(bind: TaskState.running.rawValue) GROUP BY a.state
                """)
            return PlatformCounts(runs: runs, activeTasks: tasks, inFlight: inFlight[TaskState.running.rawValue] ?? 0)
        }
    }

    // MARK: The attempt feed

    /// Attempts written at or after `since` (milliseconds; after the execution `after` among those written at `since`),
    /// oldest first, with their run's project, pipeline, cluster and the task's resources (from the run's plan,
    /// decoded once per run).
    func attemptChanges(since: Int64, after: String?, limit: Int) async throws -> [AttemptChange] {
        struct Row: Decodable {
            var run_id: String, task: String, number: Int, execution_id: String, state: String, created_at: Int64
            var started_at: Int64?, finished_at: Int64?, changed_at: Int64, project: String, pipeline: String, cluster: String?
        }
        return try await database.read { sql in
            let rows = try await sql.raw(
                """
                SELECT a.run_id, a.task, a.number, a.execution_id, a.state, a.created_at, a.started_at, a.finished_at, a.changed_at, r.project,
                r.pipeline, r.cluster FROM orchestrator_attempts a JOIN orchestrator_runs r ON r.id = a.run_id
                WHERE a.changed_at > \(bind: since) OR (a.changed_at = \(bind: since) AND a.execution_id > \(bind: after ?? ""))
                ORDER BY a.changed_at, a.execution_id LIMIT \(bind: limit)
                """
            ).all(decoding: Row.self)
            var plans: [String: PlanCache.Indexed] = [:]
            for run in Set(rows.map(\.run_id)) {
                if let plan = self.plans.cached(run) {
                    plans[run] = plan
                } else if let text = try await sql.select().column("plan").from("orchestrator_runs").where("id", .equal, run).first()?
                    .decode(column: "plan", as: String.self)
                {
                    plans[run] = try self.plans.plan(of: run) { try JSONDecoder().decode(RunPlan.self, from: Data(text.utf8)) }
                }
            }
            return rows.map { row in
                let resources = plans[row.run_id]?.task(named: row.task)?.resources
                return AttemptChange(
                    executionID: row.execution_id, project: row.project, pipeline: row.pipeline, run: row.run_id, task: row.task,
                    // An attempt's start is recorded when it ends; while it runs, its launch stands for it.
                    attempt: row.number, state: row.state, startedAt: .fromMilliseconds(row.started_at ?? row.created_at),
                    finishedAt: row.finished_at.map(Date.fromMilliseconds), cluster: row.cluster, cpu: resources?.cpu,
                    memory: resources?.memory, gpu: resources?.gpu, changedAt: .fromMilliseconds(row.changed_at))
            }
        }
    }

    // MARK: A deleted project

    /// The ids of the project's runs that have not ended.
    func unfinishedRuns(inProject project: String) async throws -> [String] {
        let finished = RunState.allCases.filter(\.isFinished).map(\.rawValue)
        return try await database.read { sql in
            try await sql.select().column("id").from("orchestrator_runs").where("project", .equal, project)
                .where("state", .notIn, finished).all().map { try $0.decode(column: "id", as: String.self) }
        }
    }

    /// The executions of every attempt of the project's runs.
    func executions(ofProject project: String) async throws -> [String] {
        try await database.read { sql in
            try await sql.raw(
                """
                SELECT a.execution_id FROM orchestrator_attempts a JOIN orchestrator_runs r ON r.id = a.run_id
                WHERE r.project = \(bind: project)
                """
            ).all().map { try $0.decode(column: "execution_id", as: String.self) }
        }
    }

    /// Deletes the project's runs with their tasks and attempts.
    func deleteAll(ofProject project: String) async throws {
        try await database.transaction { sql in
            let runs = SQLSubquery.select { $0.column("id").from("orchestrator_runs").where("project", .equal, project) }
            try await sql.delete(from: "orchestrator_attempts").where("run_id", .in, runs).run()
            try await sql.delete(from: "orchestrator_tasks").where("run_id", .in, runs).run()
            try await sql.delete(from: "orchestrator_runs").where("project", .equal, project).run()
        }
    }

    // MARK: Reading

    func run(_ id: String) async throws -> RunRecord? {
        try await database.snapshot { try await load(id, sql: $0) }
    }

    /// Runs not finished yet, oldest first.
    func activeRunIDs() async throws -> [String] {
        try await database.read { sql in
            try await sql.select().column("id").from("orchestrator_runs")
                .where("state", .in, [RunState.pending.rawValue, RunState.running.rawValue]).orderBy("created_at")
                .all().map { try $0.decode(column: "id", as: String.self) }
        }
    }

    struct Filter: Sendable {
        var pipeline: String?
        var state: RunState?
        var trigger: RunTrigger?
        /// Execution dates from and to (Unix milliseconds, inclusive).
        var from: Int64?
        var to: Int64?
        /// The creation time and id of the last run of the previous page (runs are listed newest first).
        var before: (createdAt: Int64, id: String)?
        var limit: Int
    }

    /// The state and task names of each of `ids` that exists.
    func summaries(ofRuns ids: [String]) async throws -> [String: (state: RunState?, tasks: [String])] {
        guard !ids.isEmpty else { return [:] }
        return try await database.snapshot { sql in
            var found: [String: (state: RunState?, tasks: [String])] = [:]
            for row in try await sql.select().columns("id", "state").from("orchestrator_runs").where("id", .in, ids).all() {
                found[try row.decode(column: "id", as: String.self)] = (
                    RunState(rawValue: try row.decode(column: "state", as: String.self)), []
                )
            }
            for row in try await sql.select().columns("run_id", "name").from("orchestrator_tasks").where("run_id", .in, ids).orderBy("name")
                .all()
            {
                found[try row.decode(column: "run_id", as: String.self)]?.tasks.append(try row.decode(column: "name", as: String.self))
            }
            return found
        }
    }

    /// Runs of a project, newest first, without their tasks and plans.
    func runs(inProject project: String, matching filter: Filter) async throws -> [RunListRow] {
        try await database.read { sql in
            var query = sql.select().columns(RunListRow.columns).from("orchestrator_runs").where("project", .equal, project)
            if let pipeline = filter.pipeline { query = query.where("pipeline", .equal, pipeline) }
            if let state = filter.state { query = query.where("state", .equal, state.rawValue) }
            if let trigger = filter.trigger { query = query.where("run_trigger", .equal, trigger.rawValue) }
            if let from = filter.from { query = query.where("execution_date", .greaterThanOrEqual, from) }
            if let to = filter.to { query = query.where("execution_date", .lessThanOrEqual, to) }
            if let before = filter.before {
                query = query.where { group in
                    group.where("created_at", .lessThan, before.createdAt).orWhere { same in
                        same.where("created_at", .equal, before.createdAt).where("id", .lessThan, before.id)
                    }
                }
            }
            return try await query.orderBy("created_at", .descending).orderBy("id", .descending).limit(filter.limit)
                .all(decoding: RunListRow.self)
        }
    }

    func load(_ id: String, sql: any SQLDatabase) async throws -> RunRecord? {
        guard let row = try await sql.select().columns("*").from("orchestrator_runs").where("id", .equal, id).first(decoding: RunRow.self)
        else { return nil }
        let tasks = try await sql.select().columns("*").from("orchestrator_tasks").where("run_id", .equal, id).all(decoding: TaskRow.self)
        let attempts = try await sql.select().columns("*").from("orchestrator_attempts").where("run_id", .equal, id)
            .orderBy("task").orderBy("number").all(decoding: AttemptRow.self)
        let plan = try plans.plan(of: row.id) { try JSONDecoder().decode(RunPlan.self, from: Data(row.plan.utf8)) }
        return try Self.record(row, plan: plan, tasks: tasks, attempts: attempts)
    }

    static func record(_ row: RunRow, plan: PlanCache.Indexed, tasks: [TaskRow], attempts: [AttemptRow]) throws -> RunRecord {
        RunRecord(
            id: row.id, project: row.project, pipeline: row.pipeline, pipelineVersion: row.pipeline_version,
            trigger: try parse(RunTrigger.self, row.run_trigger), state: try parse(RunState.self, row.state), reason: row.reason,
            plan: plan.plan, index: plan.index, debug: row.debug, executionDate: row.execution_date,
            startedBy: row.started_by, cluster: row.cluster, createdAt: row.created_at, startedAt: row.started_at,
            finishedAt: row.finished_at,
            deadlineAt: row.deadline_at, stopping: try row.stopping.map { try parse(RunState.self, $0) }, pinned: row.pinned,
            tasks: Dictionary(
                uniqueKeysWithValues: try tasks.map {
                    (
                        $0.name,
                        TaskRecord(
                            name: $0.name, state: try parse(TaskState.self, $0.state), attempts: $0.attempts, roundStart: $0.round_start,
                            notBefore: $0.not_before)
                    )
                }),
            attempts: try attempts.map {
                AttemptRecord(
                    task: $0.task, number: $0.number, executionID: $0.execution_id, state: try parse(TaskState.self, $0.state),
                    exitCode: $0.exit_code, reason: $0.reason, createdAt: $0.created_at, startedAt: $0.started_at,
                    finishedAt: $0.finished_at, retryAt: $0.retry_at, invocation: $0.invocation, workingDirectory: $0.working_directory,
                    storedBytes: $0.stored_bytes)
            }
        )
    }

    static func parse<T: RawRepresentable<String>>(_ type: T.Type, _ text: String) throws -> T {
        guard let value = T(rawValue: text) else { throw StoreError.corrupt("unknown \(T.self) \"\(text)\" in the orchestrator's tables") }
        return value
    }

    // MARK: Writing

    /// Stores new runs with their tasks in one transaction. A run whose id exists already is left as it is; returns the ids
    /// stored.
    func insert(_ runs: [RunRecord]) async throws -> Set<String> {
        guard !runs.isEmpty else { return [] }
        let stored = try await database.transaction { sql in
            var stored: Set<String> = []
            // A run's row holds its plan: fewer of them a statement.
            for batch in try runs.map(Self.row).batches(of: Self.rowsPerStatement / 10) {
                let inserted = try await sql.insert(into: "orchestrator_runs").models(batch, nilEncodingStrategy: .asNil)
                    .ignoringConflicts(with: "id").returning("id").all()
                for row in inserted { stored.insert(try row.decode(column: "id", as: String.self)) }
            }
            let tasks = runs.filter { stored.contains($0.id) }.flatMap { run in
                run.plan.tasks.compactMap { run.tasks[$0.name].map { Self.row($0, run: run.id) } }
            }
            for batch in tasks.batches(of: Self.rowsPerStatement) {
                try await sql.insert(into: "orchestrator_tasks").models(batch, nilEncodingStrategy: .asNil).run()
            }
            return stored
        }
        for run in runs where stored.contains(run.id) {
            var written = run
            written.written()
            records.keep(written, version: 0)
        }
        return stored
    }

    /// Rows per multi-row statement: well under SQLite's and PostgreSQL's limits of bound values.
    static let rowsPerStatement = 500

    /// Loads the run, lets `change` edit it, and writes back what changed, in one transaction (row-locked on
    /// PostgreSQL). Nil when there is no such run.
    func update<T: Sendable>(_ id: String, _ change: @escaping @Sendable (inout RunRecord) throws -> T) async throws -> T? {
        try await update(id, usageOf: nil) { run, _ in try change(&run) }
    }

    /// ``update(_:_:)`` for several runs in one transaction (their rows locked in id order on PostgreSQL): `change` edits
    /// each that exists, and what changed is written. The results by run id.
    func update<T: Sendable>(_ ids: [String], _ change: @escaping @Sendable (inout RunRecord) throws -> T) async throws -> [String: T] {
        let lock: SQLQueryString = database.dialect == .postgres ? " FOR UPDATE" : ""
        let sorted = Set(ids).sorted()
        let outcomes = try await database.transaction { sql -> [(result: T, run: RunRecord, version: Int64)] in
            var versions: [String: Int64] = [:]
            for batch in sorted.batches(of: Self.rowsPerStatement) {
                let rows = try await sql.raw("SELECT id, version FROM orchestrator_runs WHERE id IN (\(binds: batch)) ORDER BY id\(lock)")
                    .all()
                for row in rows {
                    versions[try row.decode(column: "id", as: String.self)] = try row.decode(column: "version", as: Int64.self)
                }
            }
            var outcomes: [(result: T, run: RunRecord, version: Int64)] = []
            for id in sorted {
                guard let version = versions[id] else { continue }
                var found = records.take(id, version: version)
                if found == nil { found = try await load(id, sql: sql) }
                guard var run = found else { continue }
                let result = try change(&run)
                outcomes.append((result, run, run.hasChanges ? version + 1 : version))
            }
            try await Self.write(outcomes.filter { $0.run.hasChanges }.map { ($0.run, $0.version) }, sql: sql)
            return outcomes
        }
        var results: [String: T] = [:]
        for var outcome in outcomes {
            outcome.run.written()
            records.keep(outcome.run, version: outcome.version)
            results[outcome.run.id] = outcome.result
        }
        return results
    }

    /// What the project's other runs use, for its quotas.
    struct ProjectUsage: Sendable {
        var runningRuns: Int
        var runningTasks: Int
    }

    /// ``update(_:_:)`` that also hands `change` the usage of `project` by its other runs, read in the same
    /// transaction under a lock on the project (an advisory lock on PostgreSQL), so two runs never both take the
    /// last place of a quota.
    func update<T: Sendable>(
        _ id: String, usageOf project: String?, _ change: @escaping @Sendable (inout RunRecord, ProjectUsage?) throws -> T
    ) async throws -> T? {
        let postgres = database.dialect == .postgres
        return try await database.transaction { sql -> (T, RunRecord, Int64)? in
            var usage: ProjectUsage?
            if let project {
                if postgres {
                    _ = try await sql.raw("SELECT pg_advisory_xact_lock(hashtext(\(bind: "trellis-project:" + project)))").first()
                }
                let runs =
                    try await sql.raw(
                        "SELECT COUNT(*) AS n FROM orchestrator_runs WHERE project = \(bind: project) AND state = 'running' AND id <> \(bind: id)"
                    ).first()?.decode(column: "n", as: Int.self) ?? 0
                let tasks =
                    try await sql.raw(
                        """
                        SELECT COUNT(*) AS n FROM orchestrator_attempts a JOIN orchestrator_runs r ON r.id = a.run_id
                        WHERE r.project = \(bind: project) AND r.state = 'running' AND a.state = 'running' AND a.run_id <> \(bind: id)
                        """
                    ).first()?.decode(column: "n", as: Int.self) ?? 0
                usage = ProjectUsage(runningRuns: runs, runningTasks: tasks)
            }
            // SQLite transactions are serialized already (BEGIN IMMEDIATE).
            let lock: SQLQueryString = postgres ? " FOR UPDATE" : ""
            guard
                let version = try await sql.raw("SELECT version FROM orchestrator_runs WHERE id = \(bind: id)\(lock)").first()?
                    .decode(column: "version", as: Int64.self)
            else { return nil }
            var found = records.take(id, version: version)
            if found == nil { found = try await load(id, sql: sql) }
            guard var run = found else { return nil }
            let result = try change(&run, usage)
            guard run.hasChanges else { return (result, run, version) }
            try await Self.write([(run, version + 1)], sql: sql)
            run.written()
            return (result, run, version + 1)
        }.map { outcome in
            records.keep(outcome.1, version: outcome.2)
            return outcome.0
        }
    }

    /// The project of a run, and its other unfinished runs, oldest first.
    func projectRuns(of id: String) async throws -> (project: String, others: [String])? {
        try await database.read { sql in
            guard
                let project = try await sql.select().column("project").from("orchestrator_runs").where("id", .equal, id).first()?
                    .decode(column: "project", as: String.self)
            else { return nil }
            let others = try await sql.select().column("id").from("orchestrator_runs").where("project", .equal, project)
                .where("state", .in, [RunState.pending.rawValue, RunState.running.rawValue]).where("id", .notEqual, id).orderBy(
                    "created_at"
                )
                .all().map { try $0.decode(column: "id", as: String.self) }
            return (project, others)
        }
    }

    /// Writes what changed in each run since it was read or last written, as its new version: the runs' rows, then their
    /// changed tasks and attempts together in multi-row statements.
    static func write(_ runs: [(run: RunRecord, version: Int64)], sql: any SQLDatabase) async throws {
        // The plan never changes after the run is created: the rows' changing fields, several rows a statement.
        for batch in runs.batches(of: rowsPerStatement) {
            var update = SQLQueryString("UPDATE orchestrator_runs SET state = v.column2, reason = v.column3, ")
            update.appendLiteral("started_at = CAST(v.column4 AS BIGINT), finished_at = CAST(v.column5 AS BIGINT), ")
            update.appendLiteral("deadline_at = CAST(v.column6 AS BIGINT), stopping = v.column7, version = CAST(v.column8 AS BIGINT) ")
            update.appendLiteral("FROM (VALUES ")
            for (position, (run, version)) in batch.enumerated() {
                if position > 0 { update.appendLiteral(", ") }
                update.appendInterpolation(
                    """
                    (\(bind: run.id), \(bind: run.state.rawValue), \(bind: run.reason), \(bind: run.startedAt), \(bind: run.finishedAt), \
                    \(bind: run.deadlineAt), \(bind: run.stopping?.rawValue), \(bind: version))
                    """ as SQLQueryString)
            }
            update.appendLiteral(") AS v WHERE orchestrator_runs.id = v.column1")
            try await sql.raw(update).run()
        }
        // The alert outbox: a run's event exists exactly when its end committed.
        try await AlertRepository.record(
            runs.compactMap { run, _ in run.state != run.stored.state && !run.stored.state.isFinished ? run.endEvent : nil }, sql: sql)
        let tasks = runs.flatMap { run, _ in run.changes.tasks.sorted().compactMap { run.tasks[$0].map { row($0, run: run.id) } } }
        for batch in tasks.batches(of: rowsPerStatement) {
            try await sql.insert(into: "orchestrator_tasks").models(batch, nilEncodingStrategy: .asNil)
                .onConflict(with: ["run_id", "name"]) { try $0.set(excludedContentOf: batch[0], nilEncodingStrategy: .asNil) }.run()
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // The wall clock, not the engine's: the metrics collector follows attempts by when they were written.
        let written = Date().milliseconds
        let attempts = try runs.flatMap { run, _ in
            try run.changes.attempts.sorted().map { position in
                var row = try Self.row(run.attempts[position], run: run.id, encoder: encoder)
                row.changed_at = written
                return row
            }
        }
        for batch in attempts.batches(of: rowsPerStatement) {
            try await sql.insert(into: "orchestrator_attempts").models(batch, nilEncodingStrategy: .asNil)
                .onConflict(with: ["execution_id"]) { try $0.set(excludedContentOf: batch[0], nilEncodingStrategy: .asNil) }.run()
        }
    }

    static func row(_ run: RunRecord) throws -> RunRow {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return RunRow(
            id: run.id, project: run.project, pipeline: run.pipeline, pipeline_version: run.pipelineVersion,
            run_trigger: run.trigger.rawValue, state: run.state.rawValue, reason: run.reason,
            plan: String(decoding: try encoder.encode(run.plan), as: UTF8.self), debug: run.debug, execution_date: run.executionDate,
            started_by: run.startedBy, created_at: run.createdAt, started_at: run.startedAt, finished_at: run.finishedAt,
            deadline_at: run.deadlineAt, stopping: run.stopping?.rawValue, cluster: run.cluster, version: 0, pinned: run.pinned
        )
    }

    static func row(_ task: TaskRecord, run: String) -> TaskRow {
        TaskRow(
            run_id: run, name: task.name, state: task.state.rawValue, attempts: task.attempts, round_start: task.roundStart,
            not_before: task.notBefore)
    }

    static func row(_ attempt: AttemptRecord, run: String, encoder: JSONEncoder) throws -> AttemptRow {
        AttemptRow(
            run_id: run, task: attempt.task, number: attempt.number, execution_id: attempt.executionID, state: attempt.state.rawValue,
            exit_code: attempt.exitCode, reason: attempt.reason, created_at: attempt.createdAt, started_at: attempt.startedAt,
            finished_at: attempt.finishedAt, invocation: attempt.invocation, working_directory: attempt.workingDirectory,
            retry_at: attempt.retryAt, changed_at: nil, stored_bytes: attempt.storedBytes
        )
    }
}

/// Decoded and indexed run plans by run id, bounded.
final class PlanCache: Sendable {
    struct Indexed: Sendable {
        let plan: RunPlan
        let index: PlanIndex

        func task(named name: String) -> RunPlan.Task? { index.positions[name].map { plan.tasks[$0] } }
    }

    private let plans = Mutex<[String: Indexed]>([:])
    static let limit = 1_000

    func cached(_ run: String) -> Indexed? { plans.withLock { $0[run] } }

    func plan(of run: String, decode: () throws -> RunPlan) throws -> Indexed {
        if let plan = plans.withLock({ $0[run] }) { return plan }
        let plan = try decode()
        let indexed = Indexed(plan: plan, index: PlanIndex(plan))
        plans.withLock { plans in
            if plans.count >= Self.limit { plans.removeAll() }
            plans[run] = indexed
        }
        return indexed
    }
}

/// Unfinished runs as this process last wrote them, by id with the version written, bounded. A step takes its run out (so that
/// it changes it in place, not a copy) and puts it back once its transaction committed; a version that does not match
/// the row's means another process wrote the run since, and it is read again.
final class RunCache: Sendable {
    private let runs = Mutex<[String: (version: Int64, run: RunRecord)]>([:])
    static let limit = 256

    func take(_ id: String, version: Int64) -> RunRecord? {
        runs.withLock { runs in
            guard let kept = runs.removeValue(forKey: id), kept.version == version else { return nil }
            return kept.run
        }
    }

    /// Keeps `run` as written at `version`; a finished run is let go (its steps are over; a resume reads it again).
    func keep(_ run: RunRecord, version: Int64) {
        runs.withLock { runs in
            if let kept = runs[run.id], kept.version > version { return }
            guard !run.state.isFinished else {
                runs[run.id] = nil
                return
            }
            if runs.count >= Self.limit, runs[run.id] == nil, let any = runs.keys.first { runs[any] = nil }
            runs[run.id] = (version, run)
        }
    }
}

extension Array {
    /// The elements in consecutive slices of at most `size`.
    func batches(of size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
