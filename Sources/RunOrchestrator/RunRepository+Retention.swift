import Foundation
import SQLKit
import ServiceContracts
import TrellisCore
import TrellisStore

/// Pins, what a project's runs take, and the retention job's reads and deletions (``RunRetentionJob``).
extension RunRepository {
    /// Pins or unpins a run, as a new version of it (an orchestrator's copy in memory is read again). False when there
    /// is no such run in the project.
    func pin(_ id: String, inProject project: String, _ pinned: Bool) async throws -> Bool {
        try await database.transaction { sql in
            try await sql.raw(
                """
                UPDATE orchestrator_runs SET pinned = \(bind: pinned), version = version + 1
                WHERE id = \(bind: id) AND project = \(bind: project) RETURNING id
                """
            ).first() != nil
        }
    }

    /// What a project's runs take: their number, the pinned among them, their attempts, the attempts' logs and samples
    /// on the cluster gateway, and their rows' largest parts (plans and invocations).
    func storage(ofProject project: String) async throws -> ProjectStorage {
        // The bytes of a text column: PostgreSQL counts them; SQLite counts characters of text, bytes of a blob.
        let postgres = database.dialect == .postgres
        let plan: SQLQueryString = postgres ? "OCTET_LENGTH(plan)" : "LENGTH(CAST(plan AS BLOB))"
        let invocation: SQLQueryString = postgres ? "OCTET_LENGTH(a.invocation)" : "LENGTH(CAST(a.invocation AS BLOB))"
        struct Runs: Decodable { let runs: Int, pinned: Int64, bytes: Int64 }
        struct Attempts: Decodable { let attempts: Int, stored: Int64, bytes: Int64 }
        return try await database.snapshot { sql in
            let runs = try await sql.raw(
                """
                SELECT COUNT(*) AS runs, CAST(COALESCE(SUM(CASE WHEN pinned THEN 1 ELSE 0 END), 0) AS BIGINT) AS pinned,
                CAST(COALESCE(SUM(\(plan)), 0) AS BIGINT) AS bytes FROM orchestrator_runs WHERE project = \(bind: project)
                """
            ).first(decoding: Runs.self)
            let attempts = try await sql.raw(
                """
                SELECT COUNT(*) AS attempts, CAST(COALESCE(SUM(a.stored_bytes), 0) AS BIGINT) AS stored,
                CAST(COALESCE(SUM(\(invocation)), 0) AS BIGINT) AS bytes
                FROM orchestrator_attempts a JOIN orchestrator_runs r ON r.id = a.run_id WHERE r.project = \(bind: project)
                """
            ).first(decoding: Attempts.self)
            return ProjectStorage(
                runs: runs?.runs ?? 0, pinnedRuns: Int(runs?.pinned ?? 0), attempts: attempts?.attempts ?? 0,
                logBytes: attempts?.stored ?? 0, recordBytes: (runs?.bytes ?? 0) + (attempts?.bytes ?? 0))
        }
    }

    // MARK: Retention

    /// The projects that have runs.
    func projectsWithRuns() async throws -> [String] {
        try await database.read { sql in
            try await sql.raw("SELECT DISTINCT project FROM orchestrator_runs ORDER BY project").all()
                .map { try $0.decode(column: "project", as: String.self) }
        }
    }

    /// Up to `limit` runs of `project` that `retention` deletes at `now`, oldest first: finished, not pinned, and ended
    /// before its cutoff or beyond the newest `runsPerPipeline` unpinned runs of their pipeline — except the run of each
    /// pipeline's newest launched tick, which `dependsOnPast` reads.
    func expiredRuns(inProject project: String, retention: RunRetention, now: Date, limit: Int) async throws -> [String] {
        var conditions: [SQLQueryString] = []
        if let keep = retention.runsPerPipeline { conditions.append("position > \(bind: keep)") }
        if let cutoff = retention.cutoff(now: now) { conditions.append("finished_at < \(bind: cutoff)") }
        guard !conditions.isEmpty else { return [] }
        let expired = conditions.joined(separator: " OR ")
        let finished = RunState.allCases.filter(\.isFinished).map(\.rawValue)
        return try await database.read { sql in
            try await sql.raw(
                """
                SELECT id FROM (SELECT id, state, finished_at, created_at,
                    ROW_NUMBER() OVER (PARTITION BY pipeline ORDER BY created_at DESC, id DESC) AS position
                    FROM orchestrator_runs WHERE project = \(bind: project) AND pinned = \(bind: false)) AS ranked
                WHERE state IN (\(binds: finished)) AND (\(expired))
                AND id NOT IN (SELECT r.run_id FROM orchestrator_schedule_records r
                    WHERE r.project = \(bind: project) AND r.state = 'launched' AND r.run_id IS NOT NULL
                    AND r.execution_date = (SELECT MAX(n.execution_date) FROM orchestrator_schedule_records n
                        WHERE n.project = r.project AND n.pipeline = r.pipeline AND n.state = 'launched'))
                ORDER BY created_at, id LIMIT \(bind: limit)
                """
            ).all().map { try $0.decode(column: "id", as: String.self) }
        }
    }

