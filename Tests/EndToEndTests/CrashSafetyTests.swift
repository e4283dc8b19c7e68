import AsyncHTTPClient
import Foundation
import Testing
import TrellisTestSupport

/// `kill -9` of the process that orchestrates, with a run in flight, and a start on the same data: the run is
/// reconciled and ends correctly — nothing that succeeded runs again, a task that ended while the server was down
/// is recorded as it ended, a task still running is followed to its end, and an orphan whose supervisor died is
/// killed and its task retried.
@Suite(.serialized, .aloneAmongDeployments) struct CrashSafetyTests {
    static let adminPassword = "crash-admin-password"

    /// A shell command that waits until `gate` exists, failing after two minutes.
    static func waitFor(_ gate: String) -> String {
        "i=0; until [ -f \(gate) ]; do i=$((i+1)); [ $i -lt 2400 ] || exit 1; sleep 0.05; done"
    }

    @Test func killMinusNineWithRunsInFlight() async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-crash-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dataDir) }
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
        // Tasks see nothing of the data directory: what they leave for the test goes to a folder shared with them.
        let shared = URL(fileURLWithPath: dataDir.path + "-effects")
        defer { try? FileManager.default.removeItem(at: shared) }
        let effects = shared.appendingPathComponent("effects").path
        let port = try Processes.freePorts(1)
        let base = "http://127.0.0.1:\(port)"
        let api = HTTPTransport(baseURL: base, client: HTTPClient.shared)
        let environment = ["TRELLIS_ADMIN_PASSWORD": Self.adminPassword, "TRELLIS_TASK_STOP_GRACE": "1s"]
        let first = try await Processes.serve(dataDir: dataDir, port: port, log: "first.log", environment: environment)
        defer { if first.isRunning { first.terminate() } }
        let admin = try await api.login("admin", Self.adminPassword)
        try await api.shareFolder(shared, project: "demo", admin: admin)
        func step(_ name: String, _ command: String, after: [String] = [], extra: [String: Any] = [:]) -> [String: Any] {
            var task: [String: Any] = [
                "name": name, "template": "shell", "dependsOn": after, "args": ["command": "\(command); echo \(name) | tee -a \(effects)"],
            ]
            task.merge(extra) { $1 }
            return task
        }
        try await api.applyPipeline(
            "crashy", project: "demo", token: admin,
            tasks: [
                step("extract", "true"),
                // Each waits for its gate (at most two minutes): `short` ends while the server is down, `long` after it is
                // back, whatever the machine's load.
                step("short", Self.waitFor(shared.appendingPathComponent("short-go").path), after: ["extract"]),
                step("long", Self.waitFor(shared.appendingPathComponent("long-go").path), after: ["extract"]),
                step(
                    "orphan", "if [ $TRELLIS_TASK_ATTEMPT = 1 ]; then sleep 31; fi", after: ["extract"],
                    extra: ["retry": ["limit": 1, "policy": "Always"]]),
                step("publish", "true", after: ["short", "long", "orphan"]),
            ])
        let id = try await api.startRun("crashy", project: "demo", token: admin)
        // Wait until the three branches' processes run (their supervisors wrote running.json).
        let executions = dataDir.appendingPathComponent("executions")
        _ = try await api.waitForRun(id, project: "demo", token: admin) { _ in
            ["short", "long", "orphan"].allSatisfy {
                FileManager.default.fileExists(atPath: executions.appendingPathComponent("\(id)-\($0)-1/running.json").path)
            }
        }

        // The server dies hard; the tasks' supervisors do not.
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        // While it is down: `short` ends, and the orphan's supervisor is killed too, its task with it.
        let orphanDirectory = executions.appendingPathComponent("\(id)-orphan-1")
        let shim = try JSONSerialization.jsonObject(with: Data(contentsOf: orphanDirectory.appendingPathComponent("shim.json")))
        let shimPID = try #require((shim as? [String: Any])?["pid"] as? Int)
        let running = try JSONSerialization.jsonObject(with: Data(contentsOf: orphanDirectory.appendingPathComponent("running.json")))
        let orphanPID = try #require(((running as? [String: Any])?["replicas"] as? [[String: Any]])?.first?["pid"] as? Int)
        kill(pid_t(shimPID), SIGKILL)
        FileManager.default.createFile(atPath: shared.appendingPathComponent("short-go").path, contents: Data())
        try await Waiting.forFile(
            executions.appendingPathComponent("\(id)-short-1/status.json").path, "`short` to end while the server is down")
        // A sandbox dies with its supervisor: nothing of the task is left running for a restarted server to find.
        try await Waiting.until("the orphan's task \(orphanPID) to die with its supervisor", limit: .seconds(10)) {
            !Processes.isAlive(Int32(orphanPID))
        }
        #expect(!FileManager.default.fileExists(atPath: executions.appendingPathComponent("\(id)-long-1/status.json").path))

        let second = try await Processes.serve(dataDir: dataDir, port: port, log: "second.log", environment: environment)
        defer { if second.isRunning { second.terminate() } }
        FileManager.default.createFile(atPath: shared.appendingPathComponent("long-go").path, contents: Data())
        let run = try await api.waitForRun(id, project: "demo", token: admin)
        #expect(run["state"] as? String == "succeeded")
        for task in ["extract", "short", "long", "publish"] {
            #expect(RunJSON.attempts(run, task).count == 1, "task \(task) ran again")
        }
        let orphan = RunJSON.attempts(run, "orphan")
        #expect(orphan.map { $0["state"] as? String } == ["failed", "succeeded"])
        #expect((orphan.first?["reason"] as? String)?.contains("supervisor") == true)
        #expect(!Processes.isAlive(Int32(orphanPID)))
        let lines = try String(contentsOfFile: effects, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.sorted() == ["extract", "long", "orphan", "publish", "short"])
        // Logs written before the crash are still there, and the log of the task that ran through it is whole.
        let extractLog = try await api.call("GET", "/api/v1/projects/demo/runs/\(id)/tasks/extract/logs", token: admin)
        #expect(extractLog.text.hasSuffix(" extract\n"))
        let longLog = try await api.call("GET", "/api/v1/projects/demo/runs/\(id)/tasks/long/logs", token: admin)
        #expect(longLog.text.hasSuffix(" long\n"))

        // The CLI against the restarted server: a waited run prints task changes, logs print, cancel and resume answer.
        let cli = Processes.binDirectory.appendingPathComponent("trellis")
        let cliEnvironment = ["TRELLIS_SERVER": base, "TRELLIS_HOME": dataDir.appendingPathComponent("cli").path, "TRELLIS_TOKEN": admin]
        let started = try Processes.run(cli, ["run", "start", "hello-trellis", "--project", "demo", "--wait"], environment: cliEnvironment)
        #expect(started.status == 0)
        #expect(started.output.contains(" prepare succeeded"))
        #expect(started.output.contains(" succeeded\n"))
        let runID = try #require(started.output.split(separator: " ").dropFirst().first.map(String.init))
        // An unknown parameter is refused, naming it (hello-trellis declares none).
        let refused = try Processes.run(
            cli, ["run", "start", "hello-trellis", "--project", "demo", "--param", "sample=0.5"], environment: cliEnvironment)
        #expect(refused.status != 0 && refused.output.contains("parameters.sample"), "\(refused.output)")
        let logs = try Processes.run(cli, ["run", "logs", runID, "left"], environment: cliEnvironment)
        #expect(logs.output.hasSuffix(" left branch\n"))
        let all = try Processes.run(cli, ["run", "logs", runID], environment: cliEnvironment)
        #expect(all.output.contains("==> right <==\n") && all.output.contains(" right branch\n"))
        let followed = try Processes.run(cli, ["run", "logs", runID, "prepare", "-f"], environment: cliEnvironment)
        #expect(followed.output.contains(" preparing "))
        let resumed = try Processes.run(cli, ["run", "resume", runID, "--task", "join", "--wait"], environment: cliEnvironment)
        #expect(resumed.status == 0)
        let cancelled = try Processes.run(cli, ["run", "cancel", runID], environment: cliEnvironment)
        #expect(cancelled.status != 0)
        #expect(cancelled.output.contains("already ended"))

        try await Processes.stop(second)
    }
}
