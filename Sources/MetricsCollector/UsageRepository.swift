import Foundation
import SQLKit
import ServiceContracts
import TrellisCore
import TrellisStore

/// The collector's tables (migrations/metrics): the attempts it samples with their summaries, raw samples, samples
/// downsampled per minute, and where it is in the orchestrator's attempt feed.
struct UsageRepository: Sendable {
    let database: Database

    struct AttemptRow: Codable, Sendable {
        var execution_id: String, project: String, pipeline: String, run_id: String, task: String, attempt: Int, state: String
        var cluster: String?, started_at: Int64?, finished_at: Int64?, cpu: String?, memory: String?, gpu: Int?
        var sample_offset: Int64, done: Bool, samples: Int, cpu_sum: Double, cpu_peak: Double?, cpu_seconds: Double?
        var memory_peak: Int64?, gpu_peak: Double?, gpu_memory_peak: Int64?, threads_peak: Int?

        var summary: UsageSummary {
            UsageSummary(
                samples: samples, peakMemoryBytes: memory_peak, meanCpuCores: samples > 0 ? cpu_sum / Double(samples) : nil,
                peakCpuCores: cpu_peak, cpuSeconds: cpu_seconds, peakThreads: threads_peak, peakGpuPercent: gpu_peak,
                peakGpuMemoryBytes: gpu_memory_peak)
        }
    }

    struct SampleRow: Codable, Sendable {
        var execution_id: String, replica: String, at: Int64, cpu: Double, memory: Int64, gpu: Double?, gpu_memory: Int64?
        var threads: Int?
    }

    // MARK: The feed

    /// The orchestrator's feeds the collector follows, by their row in `metrics_feed`.
    enum Feed: Int {
        case attempts = 1
        case deletedRuns = 2
    }

    /// Where the collector is in one of the orchestrator's feeds (milliseconds); 0 at first.
    func feedPosition(_ feed: Feed = .attempts) async throws -> Int64 {
        try await database.read { sql in
            try await sql.select().column("changed_at").from("metrics_feed").where("id", .equal, feed.rawValue).first()?
                .decode(column: "changed_at", as: Int64.self) ?? 0
        }
    }

    /// Records the attempts the feed gave and the feed's new position, in one transaction. An attempt already known
    /// keeps its samples and summary; what the orchestrator says of it (state, times) is updated.
    func record(_ changes: [AttemptChange], position: Int64) async throws {
        try await database.transaction { sql in
            for change in changes {
                let row = AttemptRow(
                    execution_id: change.executionID, project: change.project, pipeline: change.pipeline, run_id: change.run,
                    task: change.task, attempt: change.attempt, state: change.state, cluster: change.cluster,
                    started_at: change.startedAt?.milliseconds, finished_at: change.finishedAt?.milliseconds, cpu: change.cpu,
                    memory: change.memory, gpu: change.gpu, sample_offset: 0, done: false, samples: 0, cpu_sum: 0, cpu_peak: nil,
                    cpu_seconds: nil, memory_peak: nil, gpu_peak: nil, gpu_memory_peak: nil, threads_peak: nil)
                try await sql.insert(into: "metrics_attempts").model(row).onConflict(with: ["execution_id"]) {
                    $0.set(excludedValueOf: "state").set(excludedValueOf: "started_at").set(excludedValueOf: "finished_at")
                }.run()
            }
            try await Self.move(.attempts, to: position, sql: sql)
        }
    }

    /// Deletes everything of the runs the orchestrator deleted and notes the deletion feed's new position, in one
    /// transaction.
    func delete(_ runs: [DeletedRun], position: Int64) async throws {
        try await database.transaction { sql in
            for (project, deleted) in Dictionary(grouping: runs, by: \.project).sorted(by: { $0.key < $1.key }) {
                for batch in deleted.map(\.run).chunked(by: 500) {
                    let attempts = SQLSubquery.select {
                        $0.column("execution_id").from("metrics_attempts").where("project", .equal, project).where(
                            "run_id", .in, Array(batch))
                    }
                    for table in ["metrics_samples", "metrics_minutes"] {
                        try await sql.delete(from: table).where("execution_id", .in, attempts).run()
                    }
                    try await sql.delete(from: "metrics_attempts").where("project", .equal, project).where("run_id", .in, Array(batch))
                        .run()
                }
            }
            try await Self.move(.deletedRuns, to: position, sql: sql)
        }
    }