    /// Deletes those of `ids` still finished and unpinned, with their tasks, attempts and schedule records, and notes
    /// each deletion with its executions in the same transaction (``RunDeletion``). The runs deleted.
    func delete(expired ids: [String], now: Int64) async throws -> [RunDeletion] {
        guard !ids.isEmpty else { return [] }
        let lock: SQLQueryString = database.dialect == .postgres ? " FOR UPDATE" : ""
        let finished = RunState.allCases.filter(\.isFinished).map(\.rawValue)
        return try await database.transaction { sql in
            var deletions: [RunDeletion] = []
            for batch in Set(ids).sorted().batches(of: Self.rowsPerStatement) {
                let runs = try await sql.raw(
                    """
                    SELECT id, project FROM orchestrator_runs WHERE id IN (\(binds: batch)) AND state IN (\(binds: finished))
                    AND pinned = \(bind: false) ORDER BY id\(lock)
                    """
                ).all()
                var found: [String: RunDeletion] = [:]
                for row in runs {
                    let id = try row.decode(column: "id", as: String.self)
                    found[id] = RunDeletion(run: id, project: try row.decode(column: "project", as: String.self), executions: [])
                }
                guard !found.isEmpty else { continue }
                let chosen = found.keys.sorted()
                for row in try await sql.raw(
                    "SELECT run_id, execution_id FROM orchestrator_attempts WHERE run_id IN (\(binds: chosen)) ORDER BY execution_id"
                ).all() {
                    found[try row.decode(column: "run_id", as: String.self)]?.executions
                        .append(try row.decode(column: "execution_id", as: String.self))
                }
                let batchDeletions = chosen.compactMap { found[$0] }
                let encoder = JSONEncoder()
                for deletion in batchDeletions {
                    let executions = String(decoding: try encoder.encode(deletion.executions), as: UTF8.self)
                    try await sql.raw(
                        """
                        INSERT INTO orchestrator_run_deletions (run_id, project, executions, deleted_at, discarded)
                        VALUES (\(bind: deletion.run), \(bind: deletion.project), \(bind: executions), \(bind: now), \(bind: false))
                        """
                    ).run()
                }
                try await sql.delete(from: "orchestrator_schedule_records").where("run_id", .in, chosen).run()
                try await sql.delete(from: "orchestrator_attempts").where("run_id", .in, chosen).run()
                try await sql.delete(from: "orchestrator_tasks").where("run_id", .in, chosen).run()
                try await sql.delete(from: "orchestrator_runs").where("id", .in, chosen).run()
                deletions += batchDeletions
            }
            return deletions
        }
    }

    /// Up to `limit` deleted runs whose executions' files are still to be discarded, oldest first.
    func undiscardedDeletions(limit: Int) async throws -> [RunDeletion] {
        try await database.read { sql in
            try await sql.raw(
                """
                SELECT run_id, project, executions FROM orchestrator_run_deletions WHERE discarded = \(bind: false)
                ORDER BY deleted_at, run_id LIMIT \(bind: limit)
                """
            ).all().map { row in
                RunDeletion(
                    run: try row.decode(column: "run_id", as: String.self), project: try row.decode(column: "project", as: String.self),
                    executions: try JSONDecoder().decode(
                        [String].self, from: Data(try row.decode(column: "executions", as: String.self).utf8)))
            }
        }
    }

    /// Notes that the deleted runs' executions are discarded.
    func discarded(_ runs: [String]) async throws {
        guard !runs.isEmpty else { return }
        try await database.transaction { sql in
            for batch in runs.batches(of: Self.rowsPerStatement) {
                try await sql.update("orchestrator_run_deletions").set("discarded", to: true).where("run_id", .in, batch).run()
            }
        }
    }

    /// Forgets deletions discarded before `cutoff` (the metrics collector has long followed them).
    func forgetDeletions(before cutoff: Int64) async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "orchestrator_run_deletions").where("discarded", .equal, true)
                .where("deleted_at", .lessThan, cutoff).run()
        }
    }

    /// Runs deleted at or after `since` (milliseconds; after the run `after` among those deleted at `since`), oldest
    /// first: the feed the metrics collector follows.
    func deletedRuns(since: Int64, after: String?, limit: Int) async throws -> [DeletedRun] {
        try await database.read { sql in
            try await sql.raw(
                """
                SELECT run_id, project, deleted_at FROM orchestrator_run_deletions
                WHERE deleted_at > \(bind: since) OR (deleted_at = \(bind: since) AND run_id > \(bind: after ?? ""))
                ORDER BY deleted_at, run_id LIMIT \(bind: limit)
                """
            ).all().map { row in
                DeletedRun(
                    run: try row.decode(column: "run_id", as: String.self), project: try row.decode(column: "project", as: String.self),
                    deletedAt: .fromMilliseconds(try row.decode(column: "deleted_at", as: Int64.self)))
            }
        }
    }
}

/// A run the retention job deleted, with the executions whose files go too.
struct RunDeletion: Sendable, Equatable {
    let run: String
    let project: String
    var executions: [String]
}
