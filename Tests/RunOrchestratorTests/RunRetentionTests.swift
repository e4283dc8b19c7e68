import Foundation
import SQLKit
import Testing
import TrellisCore
import TrellisStore
import TrellisTestSupport

@testable import RunOrchestrator

/// Which runs a project's retention deletes: finished, unpinned runs that ended before the cutoff or are beyond the
/// newest N of their pipeline — never a run that has not ended, a pinned one, or the run of a pipeline's newest launched
/// tick; and a run that changed between the choice and the deletion (resumed, pinned) stays. On the whole platform the
/// deleted runs' logs, files and resource samples go with them, and the project's storage says what is left.
@Suite struct RunRetentionTests {
    static let day: Int64 = 86_400_000
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// A run of `pipeline` created at `created` (days before now), ended `ended` days before now (nil: still running).
    static func run(_ id: String, _ pipeline: String, created: Int64, ended: Int64?, pinned: Bool = false) -> RunRecord {
        let base = RunRepositoryTests.run(id: id)
        let at = now.milliseconds
        return RunRecord(
            id: id, project: "p", pipeline: pipeline, pipelineVersion: 1, trigger: .schedule, state: ended == nil ? .running : .succeeded,
            plan: base.plan, debug: false, executionDate: at - created * day, startedBy: "olga", createdAt: at - created * day,
            startedAt: at - created * day, finishedAt: ended.map { at - $0 * day }, pinned: pinned, tasks: base.tasks, attempts: [])
    }

    /// Stores the runs, each with an attempt of its task `a`.
    static func store(_ runs: [RunRecord], in repository: RunRepository) async throws {
        _ = try await repository.insert(runs)
        _ = try await repository.update(runs.map(\.id)) { run in
            run.append(
                AttemptRecord(
                    task: "a", number: 1, executionID: "\(run.id)-a-1", state: run.state.isFinished ? .succeeded : .running, createdAt: 0,
                    invocation: "{}"))
        }
    }