    static func move(_ feed: Feed, to position: Int64, sql: any SQLDatabase) async throws {
        try await sql.insert(into: "metrics_feed").columns("id", "changed_at").values(SQLBind(feed.rawValue), SQLBind(position))
            .onConflict(with: ["id"]) { $0.set(excludedValueOf: "changed_at") }.run()
    }

    // MARK: Ingesting

    /// A page of the attempts that started (or ended without starting) whose samples are not all in yet, by execution id
    /// after `after`.
    func open(after: String?, limit: Int) async throws -> [AttemptRow] {
        try await database.read { sql in
            try await sql.select().columns("*").from("metrics_attempts").where("done", .equal, false)
                .where { $0.where("started_at", .isNot, SQLLiteral.null).orWhere("finished_at", .isNot, SQLLiteral.null) }
                .where("execution_id", .greaterThan, after ?? "").orderBy("execution_id").limit(limit).all(decoding: AttemptRow.self)
        }
    }

    /// Stores an attempt's new samples and folds them into its summary; `done` once nothing more will come.
    func ingest(_ samples: [SampleRow], finalCPUSeconds: Double?, into attempt: AttemptRow, offset: Int64, done: Bool) async throws {
        var updated = attempt
        updated.sample_offset = offset
        updated.done = done
        updated.samples += samples.count
        updated.cpu_sum += samples.map(\.cpu).reduce(0, +)
        updated.cpu_peak = ([attempt.cpu_peak].compactMap { $0 } + samples.map(\.cpu)).max()
        updated.memory_peak = ([attempt.memory_peak].compactMap { $0 } + samples.map(\.memory)).max()
        updated.gpu_peak = ([attempt.gpu_peak].compactMap { $0 } + samples.compactMap(\.gpu)).max()
        updated.gpu_memory_peak = ([attempt.gpu_memory_peak].compactMap { $0 } + samples.compactMap(\.gpu_memory)).max()
        updated.threads_peak = ([attempt.threads_peak].compactMap { $0 } + samples.compactMap(\.threads)).max()
        if let finalCPUSeconds { updated.cpu_seconds = (attempt.cpu_seconds ?? 0) + finalCPUSeconds }
        let row = updated
        try await database.transaction { sql in
            for chunk in samples.chunked(by: 200) {
                // Nil GPU fields as NULL: every row of the insert has the same columns.
                try await sql.insert(into: "metrics_samples").models(Array(chunk), nilEncodingStrategy: .asNil)
                    .ignoringConflicts(with: ["execution_id", "replica", "at"]).run()
            }
            try await sql.update("metrics_attempts").set(
                model: Summary(
                    sample_offset: row.sample_offset, done: row.done, samples: row.samples, cpu_sum: row.cpu_sum, cpu_peak: row.cpu_peak,
                    cpu_seconds: row.cpu_seconds, memory_peak: row.memory_peak, gpu_peak: row.gpu_peak,
                    gpu_memory_peak: row.gpu_memory_peak, threads_peak: row.threads_peak)
            ).where("execution_id", .equal, row.execution_id).run()
        }
    }

    /// The columns ingesting changes.
    struct Summary: Codable {
        var sample_offset: Int64, done: Bool, samples: Int, cpu_sum: Double, cpu_peak: Double?, cpu_seconds: Double?
        var memory_peak: Int64?, gpu_peak: Double?, gpu_memory_peak: Int64?, threads_peak: Int?
    }

    // MARK: Queries

