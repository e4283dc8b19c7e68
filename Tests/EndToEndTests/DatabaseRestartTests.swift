import AsyncHTTPClient
import Foundation
import Testing
import TrellisTestSupport

/// PostgreSQL stopped and started again under split mode, with twenty runs in flight and a schedule ticking: every
/// service says degraded on `/healthz` while it is away and reconnects by itself; afterwards no run, attempt, tick or
/// log line is lost or duplicated — tasks that ended while the database was away are recorded as they ended.
@Suite(.serialized, .aloneAmongDeployments) struct DatabaseRestartTests {
    static let adminPassword = "restart-admin-password"

    static func instance(_ command: String, _ folder: URL) throws -> String {
        let script = Processes.repository.appendingPathComponent("scripts/postgres-instance.sh")
        let result = try Processes.run(script, [command, folder.path], environment: [:])
        guard result.status == 0 else { throw TransportError("postgres-instance.sh \(command): \(result.output)") }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last.map(String.init) ?? ""
    }

    static func waitFor(_ gate: String) -> String {
        "i=0; until [ -f \(gate) ]; do i=$((i+1)); [ $i -lt 2400 ] || exit 1; sleep 0.05; done"
    }

    @Test func postgresRestartedUnderSplitMode() async throws {
        let folder = URL(fileURLWithPath: "/tmp/trellis-pg-restart-\(UUID().uuidString)")
        let port = try Self.instance("start", folder)
        defer {
            _ = try? Self.instance("stop", folder)
            try? FileManager.default.removeItem(at: folder)
        }
        let deployment = try SplitDeployment(
            databaseURL: "postgres://postgres@127.0.0.1:\(port)/postgres",
            environment: [
                "TRELLIS_ADMIN_PASSWORD": Self.adminPassword, "TRELLIS_SCHEDULE_MIN_INTERVAL": "0s", "TRELLIS_TASK_STOP_GRACE": "1s",
            ])
        defer { _ = try? deployment.stop() }

        let client = HTTPClient.shared
        let api = HTTPTransport(baseURL: deployment.gatewayURL, client: client)
        let admin = try await api.login("admin", Self.adminPassword)
        #expect(try await api.call("POST", "/api/v1/projects", token: admin, json: ["name": "steady"]).status == 201)
        let shared = URL(fileURLWithPath: deployment.stateDir.path + "-shared")
        defer { try? FileManager.default.removeItem(at: shared) }
        try await api.shareFolder(shared, project: "steady", admin: admin)
        let effects = shared.appendingPathComponent("effects").path
        let during = shared.appendingPathComponent("during").path
        let after = shared.appendingPathComponent("after").path
        // Each task notes its run and attempt: a task run twice notes twice.
        func task(_ gate: String) -> [[String: Any]] {
            [
                [
                    "name": "work", "template": "shell",
                    "args": [
                        "command": "\(Self.waitFor(gate)); echo \"$TRELLIS_RUN_ID $TRELLIS_TASK_ATTEMPT\" >> \(effects); echo finished"
                    ],
                ]
            ]
        }
        // Ten runs end while the database is away, ten after it is back; a schedule every minute catches up eight
        // minutes at once and goes on ticking.
        try await api.applyPipeline("early", project: "steady", token: admin, tasks: task(during))
        try await api.applyPipeline("late", project: "steady", token: admin, tasks: task(after))
        let start = Date().addingTimeInterval(-8 * 60)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withDashSeparatorInDate]
        formatter.timeZone = TimeZone(identifier: "UTC")
        try await api.applyPipeline(
            "ticking", project: "steady", token: admin, tasks: task(after),
            spec: ["schedule": ["cron": "* * * * *", "timezone": "UTC", "startTime": formatter.string(from: start), "maxActiveRuns": 20]])
        var runs: [String] = []
        for index in 0..<20 { runs.append(try await api.startRun(index < 10 ? "early" : "late", project: "steady", token: admin)) }
        for run in runs {
            _ = try await api.waitForRun(run, project: "steady", token: admin) { $0["state"] as? String == "running" }
        }
        let caughtUp = try await api.waitForRecords("ticking", project: "steady", token: admin) { $0.count >= 8 }

        // PostgreSQL goes away: every service with a database says so.
        _ = try Self.instance("stop", folder)
        for service in SplitDeployment.services {
            let health = HTTPTransport(baseURL: deployment.url(of: service), client: client)
            try await Waiting.until("\(service) to say degraded", limit: .seconds(30)) {
                let answer = try await health.call("GET", "/healthz")
                return answer.status == 503 && answer.json["status"] as? String == "degraded"
            }
        }
        // Tasks end while it is away.
        _ = FileManager.default.createFile(atPath: during, contents: Data())
        try await Waiting.until("the early tasks to end", limit: .seconds(60)) {
            ((try? String(contentsOfFile: effects, encoding: .utf8)) ?? "").split(separator: "\n").count >= 10
        }
        try await Task.sleep(for: .seconds(2))
        #expect(try Self.instance("start", folder) == port)
        let back = Date()
        for service in SplitDeployment.services {
            let health = HTTPTransport(baseURL: deployment.url(of: service), client: client)
            try await Waiting.until("\(service) to be healthy again", limit: .seconds(60)) {
                try await health.call("GET", "/healthz").status == 200
            }
        }
        _ = FileManager.default.createFile(atPath: after, contents: Data())

        // Every run ends succeeded with one attempt; each task ran once; its log holds its line once.
        for run in runs {
            let ended = try await api.waitForRun(run, project: "steady", token: admin, limit: .seconds(120))
            #expect(ended["state"] as? String == "succeeded", "\(ended)")
            #expect(RunJSON.attempts(ended, "work").count == 1, "\(ended)")
            let log = try await api.call("GET", "/api/v1/projects/steady/runs/\(run)/tasks/work/logs", token: admin)
            #expect(log.text.components(separatedBy: "finished").count == 2, "\(log.text)")
        }
        // The schedule goes on: a tick after the database came back, each tick once with its own run.
        let records: [[String: Any]]
        do {
            records = try await api.waitForRecords("ticking", project: "steady", token: admin, limit: .seconds(150)) { records in
                records.contains { RunJSON.date($0["executionDate"]).map { $0 > back } == true } && records.allSatisfy(RecordJSON.succeeded)
            }
        } catch {
            // The scheduler stopped ticking once in a loaded CI run: its log says why, next time.
            print(deployment.logTail(of: "orchestrator"))
            throw error
        }
        #expect(records.count >= caughtUp.count + 1)
        let dates = records.compactMap(RecordJSON.date)
        #expect(Set(dates).count == dates.count, "\(dates)")
        let recordRuns = records.compactMap(RecordJSON.runID)
        #expect(Set(recordRuns).count == records.count)
        let scheduled = try await api.pages("/api/v1/projects/steady/runs?pipeline=ticking", field: "runs", limit: 100, token: admin)
        #expect(Set(scheduled.items.compactMap { $0["id"] as? String }) == Set(recordRuns))
        let noted = ((try? String(contentsOfFile: effects, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        #expect(noted.count == Set(noted).count, "a task ran twice: \(noted)")
        #expect(Set(noted.map { String($0.split(separator: " ")[0]) }) == Set(runs + recordRuns))
    }
}
