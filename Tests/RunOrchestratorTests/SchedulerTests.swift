import Foundation
import Testing
import TrellisStore
import TrellisTestSupport

/// The cron scheduler in the embedded platform on both databases: ticks become records and runs with their execution
/// date, explicit backfills, dependsOnPast with retry and skip, ticks whose run cannot be created. The policies
/// themselves are decided by the pure planner (SchedulePlannerTests); these tests show the service applies them.
@Suite struct SchedulerTests {
    /// `date` as a wall-clock time in `zone`, as a schedule's startTime is written.
    static func wall(_ date: Date, _ zone: String, format: String = "yyyy-MM-dd'T'HH:mm:ss") -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: zone)
        formatter.dateFormat = format
        return formatter.string(from: date)
    }

    /// The start of the current minute, `minutes` back.
    static func minute(_ minutes: Int) -> Date {
        let now = Date().timeIntervalSince1970
        return Date(timeIntervalSince1970: (now / 60).rounded(.down) * 60 - Double(minutes * 60))
    }

    static func schedule(_ cron: String, start: Date, zone: String = "UTC", extra: [String: Any] = [:]) -> [String: Any] {
        var schedule: [String: Any] = ["cron": cron, "timezone": zone, "startTime": wall(start, zone), "maxActiveRuns": 5]
        schedule.merge(extra) { $1 }
        return ["schedule": schedule]
    }

    @Test(arguments: DatabaseKind.allCases)
    func ticksRunWithTheirExecutionDateInTheScheduleTimeZone(_ kind: DatabaseKind) async throws {
        try await RunEngineTests.withTeam(kind) { api, token, _ in
            let zone = "Asia/Kolkata"
            let start = Self.minute(2)
            try await api.applyPipeline(
                "nightly", project: "ml", token: token,
                tasks: [RunEngineTests.shell("stamp", [], "echo \"tick={{execution_date}} env=$TRELLIS_EXECUTION_DATE ds={{ds}}\"")],
                spec: Self.schedule("* * * * *", start: start, zone: zone))
            // The ticks from the start time to now (three, or four if a minute turns meanwhile) launch and succeed.
            let records = try await api.waitForRecords("nightly", project: "ml", token: token) { records in
                records.count >= 3 && records.allSatisfy(RecordJSON.succeeded)
            }
            let dates = records.compactMap { RunJSON.date($0["executionDate"]) }.sorted()
            #expect(dates.first == start)
            #expect(zip(dates, dates.dropFirst()).allSatisfy { $1.timeIntervalSince($0) == 60 })
            for record in records {
                #expect(record["trigger"] as? String == "schedule")
                let id = try #require(RecordJSON.runID(record))
                let run = try await api.call("GET", "/api/v1/projects/ml/runs/\(id)", token: token).json
                #expect(run["trigger"] as? String == "schedule")
                #expect(run["executionDate"] as? String == record["executionDate"] as? String)
                #expect(run["startedBy"] as? String == "olga")
                // {{execution_date}} and TRELLIS_EXECUTION_DATE are the tick in the schedule's time zone.
                let tick = try #require(RunJSON.date(record["executionDate"]))
                let local = Self.wall(tick, zone, format: "yyyy-MM-dd HH:mm:ss")
                let logLink = try #require((record["logs"] as? [String: String])?["stamp"])
                let log = try await api.call("GET", logLink, token: token).text
                #expect(log.contains("tick=\(local) env=\(local) ds=\(Self.wall(tick, zone, format: "yyyy-MM-dd"))"), "\(log)")
            }

            // Runs filter by trigger and execution date. Every tick seen has its run, and every scheduled run belongs to a
            // tick (read again after the list: a minute may have turned meanwhile and launched one more).
            let scheduled = try await api.call("GET", "/api/v1/projects/ml/runs?pipeline=nightly&trigger=schedule", token: token)
            let listed = Set((scheduled.json["runs"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String })
            let ticks = try await api.scheduleRecords("nightly", project: "ml", token: token)
            #expect(Set(records.compactMap(RecordJSON.runID)).isSubset(of: listed), "\(listed)")
            #expect(listed.isSubset(of: Set(ticks.compactMap(RecordJSON.runID))), "\(listed)")
            let manual = try await api.call("GET", "/api/v1/projects/ml/runs?pipeline=nightly&trigger=manual", token: token)
            #expect((manual.json["runs"] as? [[String: Any]])?.isEmpty == true)
            let first = try #require(records.last?["executionDate"] as? String)
            let one = try await api.call("GET", "/api/v1/projects/ml/runs?from=\(first)&to=\(first)", token: token)
            #expect((one.json["runs"] as? [[String: Any]])?.map { $0["executionDate"] as? String } == [first])
            #expect(try await api.call("GET", "/api/v1/projects/ml/runs?from=yesterday", token: token).text.contains("from"))

            // The schedule as the API shows it: the next five fire times with the zone's offset.
            let schedule = try await api.call("GET", "/api/v1/projects/ml/pipelines/nightly/schedule", token: token)
            #expect(schedule.status == 200)
            #expect(schedule.json["timezone"] as? String == zone)
            #expect(schedule.json["owner"] as? String == "olga")
            let fires = schedule.json["nextFireTimes"] as? [String] ?? []
            #expect(fires.count == 5)
            #expect(fires.allSatisfy { $0.hasSuffix("+05:30") })

            // A new cron with the same startTime starts the schedule again from the save: the instant the server
            // recorded for the new version, not the test's clock.
            try await api.applyPipeline(
                "nightly", project: "ml", token: token,
                tasks: [RunEngineTests.shell("stamp", [], "echo \"tick={{execution_date}} env=$TRELLIS_EXECUTION_DATE ds={{ds}}\"")],
                spec: Self.schedule("*/5 * * * *", start: start, zone: zone))
            let reset = try await api.call("GET", "/api/v1/projects/ml/pipelines/nightly/schedule", token: token)
            #expect(reset.json["cron"] as? String == "*/5 * * * *")
            let restart = try #require((reset.json["startTime"] as? String).flatMap { try? Date($0, strategy: .iso8601) })
            let versions = try await api.call("GET", "/api/v1/projects/ml/pipelines/nightly/versions", token: token)
            let saved = try #require(
                (versions.json["versions"] as? [[String: Any]])?.first { $0["version"] as? Int == 2 }.flatMap {
                    RunJSON.date($0["createdAt"])
                },
                "\(versions.text)")
            // startTime is shown to the second.
            #expect(restart.timeIntervalSince1970 == saved.timeIntervalSince1970.rounded(.down), "\(reset.text) \(versions.text)")

            // Pause and unpause.
            let paused = try await api.call("POST", "/api/v1/projects/ml/pipelines/nightly/schedule/pause", token: token)
            #expect(paused.json["paused"] as? Bool == true)
            let unpaused = try await api.call("POST", "/api/v1/projects/ml/pipelines/nightly/schedule/unpause", token: token)
            #expect(unpaused.json["paused"] as? Bool == false)
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func anExplicitBackfillLaunchesEachMissingTickOnce(_ kind: DatabaseKind) async throws {
        try await RunEngineTests.withTeam(kind) { api, token, _ in
            // The schedule starts in an hour: nothing of its own runs during the test.
            try await api.applyPipeline(
                "daily", project: "ml", token: token, tasks: [RunEngineTests.shell("work", [], "echo {{ds}}")],
                spec: Self.schedule("*/10 * * * *", start: Date().addingTimeInterval(3600)))
            let path = "/api/v1/projects/ml/pipelines/daily/backfill"
            let from = Self.wall(Self.minute(0).addingTimeInterval(-86_400), "UTC")
            let to = Self.wall(Self.minute(0).addingTimeInterval(-86_400 + 3600), "UTC")
            let backfill = try await api.call("POST", path, token: token, json: ["from": from, "to": to])
            #expect(backfill.status == 201, "\(backfill.text)")
            let pending = try #require(backfill.json["pending"] as? Int)
            #expect((6...7).contains(pending))
            let records = try await api.waitForRecords("daily", project: "ml", token: token) { records in
                records.count == pending && records.allSatisfy(RecordJSON.succeeded)
            }
            #expect(records.allSatisfy { $0["trigger"] as? String == "backfill" })
            let runs = try await api.call("GET", "/api/v1/projects/ml/runs?pipeline=daily&trigger=backfill", token: token)
            #expect((runs.json["runs"] as? [[String: Any]])?.count == pending)
            // Runs and records page newest first through their cursors, each once.
            let runPages = try await api.pages(
                "/api/v1/projects/ml/runs?pipeline=daily&trigger=backfill", field: "runs", limit: 2, token: token)
            #expect(
                runPages.items.compactMap { $0["id"] as? String }
                    == (runs.json["runs"] as? [[String: Any]])?.compactMap { $0["id"] as? String })
            #expect(runPages.pages == (pending + 1) / 2)
            let recordPages = try await api.pages(
                "/api/v1/projects/ml/pipelines/daily/schedule-records", field: "records", limit: 2, token: token)
            #expect(recordPages.items.compactMap(RecordJSON.date) == records.compactMap(RecordJSON.date))
            #expect(Set(recordPages.items.compactMap(RecordJSON.date)).count == pending)
            // The same range again: every tick has its record already.
            let again = try await api.call("POST", path, token: token, json: ["from": from, "to": to])
            #expect(again.json["pending"] as? Int == 0)

            // Bad requests name their field.
            let future = try await api.call("POST", path, token: token, json: ["from": from, "to": "2999-01-01T00:00:00"])
            #expect(future.status == 400 && future.text.contains("to"))
            let backwards = try await api.call("POST", path, token: token, json: ["from": to, "to": from])
            #expect(backwards.status == 400 && backwards.text.contains("to"))
            let garbage = try await api.call("POST", path, token: token, json: ["from": "last tuesday", "to": to])
            #expect(garbage.status == 400 && garbage.text.contains("from"))
            let huge = try await api.call("POST", path, token: token, json: ["from": "2020-01-01T00:00:00", "to": to])
            #expect(huge.status == 400 && huge.text.contains("1000"))
            try await api.applyPipeline("manual-only", project: "ml", token: token, tasks: [RunEngineTests.shell("work", [], "true")])
            let unscheduled = try await api.call(
                "POST", "/api/v1/projects/ml/pipelines/manual-only/backfill", token: token, json: ["from": from, "to": to])
            #expect(unscheduled.status == 404 && unscheduled.text.contains("no schedule"))
            // A viewer reads records but does not backfill.
            let viewer = try await api.login("vera", "vera-password")
            #expect(try await api.call("POST", path, token: viewer, json: ["from": from, "to": to]).status == 403)
            #expect(try await api.scheduleRecords("daily", project: "ml", token: viewer).count == pending)
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func dependsOnPastWaitsUntilAFailedTickIsSkippedOrRetried(_ kind: DatabaseKind) async throws {
        try await RunEngineTests.withTeam(kind) { api, token, scratch in
            let marker = scratch.appendingPathComponent("ok")
            let (first, second, third) = (Self.minute(2), Self.minute(1), Self.minute(0))
            try await api.applyPipeline(
                "chain", project: "ml", token: token, tasks: [RunEngineTests.shell("check", [], "test -f \(marker.path)")],
                spec: Self.schedule("* * * * *", start: first, extra: ["dependsOnPast": true]))
            let record = RecordJSON.at
            // The first tick's run fails; the next ones wait.
            var records = try await api.waitForRecords("chain", project: "ml", token: token) { records in
                records.count >= 3 && RecordJSON.runState(record(records, first)) == "failed"
            }
            try await Task.sleep(for: .seconds(1.5))
            records = try await api.scheduleRecords("chain", project: "ml", token: token)
            #expect(RecordJSON.state(record(records, second)) == "pending")
            #expect(RecordJSON.state(record(records, third)) == "pending")

            // Skipping the failed tick lets the next one go; it fails too.
            let base = "/api/v1/projects/ml/pipelines/chain/schedule-records"
            let skipped = try await api.call("POST", "\(base)/\(RecordJSON.date(record(records, first))!)/skip", token: token)
            #expect(skipped.status == 200, "\(skipped.text)")
            #expect(skipped.json["state"] as? String == "skipped")
            #expect(skipped.json["reason"] as? String == "skipped by olga")
            records = try await api.waitForRecords("chain", project: "ml", token: token) { records in
                RecordJSON.runState(record(records, second)) == "failed"
            }
            #expect(RecordJSON.state(record(records, third)) == "pending")

            // Retrying it after the fault is fixed resumes its run to success, and the chain goes on.
            FileManager.default.createFile(atPath: marker.path, contents: Data())
            let retried = try await api.call("POST", "\(base)/\(RecordJSON.date(record(records, second))!)/retry", token: token)
            #expect(retried.status == 202, "\(retried.text)")
            records = try await api.waitForRecords("chain", project: "ml", token: token) { records in
                RecordJSON.succeeded(record(records, second)) && RecordJSON.succeeded(record(records, third))
            }
            let secondRun = try await api.call(
                "GET", "/api/v1/projects/ml/runs/\(RecordJSON.runID(record(records, second))!)", token: token)
            #expect(RunJSON.attempts(secondRun.json, "check").count == 2)

            // What cannot be done says why.
            let done = RecordJSON.date(record(records, third))!
            let retryDone = try await api.call("POST", "\(base)/\(done)/retry", token: token)
            #expect(retryDone.status == 409 && retryDone.text.contains("succeeded"))
            let skipDone = try await api.call("POST", "\(base)/\(done)/skip", token: token)
            #expect(skipDone.status == 409)
            #expect(try await api.call("POST", "\(base)/2001-01-01T00:00:00Z/retry", token: token).status == 404)
            #expect(try await api.call("POST", "\(base)/not-a-date/retry", token: token).status == 400)
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func aTickWhoseRunCannotBeCreatedIsRecordedFailedWithTheReason(_ kind: DatabaseKind) async throws {
        try await RunEngineTests.withTeam(kind) { api, token, _ in
            try await api.applyPipeline(
                "broken", project: "ml", token: token, tasks: [RunEngineTests.shell("divide", [], "echo {{ 1 // 0 }}")],
                spec: Self.schedule("* * * * *", start: Self.minute(0)))
            let records = try await api.waitForRecords("broken", project: "ml", token: token) { records in
                records.first.map(RecordJSON.state) == "failed"
            }
            let reason = records.first?["reason"] as? String ?? ""
            #expect(reason.contains("spec.tasks[divide].args.command"), "\(reason)")
            #expect(records.first?["run"] == nil)
            // Deleting the pipeline removes its schedule; its records stay readable.
            #expect(try await api.call("DELETE", "/api/v1/projects/ml/pipelines/broken", token: token).status == 204)
            #expect(try await api.call("GET", "/api/v1/projects/ml/pipelines/broken/schedule", token: token).status == 404)
            // Every record read before is still there (a tick that came due in between may have added one).
            let kept = Set(try await api.scheduleRecords("broken", project: "ml", token: token).compactMap(RecordJSON.date))
            #expect(Set(records.compactMap(RecordJSON.date)).isSubset(of: kept), "\(kept)")
        }
    }

    /// A process that stopped between choosing a tick's run id and creating the run leaves the record `launching`: a
    /// later pass creates the run under that id, and counts a run that exists already as created (no duplicate).
    @Test(arguments: DatabaseKind.allCases)
    func aTickLeftLaunchingGetsItsRunExactlyOnce(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind) { api, url in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            #expect(try await api.call("POST", "/api/v1/projects", token: admin, json: ["name": "demo"]).status == 201)
            try await api.applyPipeline(
                "later", project: "demo", token: admin, tasks: [RunEngineTests.shell("work", [], "echo {{ds}}")],
                spec: Self.schedule("@daily", start: Date().addingTimeInterval(86_400)))
            #expect(try await api.call("GET", "/api/v1/projects/demo/pipelines/later/schedule", token: admin).status == 200)
            let existing = try await api.startRun("later", project: "demo", token: admin)
            let lost = UUID().uuidString.lowercased()
            let stalled = Date().addingTimeInterval(-120).milliseconds
            try await Database.withOpened(url, logger: TestDatabases.logger) { database in
                try await database.transaction { sql in
                    for (date, run) in [(1_700_000_000_000, lost), (1_700_086_400_000, existing)] as [(Int64, String)] {
                        try await sql.raw(
                            """
                            INSERT INTO orchestrator_schedule_records
                            (project, pipeline, execution_date, run_trigger, state, run_id, created_at, updated_at)
                            VALUES ('demo', 'later', \(bind: date), 'schedule', 'launching', \(bind: run), \(bind: stalled), \(bind: stalled))
                            """
                        ).run()
                    }
                }
            }
            let records = try await api.waitForRecords("later", project: "demo", token: admin) { records in
                records.count == 2 && records.allSatisfy { RecordJSON.state($0) == "launched" && RecordJSON.runState($0) == "succeeded" }
            }
            #expect(Set(records.compactMap(RecordJSON.runID)) == [lost, existing])
            let run = try await api.call("GET", "/api/v1/projects/demo/runs/\(lost)", token: admin)
            #expect(run.json["trigger"] as? String == "schedule")
            #expect(run.json["executionDate"] as? String == "2023-11-14T22:13:20.000Z")
            // The run that existed was not created again: the pipeline has exactly two runs.
            let runs = try await api.call("GET", "/api/v1/projects/demo/runs?pipeline=later", token: admin)
            #expect((runs.json["runs"] as? [[String: Any]])?.count == 2)
        }
    }

    /// More schedules due at one instant than the scheduler decides in one batch: each tick is recorded and launched once,
    /// every run is created under its record's id and ends, and the ticks whose run cannot be created fail with the
    /// reason without holding back the others of their batch.
    @Test(arguments: DatabaseKind.allCases)
    func manySchedulesDueAtOnceEachLaunchOnce(_ kind: DatabaseKind) async throws {
        try await RunEngineTests.withTeam(kind) { api, token, _ in
            // One tick each, at the start of a minute far enough ahead for every save to land before it (on a loaded
            // machine some may land after it: their ticks are then caught up in later passes, and all below holds as well).
            let now = Date().timeIntervalSince1970
            let tick = Date(timeIntervalSince1970: ((now + 40) / 60).rounded(.up) * 60)
            let minute = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: tick)
            let cron = "\(minute.minute!) \(minute.hour!) * * *"
            let good = (0..<110).map { String(format: "due-%03d", $0) }
            let broken = ["broken-1", "broken-2", "broken-3"]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (position, name) in (good + broken).enumerated() {
                    if position >= 8 { try await group.next() }
                    group.addTask {
                        let task =
                            broken.contains(name)
                            ? RunEngineTests.shell("work", [], "echo {{ 1 // 0 }}")
                            : ["name": "work", "template": "shell", "args": ["command": "true"], "skip": true]
                        try await api.applyPipeline(
                            name, project: "ml", token: token, tasks: [task], spec: Self.schedule(cron, start: tick))
                    }
                }
                try await group.waitForAll()
            }
            var runs: Set<String> = []
            for name in good {
                let records = try await api.waitForRecords(name, project: "ml", token: token, limit: .seconds(180)) { records in
                    records.count == 1 && records.allSatisfy(RecordJSON.succeeded)
                }
                #expect(records.compactMap { RunJSON.date($0["executionDate"]) } == [tick], "\(name): \(records)")
                let id = try #require(records.first.flatMap(RecordJSON.runID))
                runs.insert(id)
                let run = try await api.call("GET", "/api/v1/projects/ml/runs/\(id)", token: token).json
                #expect(run["pipeline"] as? String == name)
                #expect(run["trigger"] as? String == "schedule")
                #expect(RunJSON.date(run["executionDate"]) == tick)
            }
            #expect(runs.count == good.count)
            for name in broken {
                let records = try await api.waitForRecords(name, project: "ml", token: token, limit: .seconds(180)) { records in
                    records.first.map(RecordJSON.state) == "failed"
                }
                #expect(records.count == 1)
                #expect((records.first?["reason"] as? String)?.contains("spec.tasks[work].args.command") == true, "\(records)")
                #expect(records.first?["run"] == nil)
            }
            // No other run was created: one a tick.
            var listed = 0
            var cursor: String?
            repeat {
                let page = try await api.call(
                    "GET",
                    "/api/v1/projects/ml/runs?trigger=schedule&limit=100"
                        + (cursor.map { "&cursor=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) } ?? ""),
                    token: token)
                listed += (page.json["runs"] as? [[String: Any]])?.count ?? 0
                cursor = page.json["next"] as? String
            } while cursor != nil
            #expect(listed == good.count)
        }
    }
}