    func attempt(project: String, run: String, task: String, number: Int) async throws -> AttemptRow? {
        try await database.read { sql in
            try await sql.select().columns("*").from("metrics_attempts").where("project", .equal, project).where("run_id", .equal, run)
                .where("task", .equal, task).where("attempt", .equal, number).first(decoding: AttemptRow.self)
        }
    }

    func attempts(project: String, run: String) async throws -> [AttemptRow] {
        try await database.read { sql in
            try await sql.select().columns("*").from("metrics_attempts").where("project", .equal, project).where("run_id", .equal, run)
                .orderBy("task").orderBy("attempt").all(decoding: AttemptRow.self)
        }
    }

    /// The latest `limit` succeeded attempts of each of a pipeline's tasks that have a peak memory.
    func recentPeaks(project: String, pipeline: String, limit: Int) async throws -> [String: [(cpuCores: Double, memoryBytes: Int64)]] {
        let rows = try await database.read { sql in
            try await sql.raw(
                """
                SELECT task, cpu_peak, memory_peak FROM (
                  SELECT task, cpu_peak, memory_peak, ROW_NUMBER() OVER (PARTITION BY task ORDER BY finished_at DESC) AS recency
                  FROM metrics_attempts WHERE project = \(bind: project) AND pipeline = \(bind: pipeline) AND state = 'succeeded'
                  AND memory_peak IS NOT NULL
                ) ranked WHERE recency <= \(bind: limit)
                """
            ).all(decoding: Peak.self)
        }
        var peaks: [String: [(cpuCores: Double, memoryBytes: Int64)]] = [:]
        for row in rows { peaks[row.task, default: []].append((row.cpu_peak ?? 0, row.memory_peak ?? 0)) }
        return peaks
    }

    struct Peak: Decodable {
        var task: String, cpu_peak: Double?, memory_peak: Int64?
    }

    /// How many points an attempt's series hold (minutes and raw samples), the span they cover (milliseconds) and
    /// over how many replicas.
    func extent(of execution: String) async throws -> (points: Int, span: Int64, replicas: Int) {
        struct Extent: Decodable { var n: Int, first: Int64?, last: Int64?, replicas: Int }
        let found = try await database.snapshot { sql in
            try await sql.raw(
                """
                SELECT CAST(SUM(n) AS BIGINT) AS n, MIN(first) AS first, MAX(last) AS last, MAX(replicas) AS replicas FROM (
                  SELECT COUNT(*) AS n, MIN(at) AS first, MAX(at) AS last, COUNT(DISTINCT replica) AS replicas
                  FROM metrics_samples WHERE execution_id = \(bind: execution)
                  UNION ALL
                  SELECT COUNT(*), MIN(minute), MAX(minute), COUNT(DISTINCT replica) FROM metrics_minutes WHERE execution_id = \(bind: execution)
                ) parts
                """
            ).first(decoding: Extent.self)
        }
        guard let found, let first = found.first, let last = found.last else { return (0, 0, 0) }
        return (found.n, last - first, found.replicas)
    }

