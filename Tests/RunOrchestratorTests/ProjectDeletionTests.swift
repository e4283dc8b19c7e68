import Foundation
import SQLKit
import Testing
import TrellisStore
import TrellisTestSupport

/// Deleting a project removes everything it owns in every service — pipelines, schedules and their records, runs
/// with their executions' logs, templates, images with sealed registry logins, its task user — while its name is held;
/// then whoever creates the name next reads nothing of it. Its published template is handed to the platform, so
/// another project's pipeline that uses it keeps running.
@Suite struct ProjectDeletionTests {
    static func shell(_ name: String, _ command: String) -> [String: Any] {
        ["name": name, "template": "shell", "args": ["command": command]]
    }

    static func items(_ response: APIResponse, _ field: String) -> [[String: Any]] { response.json[field] as? [[String: Any]] ?? [] }

    /// Rows a table keeps of the project `vision`.
    static func leftovers(_ url: DatabaseURL) async throws -> [String: Int] {
        try await Database.withOpened(url, logger: TestDatabases.logger) { database in
            try await database.read { sql in
                var found: [String: Int] = [:]
                for table in [
                    "identity_projects", "pipelines_pipelines", "templates_templates", "templates_images", "orchestrator_runs",
                    "orchestrator_schedules", "orchestrator_schedule_records", "cluster_gateway_task_users", "cluster_gateway_workflows",
                    "metrics_attempts",
                ] {
                    let column = table == "identity_projects" ? "name" : "project"
                    let rows = try await sql.select().column(column).from(table).where(SQLIdentifier(column), .equal, "vision").all()
                    if !rows.isEmpty { found[table] = rows.count }
                }
                let attempts = try await sql.raw("SELECT COUNT(*) AS n FROM orchestrator_attempts").first()?.decode(
                    column: "n", as: Int.self)
                if let attempts, attempts > 0 { found["orchestrator_attempts"] = attempts }
                // Samples of no attempt the collector still knows: the deleted project's.
                let samples = try await sql.raw(
                    "SELECT COUNT(*) AS n FROM metrics_samples WHERE execution_id NOT IN (SELECT execution_id FROM metrics_attempts)"
                ).first()?.decode(column: "n", as: Int.self)
                if let samples, samples > 0 { found["metrics_samples"] = samples }
                return found
            }
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func aDeletedProjectLeavesNothingForTheNextOwnerOfItsName(_ kind: DatabaseKind) async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-data-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        try await EmbeddedHarness.with(kind, flags: ["data.dir": data.path]) { api, url in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let olga = try await api.team(project: "vision", owner: "olga", members: [], admin: admin)["olga"]
            let bob = try await api.team(project: "other", owner: "bob", members: [], admin: admin)["bob"]

            // Templates: one published (then a draft of its next version), one only a draft; an image with a login.
            let tool: [String: Any] = ["name": "vision-tool", "version": "1.0.0", "image": "python:3.12", "command": ["true"]]
            #expect(try await api.call("POST", "/api/v1/projects/vision/templates", token: olga, json: tool).status == 201)
            #expect(try await api.call("POST", "/api/v1/templates/vision-tool/versions/1.0.0/publish", token: olga).status == 200)
            var next = tool
            next["version"] = "1.1.0"
            #expect(try await api.call("POST", "/api/v1/projects/vision/templates", token: olga, json: next).status == 201)
            var draft = tool
            draft["name"] = "vision-draft"
            #expect(try await api.call("POST", "/api/v1/projects/vision/templates", token: olga, json: draft).status == 201)
            let image: [String: Any] = [
                "name": "trainer", "reference": "registry.example.com/vision/trainer:1", "registry": "registry.example.com",
                "username": "robot", "password": "s3cret-registry-pw",
            ]
            #expect(try await api.call("POST", "/api/v1/projects/vision/images", token: olga, json: image).status == 201)

            // Another project's pipeline uses the published template.
            try await api.applyPipeline("uses", project: "other", token: bob, tasks: [["name": "a", "template": "vision-tool"]])

            // Pipelines: a scheduled one with a backfill's records and runs, and one whose run is still running.
            let start = Date().addingTimeInterval(3600)
            try await api.applyPipeline(
                "train", project: "vision", token: olga, tasks: [Self.shell("work", "echo trained {{ds}}")],
                spec: SchedulerTests.schedule("*/10 * * * *", start: start))
            let from = SchedulerTests.wall(SchedulerTests.minute(0).addingTimeInterval(-86_400), "UTC")
            let to = SchedulerTests.wall(SchedulerTests.minute(0).addingTimeInterval(-86_400 + 1800), "UTC")
            let backfill = try await api.call(
                "POST", "/api/v1/projects/vision/pipelines/train/backfill", token: olga, json: ["from": from, "to": to])
            let pending = try #require(backfill.json["pending"] as? Int)
            try await api.waitForRecords("train", project: "vision", token: olga) {
                $0.count == pending && $0.allSatisfy(RecordJSON.succeeded)
            }
            try await api.applyPipeline("long", project: "vision", token: olga, tasks: [Self.shell("sleep", "sleep 600")])
            let long = try await api.startRun("long", project: "vision", token: olga)
            _ = try await api.waitForRun(long, project: "vision", token: olga) { $0["state"] as? String == "running" }
            // The metrics collector samples it.
            try await Waiting.until("samples of the long run") {
                let usage = try await api.call("GET", "/api/v1/projects/vision/runs/\(long)/tasks/sleep/attempts/1/usage", token: olga)
                return !(usage.json["series"] as? [Any] ?? []).isEmpty
            }
            let executions = data.appendingPathComponent("executions")
            #expect(try FileManager.default.contentsOfDirectory(atPath: executions.path).count >= pending + 1)

            // Deleting: gone from view at once, the name held until every service has purged it.
            let deleted = try await api.call("DELETE", "/api/v1/projects/vision", token: olga)
            #expect(deleted.status == 202, "\(deleted.text)")
            #expect(deleted.json["waitingFor"] as? [String] == ["pipelines", "templates", "orchestrator", "cluster-gateway", "metrics"])
            #expect(try await api.call("GET", "/api/v1/projects/vision", token: olga).status == 404)
            #expect(try await api.call("GET", "/api/v1/projects/vision/pipelines", token: admin).status == 404)
            #expect(try await api.call("GET", "/api/v1/projects/vision/runs/\(long)", token: olga).status == 404)
            #expect(try await api.call("GET", "/api/v1/project-deletions", token: olga).status == 403)
            // Held: the orchestrator's part waits at least a pass for the running run to stop.
            let again = try await api.call("POST", "/api/v1/projects", token: bob, json: ["name": "vision"])
            #expect(again.status == 409 && again.errorMessage?.contains("is being deleted") == true, "\(again.text)")
            try await Waiting.until("the deletion of vision to finish in every service") {
                let under = try await api.call("GET", "/api/v1/project-deletions", token: admin)
                return under.status == 200 && Self.items(under, "deletions").isEmpty
            }

            // Nothing of it is stored: no row in any service, no execution's files (logs, samples, status).
            #expect(try await Self.leftovers(url) == [:])
            #expect(try FileManager.default.contentsOfDirectory(atPath: executions.path) == [])

            // The name, taken again by someone else: empty.
            #expect(try await api.call("POST", "/api/v1/projects", token: bob, json: ["name": "vision"]).status == 201)
            for (path, field) in [
                ("pipelines", "pipelines"), ("runs", "runs"), ("templates", "templates"), ("images", "images"),
            ] {
                let listed = try await api.call("GET", "/api/v1/projects/vision/\(path)", token: bob)
                #expect(listed.status == 200 && Self.items(listed, field).isEmpty, "\(path): \(listed.text)")
            }
            #expect(try await api.call("GET", "/api/v1/runs/\(long)", token: bob).status == 404)
            let records = try await api.call("GET", "/api/v1/projects/vision/pipelines/train/schedule-records", token: bob)
            #expect(records.status == 404 || Self.items(records, "records").isEmpty, "\(records.text)")

            // The published template is the platform's now: its draft gone, its version deprecated and unchangeable,
            // and the other project's pipeline still runs on it.
            let kept = try await api.call("GET", "/api/v1/templates/vision-tool", token: bob)
            #expect(kept.status == 200 && kept.json["project"] == nil, "\(kept.text)")
            let versions = Self.items(kept, "versions")
            #expect(versions.map { $0["version"] as? String } == ["1.0.0"])
            #expect((versions.first?["deprecated"] as? String)?.contains("its project vision was deleted") == true)
            #expect(try await api.call("GET", "/api/v1/templates/vision-draft", token: admin).status == 404)
            let change = try await api.call("POST", "/api/v1/templates/vision-tool/versions/1.0.0/unpublish", token: admin)
            #expect(change.status == 403 && change.errorMessage?.contains("deleted project") == true, "\(change.text)")
            let taken = try await api.call("POST", "/api/v1/projects/other/templates", token: bob, json: tool)
            #expect(taken.status == 409 && taken.errorMessage?.contains("taken by the platform") == true, "\(taken.text)")
            let uses = try await api.startRun("uses", project: "other", token: bob)
            #expect(try await api.waitForRun(uses, project: "other", token: bob)["state"] as? String == "succeeded")
        }
    }
}
