import AsyncHTTPClient
import Foundation
import Testing
import TrellisStore
import TrellisTestSupport

/// The data directory's disk full under `trellis serve` (a size-limited tmpfs, filled up): writes fail with a clear
/// error, what is recorded stays readable, the server stays up, the database is not corrupted, and work goes on
/// once space is back.
@Suite(.serialized, .aloneAmongDeployments) struct DiskFullTests {
    static let adminPassword = "full-admin-password"

    static func shell(_ name: String, _ command: String) -> [[String: Any]] {
        [["name": name, "template": "shell", "args": ["command": command]]]
    }

    @Test func aFullDataDiskRefusesWritesClearlyAndWorkGoesOnWhenSpaceReturns() async throws {
        let mountPoint = URL(fileURLWithPath: "/tmp/trellis-full-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: mountPoint) }
        let mounted = try Processes.run(URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", "size=48m", "tmpfs", mountPoint.path])
        try #require(mounted.status == 0, "this test mounts a small tmpfs (it needs root): \(mounted.output)")
        defer { _ = try? Processes.run(URL(fileURLWithPath: "/bin/umount"), ["-l", mountPoint.path]) }
        let dataDir = mountPoint.appendingPathComponent("data")
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-full-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        let port = try Processes.freePorts(1)
        let server = try Processes.start(
            Processes.binDirectory.appendingPathComponent("trellis"),
            ["serve", "--port", String(port), "--data-dir", dataDir.path, "--demo"],
            environment: ["TRELLIS_ADMIN_PASSWORD": Self.adminPassword], log: log)
        defer { if server.isRunning { server.terminate() } }
        try await Processes.waitHealthy("http://127.0.0.1:\(port)/healthz", client: HTTPClient.shared, process: server, log: log)
        let api = HTTPTransport(baseURL: "http://127.0.0.1:\(port)", client: HTTPClient.shared)
        let admin = try await api.login("admin", Self.adminPassword)
        try await api.applyPipeline("before", project: "demo", token: admin, tasks: Self.shell("say", "echo recorded-before"))
        let before = try await api.startRun("before", project: "demo", token: admin)
        #expect(try await api.waitForRun(before, project: "demo", token: admin)["state"] as? String == "succeeded")

        // Full: a filler takes every byte left.
        let filler = mountPoint.appendingPathComponent("filler")
        let filled = try Processes.run(URL(fileURLWithPath: "/bin/dd"), ["if=/dev/zero", "of=\(filler.path)", "bs=1M"])
        #expect(filled.output.contains("No space left on device"), "\(filled.output)")

        // Writes fail, saying why; nothing half-written.
        let document: [String: Any] = [
            "apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": ["name": "during"],
            "spec": ["tasks": Self.shell("say", "echo after")],
        ]
        let refused = try await api.call("POST", "/api/v1/projects/demo/pipelines", token: admin, json: document)
        #expect(refused.status == 507 && refused.errorMessage?.contains("disk is full") == true, "\(refused.status) \(refused.text)")
        let run = try await api.call("POST", "/api/v1/projects/demo/pipelines/before/runs", token: admin)
        #expect(run.status == 507 || run.status == 503, "\(run.status) \(run.text)")
        #expect(run.errorMessage?.contains("full") == true || run.errorMessage?.contains("No space") == true, "\(run.text)")
        // What is recorded stays readable; the server is up.
        #expect(try await api.call("GET", "/healthz").status == 200)
        let runs = try await api.call("GET", "/api/v1/projects/demo/runs?pipeline=before", token: admin)
        #expect((runs.json["runs"] as? [[String: Any]])?.compactMap { $0["id"] as? String }.contains(before) == true, "\(runs.text)")
        #expect(try await api.call("GET", "/api/v1/projects/demo/runs/\(before)", token: admin).json["state"] as? String == "succeeded")
        let logs = try await api.call("GET", "/api/v1/projects/demo/runs/\(before)/tasks/say/logs", token: admin)
        #expect(logs.text.contains("recorded-before"), "\(logs.text)")
        #expect(try await api.call("GET", "/api/v1/projects/demo/pipelines/during", token: admin).status == 404)

        // Space back: work goes on where it stopped.
        try FileManager.default.removeItem(at: filler)
        #expect(try await api.call("POST", "/api/v1/projects/demo/pipelines", token: admin, json: document).status == 201)
        let after = try await api.startRun("during", project: "demo", token: admin)
        #expect(try await api.waitForRun(after, project: "demo", token: admin)["state"] as? String == "succeeded")
        #expect(server.isRunning)

        // The database is whole.
        let database = try DatabaseURL("sqlite://\(dataDir.path)/trellis.db")
        let check = try await Database.withOpened(database, logger: TestDatabases.logger) { database in
            try await database.read { sql in
                try await sql.raw("PRAGMA integrity_check").all().map { try $0.decode(column: "integrity_check", as: String.self) }
            }
        }
        #expect(check == ["ok"])
        try await Processes.stop(server)
    }
}