    /// An attempt's series per replica: the minutes (their mean CPU and GPU, peak memory) then the raw samples; with a
    /// `step`, averaged into steps by the database (CPU and GPU their mean, memory its peak), so a day of one-second
    /// samples leaves it as a few thousand rows.
    func series(of execution: String, step: Duration? = nil) async throws -> [UsageSeries] {
        let width = step.map { max($0.milliseconds, 1) }
        let rows = try await database.snapshot { sql in
            let minuteAt: SQLQueryString = width.map { "(minute / \(bind: $0)) * \(bind: $0)" } ?? "minute"
            let sampleAt: SQLQueryString = width.map { "(at / \(bind: $0)) * \(bind: $0)" } ?? "at"
            // Grouped by position: PostgreSQL cannot tell two bound steps are the same expression.
            let minutes = try await sql.raw(
                """
                SELECT replica, \(minuteAt) AS at, AVG(cpu_avg) AS cpu, MAX(memory_max) AS memory, MAX(threads_max) AS threads,
                AVG(gpu_avg) AS gpu, MAX(gpu_memory_max) AS gpu_memory FROM metrics_minutes WHERE execution_id = \(bind: execution)
                GROUP BY 1, 2 ORDER BY 2
                """
            ).all(decoding: PointRow.self)
            let samples = try await sql.raw(
                """
                SELECT replica, \(sampleAt) AS at, AVG(cpu) AS cpu, MAX(memory) AS memory, MAX(threads) AS threads, AVG(gpu) AS gpu,
                MAX(gpu_memory) AS gpu_memory
                FROM metrics_samples WHERE execution_id = \(bind: execution) GROUP BY 1, 2 ORDER BY 2
                """
            ).all(decoding: PointRow.self)
            return minutes + samples
        }
        var points: [String: [UsagePoint]] = [:]
        for row in rows {
            points[row.replica, default: []].append(
                UsagePoint(
                    at: .fromMilliseconds(row.at), cpuCores: row.cpu, memoryBytes: row.memory, threads: row.threads, gpuPercent: row.gpu,
                    gpuMemoryBytes: row.gpu_memory))
        }
        return points.keys.sorted { $0.localizedStandardCompare($1) == .orderedAscending }.map { replica in
            let found = points[replica] ?? []
            // A step the minutes and the raw samples both fall in: one point.
            return UsageSeries(replica: replica, points: step.map { UsagePoint.bucketed(found, step: $0) } ?? found)
        }
    }

    /// A point of a series as the database aggregates it.
    struct PointRow: Decodable {
        var replica: String, at: Int64, cpu: Double, memory: Int64, threads: Int?, gpu: Double?, gpu_memory: Int64?
    }

    // MARK: Retention

    /// Samples taken before `cutoff` (a minute's start) become one row per replica and minute.
    func downsample(before cutoff: Int64) async throws {
        try await database.transaction { sql in
            try await sql.raw(
                """
                INSERT INTO metrics_minutes (execution_id, replica, minute, samples, cpu_min, cpu_avg, cpu_max, memory_min, memory_avg,
                memory_max, gpu_avg, gpu_max, gpu_memory_max, threads_max)
                SELECT execution_id, replica, (at / 60000) * 60000, COUNT(*), MIN(cpu), AVG(cpu), MAX(cpu), MIN(memory),
                CAST(AVG(memory) AS BIGINT), MAX(memory), AVG(gpu), MAX(gpu), MAX(gpu_memory), MAX(threads)
                FROM metrics_samples WHERE at < \(bind: cutoff) GROUP BY execution_id, replica, (at / 60000) * 60000
                ON CONFLICT (execution_id, replica, minute) DO NOTHING
                """
            ).run()
            try await sql.delete(from: "metrics_samples").where("at", .lessThan, cutoff).run()
        }
    }

    /// Everything of attempts that ended before `cutoff`, a thousand attempts per transaction.
    func deleteEnded(before cutoff: Int64) async throws {
        while try await delete(where: { $0.where("finished_at", .lessThan, cutoff) }) {}
    }

    /// Everything of a deleted project.
    func deleteAll(ofProject project: String) async throws {
        while try await delete(where: { $0.where("project", .equal, project) }) {}
    }

    /// Deletes up to 1,000 attempts `filter` selects with their samples; false once none was left.
    private func delete(where filter: @escaping @Sendable (SQLSelectBuilder) -> SQLSelectBuilder) async throws -> Bool {
        try await database.transaction { sql in
            let ids = try await filter(sql.select().column("execution_id").from("metrics_attempts")).limit(1000).all()
                .map { try $0.decode(column: "execution_id", as: String.self) }
            guard !ids.isEmpty else { return false }
            for table in ["metrics_samples", "metrics_minutes", "metrics_attempts"] {
                try await sql.delete(from: table).where("execution_id", .in, ids).run()
            }
            return true
        }
    }
}

extension Array {
    func chunked(by size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
