import AsyncHTTPClient
import Foundation
import Testing
import TrellisTestSupport

/// Every tick launches exactly once: with two orchestrator processes on one PostgreSQL deciding the same schedules,
/// and across a `kill -9` of the server in the middle of a catch-up.
@Suite(.serialized, .aloneAmongDeployments) struct SchedulerExactlyOnceTests {
    static let adminPassword = "scheduler-admin-password"

    /// A pipeline ticking every minute from `minutes` ago, with one task that appends its execution date to `effects`.
    static func ticking(_ name: String, minutes: Int, maxActiveRuns: Int, effects: String, sleep: String = "0") -> [String: Any] {
        let start = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 - Double(minutes * 60))
        return [
            "apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": ["name": name],
            "spec": [
                "schedule": [
                    "cron": "* * * * *", "startTime": start.formatted(.iso8601), "maxActiveRuns": maxActiveRuns,
                ],
                "tasks": [
                    [
                        "name": "tick", "template": "shell",
                        "args": ["command": "sleep \(sleep); echo \"$TRELLIS_PIPELINE_NAME {{execution_date}}\" >> \(effects)"],
                    ]
                ],
            ],
        ]
    }

    /// `{{execution_date}}` of a UTC schedule.
    static func executionDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .gmt
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date)
    }

    /// Pauses the schedules once their catch-up is recorded (no tick comes after; a schedule paused before the
    /// scheduler saw it would record none), then: every record launched with a succeeded run, one run per tick and
    /// one execution per run. Returns the number of ticks.
    static func expectEachTickOnce(
        _ api: some APITransport, pipelines: [String], project: String, token: String, effects: String
    ) async throws -> Int {
        for pipeline in pipelines {
            try await api.waitForRecords(pipeline, project: project, token: token, limit: .seconds(120)) { !$0.isEmpty }
            let paused = try await api.call("POST", "/api/v1/projects/\(project)/pipelines/\(pipeline)/schedule/pause", token: token)
            try #require(paused.status == 200, "\(paused.text)")
        }
        var ticks = 0
        var expectedLines: [String] = []
        for pipeline in pipelines {
            let records = try await api.waitForRecords(pipeline, project: project, token: token, limit: .seconds(120)) { records in
                !records.isEmpty && records.allSatisfy(RecordJSON.succeeded)
            }
            let runs = try await api.call("GET", "/api/v1/projects/\(project)/runs?pipeline=\(pipeline)&limit=1000", token: token)
            let listed = runs.json["runs"] as? [[String: Any]] ?? []
            #expect(listed.count == records.count, "\(pipeline): \(listed.count) runs for \(records.count) ticks")
            #expect(Set(listed.compactMap { $0["executionDate"] as? String }).count == records.count)
            #expect(Set(listed.compactMap { $0["id"] as? String }) == Set(records.compactMap(RecordJSON.runID)))
            ticks += records.count
            for record in records {
                let date = try #require(RunJSON.date(record["executionDate"]))
                expectedLines.append("\(pipeline) \(executionDate(date))")
            }
        }
        let lines = try String(contentsOfFile: effects, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.sorted() == expectedLines.sorted(), "each tick's task ran exactly once")
        return ticks
    }

    /// Scheduled runs a process created, from its log.
    static func scheduledRuns(in log: URL) throws -> Int {
        try String(contentsOf: log, encoding: .utf8).components(separatedBy: "\"trigger\":\"schedule\"").count - 1
    }

    /// Two orchestrators on one database. Exactly once is asserted in every phase; that either process can claim is
    /// shown deterministically, not by luck of a race: first the launcher's orchestrator alone claims every tick,
    /// then both run side by side, then the first is stopped (the gateway answers 503 for its routes) and the second
    /// alone claims every tick.
    @Test func twoOrchestratorsOnPostgreSQLLaunchEveryTickOnce() async throws {
        try await TestDatabases.withFresh(.postgres, pools: DeploymentTests.servicePools + 1) { url in
            let stateDir = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-twice-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: stateDir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: stateDir) }
            let basePort = try Processes.freePorts(7)
            let launcher = Processes.repository.appendingPathComponent("deploy/local/trellis-local")
            let common = ["--state-dir", stateDir.path]
            let environment = ["TRELLIS_ADMIN_PASSWORD": Self.adminPassword, "TRELLIS_SCHEDULE_MIN_INTERVAL": "0s"]
            let started = try Processes.run(
                launcher,
                [
                    "start", "--database-url", DeploymentTests.plainURL(url), "--base-port", String(basePort), "--bin-dir",
                    Processes.binDirectory.path,
                ] + common, environment: environment)
            defer { _ = try? Processes.run(launcher, ["stop"] + common) }
            try #require(started.status == 0, "launcher failed:\n\(started.output)")
            let firstLog = stateDir.appendingPathComponent("orchestrator.log")

            let api = HTTPTransport(baseURL: "http://127.0.0.1:\(basePort)", client: HTTPClient.shared)
            let admin = try await api.login("admin", Self.adminPassword)
            #expect(try await api.call("POST", "/api/v1/projects", token: admin, json: ["name": "sched"]).status == 201)
            let shared = URL(fileURLWithPath: stateDir.path + "-effects")
            defer { try? FileManager.default.removeItem(at: shared) }
            try await api.shareFolder(shared, project: "sched", admin: admin)
            /// Applies `pipelines` ticking into their own effects file, and checks each tick ran once through `reader`.
            func phase(_ pipelines: [String], minutes: Int, read reader: HTTPTransport) async throws -> Int {
                let effects = shared.appendingPathComponent("effects-\(pipelines[0])").path
                for name in pipelines {
                    let document = Self.ticking(name, minutes: minutes, maxActiveRuns: 2, effects: effects)
                    let applied = try await api.call("POST", "/api/v1/projects/sched/pipelines", token: admin, json: document)
                    try #require(applied.status == 201, "\(applied.text)")
                }
                return try await Self.expectEachTickOnce(reader, pipelines: pipelines, project: "sched", token: admin, effects: effects)
            }

            // 1. The launcher's orchestrator alone creates every scheduled run.
            let alone = try await phase(["first-alone"], minutes: 4, read: api)
            #expect(try Self.scheduledRuns(in: firstLog) == alone)

            // 2. A second orchestrator on the same database, as trellis-local configures the first. Many schedules,
            // few ticks each, at most two runs at once: ticks wait, and both processes wake them as runs end.
            let services = ["identity": 1, "templates": 2, "pipelines": 3, "orchestrator": 4, "cluster-gateway": 5, "metrics": 6]
            var second = environment
            second["TRELLIS_DATABASE_URL"] = DeploymentTests.plainURL(url)
            second["TRELLIS_DATA_DIR"] = stateDir.path
            for (name, offset) in services {
                second["TRELLIS_SERVICES_\(name.uppercased().replacingOccurrences(of: "-", with: "_"))_URL"] =
                    "http://127.0.0.1:\(basePort + offset)"
            }
            let port = try Processes.freePorts(1)
            let secondLog = stateDir.appendingPathComponent("orchestrator-2.log")
            let other = try Processes.start(
                Processes.binDirectory.appendingPathComponent("trellis-orchestrator"), ["--port", String(port)], environment: second,
                log: secondLog)
            defer { if other.isRunning { other.terminate() } }
            try await Processes.waitHealthy("http://127.0.0.1:\(port)/healthz", client: HTTPClient.shared, process: other, log: secondLog)
            let together = try await phase((1...24).map { "tick-\($0)" }, minutes: 4, read: api)
            #expect(together >= 24 * 5)
            let (firstCount, secondCount) = (try Self.scheduledRuns(in: firstLog), try Self.scheduledRuns(in: secondLog))
            #expect(firstCount + secondCount == alone + together, "scheduled runs created per process: \(firstCount), \(secondCount)")

            // 3. The first stops; its routes answer 503 through the gateway, naming the service, and the second alone
            // creates every scheduled run (read from it directly).
            let firstPID = try #require(Processes.launched(in: stateDir).first { $0.name == "orchestrator" }?.pid)
            kill(firstPID, SIGTERM)
            try await Waiting.until("the first orchestrator to stop on SIGTERM", limit: .seconds(20)) { !Processes.isAlive(firstPID) }
            let unavailable = try await api.call("GET", "/api/v1/projects/sched/runs", token: admin)
            #expect(unavailable.status == 503, "\(unavailable.text)")
            #expect(unavailable.text.contains("orchestrator"), "\(unavailable.text)")
            let direct = HTTPTransport(baseURL: "http://127.0.0.1:\(port)", client: HTTPClient.shared)
            let afterwards = try await phase(["second-alone"], minutes: 4, read: direct)
            #expect(try Self.scheduledRuns(in: firstLog) == firstCount)
            #expect(try Self.scheduledRuns(in: secondLog) == secondCount + afterwards)
        }
    }

    @Test func killMinusNineMidCatchUpLosesAndDuplicatesNoTick() async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-catchup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dataDir) }
        let port = try Processes.freePorts(1)
        let api = HTTPTransport(baseURL: "http://127.0.0.1:\(port)", client: HTTPClient.shared)
        let environment = ["TRELLIS_ADMIN_PASSWORD": Self.adminPassword, "TRELLIS_SCHEDULE_MIN_INTERVAL": "0s"]
        let first = try await Processes.serve(dataDir: dataDir, port: port, log: "first.log", environment: environment)
        defer { if first.isRunning { first.terminate() } }
        let admin = try await api.login("admin", Self.adminPassword)
        let shared = URL(fileURLWithPath: dataDir.path + "-effects")
        defer { try? FileManager.default.removeItem(at: shared) }
        try await api.shareFolder(shared, project: "demo", admin: admin)
        let effects = shared.appendingPathComponent("effects").path
        let applied = try await api.call(
            "POST", "/api/v1/projects/demo/pipelines", token: admin,
            json: Self.ticking("catch-up", minutes: 40, maxActiveRuns: 2, effects: effects, sleep: "0.2"))
        try #require(applied.status == 201, "\(applied.text)")
        // Some ticks have run, most still wait.
        try await api.waitForRecords("catch-up", project: "demo", token: admin) { records in
            records.count(where: RecordJSON.succeeded) >= 6
        }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let second = try await Processes.serve(dataDir: dataDir, port: port, log: "second.log", environment: environment)
        defer { second.terminate() }
        let ticks = try await Self.expectEachTickOnce(api, pipelines: ["catch-up"], project: "demo", token: admin, effects: effects)
        #expect(ticks >= 41)
    }
}
