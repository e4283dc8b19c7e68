import Foundation
import Testing
import TrellisTestSupport

/// Run-time parameters through the API: a run gives values for the pipeline's `spec.parameters` (others take their
/// defaults), its tasks read them as `{{ params.NAME }}`, the run shows them; bad values are refused naming
/// `parameters.NAME`; a single-task run takes them too.
@Suite struct RunParametersAPITests {
    @Test(arguments: DatabaseKind.allCases)
    func aRunsParametersReachItsTasks(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind) { api in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let team = try await api.team(project: "ml", owner: "olga", members: [], admin: admin)
            let olga = try #require(team["olga"])
            try await api.applyPipeline(
                "train", project: "ml", token: olga,
                tasks: [
                    [
                        "name": "fit", "template": "shell",
                        "args": ["command": "echo sample={{ params.sample }} target={{ params['target'] }}"],
                    ]
                ],
                spec: ["parameters": [["name": "sample", "default": 0.1, "description": "fraction"], ["name": "target"]]])

            // A parameter without a default must be given; unknown and non-scalar values are refused.
            let path = "/api/v1/projects/ml/pipelines/train/runs"
            for (body, field) in [
                ([:], "parameters.target"), (["target": "prod", "nope": 1], "parameters.nope"), (["target": ["a"]], "parameters.target"),
            ] as [([String: Any], String)] {
                let refused = try await api.call("POST", path, token: olga, json: ["parameters": body])
                #expect(refused.status == 400 && refused.errorMessage?.hasPrefix(field) == true, "\(body): \(refused.text)")
            }
            let undeclared = try await api.call(
                "POST", "/api/v1/projects/ml/pipelines", token: olga,
                json: [
                    "apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": ["name": "loose"],
                    "spec": ["tasks": [["name": "a", "template": "shell", "args": ["command": "echo {{ params.x }}"]]]],
                ])
            #expect(undeclared.status == 400 && undeclared.text.contains("unknown name \\\"params\\\""), "\(undeclared.text)")

            let started = try await api.call("POST", path, token: olga, json: ["parameters": ["target": "prod", "sample": 0.5]])
            let run = try #require(started.json["id"] as? String, "\(started.text)")
            #expect(started.json["parameters"] as? [String: String] == ["sample": "0.5", "target": "prod"], "\(started.text)")
            #expect(try await api.waitForRun(run, project: "ml", token: olga)["state"] as? String == "succeeded")
            let log = try await api.call("GET", "/api/v1/projects/ml/runs/\(run)/tasks/fit/logs", token: olga)
            #expect(log.text.contains("sample=0.5 target=prod"), "\(log.text)")

            // One task alone, with a value of its own and the other's default.
            let single = try await api.call(
                "POST", "/api/v1/projects/ml/pipelines/train/tasks/fit/run", token: olga, json: ["parameters": ["target": "dev"]])
            let singleID = try #require(single.json["id"] as? String, "\(single.text)")
            _ = try await api.waitForRun(singleID, project: "ml", token: olga)
            let singleLog = try await api.call("GET", "/api/v1/projects/ml/runs/\(singleID)/tasks/fit/logs", token: olga)
            #expect(singleLog.text.contains("sample=0.1 target=dev"), "\(singleLog.text)")
        }
    }

    @Test func aBackfillGivesItsRunsParametersAndSchedulesNeedDefaults() async throws {
        try await EmbeddedHarness.with(.sqlite) { api in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let olga = try #require(try await api.team(project: "ml", owner: "olga", members: [], admin: admin)["olga"])
            let task: [String: Any] = ["name": "fit", "template": "shell", "args": ["command": "echo target={{ params.target }}"]]
            // The schedule starts in an hour: nothing of its own runs during the test.
            let schedule: [String: Any] = [
                "cron": "*/30 * * * *", "startTime": Date().addingTimeInterval(3600).formatted(.iso8601), "catchup": false,
            ]
            let required = try await api.call(
                "POST", "/api/v1/projects/ml/pipelines", token: olga,
                json: [
                    "apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": ["name": "hourly"],
                    "spec": ["tasks": [task], "schedule": schedule, "parameters": [["name": "target"]]],
                ])
            #expect(required.status == 400 && required.text.contains("spec.parameters[0].default"), "\(required.text)")
            try await api.applyPipeline(
                "hourly", project: "ml", token: olga, tasks: [task],
                spec: ["schedule": schedule, "parameters": [["name": "target", "default": "dev"]]])

            let path = "/api/v1/projects/ml/pipelines/hourly/backfill"
            let range: [String: Any] = [
                "from": Date().addingTimeInterval(-3 * 3600).formatted(.iso8601),
                "to": Date().addingTimeInterval(-3600).formatted(.iso8601),
            ]
            let refused = try await api.call("POST", path, token: olga, json: range.merging(["parameters": ["nope": "x"]]) { $1 })
            #expect(refused.status == 400 && refused.errorMessage?.hasPrefix("parameters.nope") == true, "\(refused.text)")
            let backfill = try await api.call("POST", path, token: olga, json: range.merging(["parameters": ["target": "prod"]]) { $1 })
            #expect(backfill.status == 201, "\(backfill.text)")
            let records = try await api.waitForRecords("hourly", project: "ml", token: olga) { records in
                !records.isEmpty && records.allSatisfy(RecordJSON.succeeded)
            }
            #expect(records.count >= 3 && records.allSatisfy { $0["parameters"] as? [String: String] == ["target": "prod"] }, "\(records)")
            for record in records {
                let run = try #require(RecordJSON.runID(record))
                let log = try await api.call("GET", "/api/v1/projects/ml/runs/\(run)/tasks/fit/logs", token: olga)
                #expect(log.text.contains("target=prod"), "\(log.text)")
            }
        }
    }
}