    static func withRepository(_ kind: DatabaseKind, _ body: @escaping @Sendable (RunRepository, Database) async throws -> Void)
        async throws
    {
        try await TestDatabases.withFresh(kind) { url in
            try await Database.withOpened(url, logger: TestDatabases.logger) { database in
                try await Migrator(database: database).apply(try RunOrchestratorModule.migrations()!)
                try await body(RunRepository(database: database), database)
            }
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func retentionChoosesOnlyEndedUnpinnedRunsItNoLongerKeeps(_ kind: DatabaseKind) async throws {
        try await Self.withRepository(kind) { repository, database in
            try await Self.store(
                [
                    Self.run("a1", "a", created: 50, ended: 40), Self.run("a2", "a", created: 45, ended: 35),
                    Self.run("a3", "a", created: 44, ended: nil), Self.run("a4", "a", created: 2, ended: 1),
                    Self.run("a5", "a", created: 0, ended: 0),
                    Self.run("b1", "b", created: 60, ended: 60, pinned: true), Self.run("b2", "b", created: 50, ended: 50),
                    Self.run("b3", "b", created: 49, ended: 49),
                ], in: repository)
            // b3 is the run of b's newest launched tick (dependsOnPast reads it), b2 of an older one.
            try await database.transaction { sql in
                for (run, date) in [("b2", Int64(1)), ("b3", 2)] {
                    try await sql.raw(
                        """
                        INSERT INTO orchestrator_schedule_records (project, pipeline, execution_date, run_trigger, state, run_id, created_at, updated_at)
                        VALUES ('p', 'b', \(bind: date), 'schedule', 'launched', \(bind: run), 0, 0)
                        """
                    ).run()
                }
            }
            let byAge = try await repository.expiredRuns(inProject: "p", retention: RunRetention(days: 30), now: Self.now, limit: 100)
            #expect(byAge == ["a1", "b2", "a2"])
            // Ranked among unpinned runs, newest first: a5, a4, a3 (running: kept), a2, a1; b3, b2 (b1 pinned).
            let byCount = try await repository.expiredRuns(
                inProject: "p", retention: RunRetention(runsPerPipeline: 2), now: Self.now, limit: 100)
            #expect(byCount == ["a1", "a2"])
            let either = try await repository.expiredRuns(
                inProject: "p", retention: RunRetention(days: 30, runsPerPipeline: 1), now: Self.now, limit: 100)
            #expect(either == ["a1", "b2", "a2", "a4"])
            #expect(try await repository.expiredRuns(inProject: "p", retention: RunRetention(), now: Self.now, limit: 100).isEmpty)
            #expect(try await repository.expiredRuns(inProject: "q", retention: RunRetention(days: 1), now: Self.now, limit: 100).isEmpty)

            // Between the choice and the deletion a2 is pinned and a1 resumed: both stay.
            #expect(try await repository.pin("a2", inProject: "p", true))
            #expect(try await repository.pin("a2", inProject: "other", false) == false)
            _ = try await repository.update("a1") { run in
                run.state = .running
                run.finishedAt = nil
            }
            let deleted = try await repository.delete(expired: either, now: Self.now.milliseconds)
            #expect(
                deleted == [
                    RunDeletion(run: "a4", project: "p", executions: ["a4-a-1"]),
                    RunDeletion(run: "b2", project: "p", executions: ["b2-a-1"]),
                ])
            #expect(try await repository.run("a4") == nil)
            #expect(try await repository.run("a2")?.pinned == true)
            #expect(try await repository.run("a1")?.state == .running)
            // Their tasks, attempts and schedule record went with them; the deletion is noted with its executions.
            let left = try await database.read { sql in
                var counts: [String: Int] = [:]
                for (table, column) in [
                    ("orchestrator_tasks", "run_id"), ("orchestrator_attempts", "run_id"), ("orchestrator_schedule_records", "run_id"),
                ] {
                    counts[table] = try await sql.select().column(SQLIdentifier(column)).from(table)
                        .where(SQLIdentifier(column), .in, ["a4", "b2"]).all().count
                }
                return counts
            }
            #expect(left.values.allSatisfy { $0 == 0 }, "\(left)")
            #expect(try await repository.undiscardedDeletions(limit: 10) == deleted)
            try await repository.discarded(["b2"])
            #expect(try await repository.undiscardedDeletions(limit: 10).map(\.run) == ["a4"])
            let feed = try await repository.deletedRuns(since: 0, after: nil, limit: 10)
            #expect(feed.map(\.run) == ["a4", "b2"] && feed.allSatisfy { $0.project == "p" && $0.deletedAt == Self.now })
            #expect(try await repository.deletedRuns(since: Self.now.milliseconds, after: "a4", limit: 10).map(\.run) == ["b2"])
            // Deleting again changes nothing; discarded deletions are forgotten once old.
            #expect(try await repository.delete(expired: ["a4", "b2"], now: Self.now.milliseconds).isEmpty)
            try await repository.forgetDeletions(before: Self.now.milliseconds + 1)
            #expect(try await repository.deletedRuns(since: 0, after: nil, limit: 10).map(\.run) == ["a4"])
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func aProjectsStorageCountsItsRunsAttemptsAndBytes(_ kind: DatabaseKind) async throws {
        try await Self.withRepository(kind) { repository, _ in
            var stored = Self.run("s1", "a", created: 1, ended: 0)
            try await Self.store([stored, Self.run("s2", "a", created: 0, ended: nil, pinned: true)], in: repository)
            _ = try await repository.update("s1") { run in run.update(attemptAt: 0) { $0.storedBytes = 1_234 } }
            stored = try #require(try await repository.run("s1"))
            let storage = try await repository.storage(ofProject: "p")
            #expect(storage.runs == 2 && storage.pinnedRuns == 1 && storage.attempts == 2 && storage.logBytes == 1_234)
            #expect(storage.recordBytes > 2 * Int64(stored.plan.tasks.count))
            #expect(
                try await repository.storage(ofProject: "none")
                    == ProjectStorage(runs: 0, pinnedRuns: 0, attempts: 0, logBytes: 0, recordBytes: 0))
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func theRetentionJobDeletesRunsWithTheirLogsAndSamples(_ kind: DatabaseKind) async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-data-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        try await EmbeddedHarness.with(kind, flags: ["data.dir": data.path, "runs.retention.interval": "1s"]) { api, url in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let tokens = try await api.team(project: "keep", owner: "olga", members: [("vera", "viewer")], admin: admin)
            let owner = tokens["olga"]
            // Long enough for the supervisor to take resource samples.
            try await api.applyPipeline(
                "work", project: "keep", token: owner,
                tasks: [["name": "step", "template": "shell", "args": ["command": "echo working; sleep 1.5"]]])
            try await api.applyPipeline(
                "slow", project: "keep", token: owner, tasks: [["name": "wait", "template": "shell", "args": ["command": "sleep 600"]]])
            var runs: [String] = []
            for _ in 0..<3 {
                let id = try await api.startRun("work", project: "keep", token: owner)
                #expect(try await api.waitForRun(id, project: "keep", token: owner)["state"] as? String == "succeeded")
                runs.append(id)
            }
            let slow = try await api.startRun("slow", project: "keep", token: owner)
            _ = try await api.waitForRun(slow, project: "keep", token: owner) { $0["state"] as? String == "running" }
            // Every run's samples are in, and its execution's files are on disk.
            let executions = data.appendingPathComponent("executions")
            try await Waiting.until("the samples of every run") {
                try await Self.sampledRuns(url).isSuperset(of: Set(runs))
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: executions.path).count == 4)
            let before = try await api.call("GET", "/api/v1/projects/keep/storage", token: tokens["vera"])
            #expect(
                before.status == 200 && before.json["runs"] as? Int == 4 && (before.json["logBytes"] as? Int ?? 0) > 0, "\(before.text)")

            // A viewer may not pin; the owner pins the oldest run.
            #expect(try await api.call("POST", "/api/v1/projects/keep/runs/\(runs[0])/pin", token: tokens["vera"]).status == 403)
            let pinned = try await api.call("POST", "/api/v1/projects/keep/runs/\(runs[0])/pin", token: owner)
            #expect(pinned.status == 200 && pinned.json["pinned"] as? Bool == true, "\(pinned.text)")
            #expect(try await api.call("POST", "/api/v1/projects/keep/runs/no-such-run/pin", token: owner).status == 404)

            // Bad retention is refused, naming the field; then one run per pipeline is kept.
            let bad = try await api.call(
                "PATCH", "/api/v1/projects/keep", token: owner, json: ["settings": ["retention": ["days": 0, "runsPerPipeline": -1]]])
            #expect(bad.status == 400, "\(bad.text)")
            #expect(bad.text.contains("settings.retention.days") && bad.text.contains("settings.retention.runsPerPipeline"), "\(bad.text)")
            let saved = try await api.call(
                "PATCH", "/api/v1/projects/keep", token: owner, json: ["settings": ["retention": ["runsPerPipeline": 1]]])
            #expect(saved.status == 200, "\(saved.text)")
            #expect((saved.json["settings"] as? [String: Any])?["retention"] as? [String: Int] == ["runsPerPipeline": 1])

            // The middle run goes: its record, its execution's files, its samples. The pinned and the newest stay, and so
            // does the slow run (the newest of its pipeline, and running).
            try await Waiting.until("the retention job to delete the middle run") {
                try await api.call("GET", "/api/v1/projects/keep/runs/\(runs[1])", token: owner).status == 404
            }
            let listed = try await api.call("GET", "/api/v1/projects/keep/runs", token: owner)
            let kept = Set((listed.json["runs"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String })
            #expect(kept == [runs[0], runs[2], slow])
            try await Waiting.until("the middle run's files and samples to go") {
                try await !Self.sampledRuns(url).contains(runs[1])
                    && FileManager.default.contentsOfDirectory(atPath: executions.path).count == 3
            }
            #expect(
                try await api.call("GET", "/api/v1/projects/keep/runs/\(runs[2])/tasks/step/logs", token: owner).text.contains("working"))
            let after = try await api.call("GET", "/api/v1/projects/keep/storage", token: owner)
            #expect(after.json["runs"] as? Int == 3 && after.json["pinnedRuns"] as? Int == 1, "\(after.text)")
            #expect((after.json["logBytes"] as? Int ?? 0) < (before.json["logBytes"] as? Int ?? 0))

            // Unpinned, the oldest is beyond the newest one of its pipeline too.
            #expect(
                try await api.call("POST", "/api/v1/projects/keep/runs/\(runs[0])/unpin", token: owner).json["pinned"] as? Bool == false)
            try await Waiting.until("the retention job to delete the unpinned run") {
                try await api.call("GET", "/api/v1/projects/keep/runs/\(runs[0])", token: owner).status == 404
            }
            #expect(try await api.call("GET", "/api/v1/projects/keep/runs/\(slow)", token: owner).json["state"] as? String == "running")
            #expect(try await api.call("POST", "/api/v1/projects/keep/runs/\(slow)/cancel", token: owner).status == 200)
        }
    }

    /// The runs whose samples the metrics collector keeps.
    static func sampledRuns(_ url: DatabaseURL) async throws -> Set<String> {
        try await Database.withOpened(url, logger: TestDatabases.logger) { database in
            try await database.read { sql in
                Set(
                    try await sql.raw(
                        "SELECT DISTINCT a.run_id FROM metrics_attempts a JOIN metrics_samples s ON s.execution_id = a.execution_id"
                    ).all().map { try $0.decode(column: "run_id", as: String.self) })
            }
        }
    }
}
