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
}
