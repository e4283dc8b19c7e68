import Foundation
import SQLKit
import Testing
import TrellisStore
import TrellisTestSupport

/// A project's secret env entry: its value is stored sealed and shown to no one — not in the project, a run, an
/// attempt's invocation, a render or Argo preview, nor the task's log (masked `***`) — and reaches the task's
/// process only at launch.
@Suite struct SecretEnvironmentTests {
    static let value = "s3cr3t-t0ken-value"

    @Test(arguments: DatabaseKind.allCases)
    func aSecretReachesTheTaskAndNoOneElse(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind) { api, url in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let team = try await api.team(project: "vault", owner: "olga", members: [("vic", "viewer")], admin: admin)
            let (olga, vic) = (team["olga"], team["vic"])
            let shared = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-vault-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: shared) }
            try await api.shareFolder(shared, project: "vault", admin: admin)
            let current = try await api.call("GET", "/api/v1/projects/vault", token: olga)
            var settings = try #require(current.json["settings"] as? [String: Any])
            settings["env"] = ["PLAIN": "plain-value", "TOKEN": ["secret": true, "value": Self.value]]
            let saved = try await api.call("PATCH", "/api/v1/projects/vault", token: olga, json: ["settings": settings])
            #expect(saved.status == 200, "\(saved.text)")
            #expect(((saved.json["settings"] as? [String: Any])?["env"] as? [String: Any])?["TOKEN"] as? [String: Bool] == ["secret": true])
            #expect(!saved.text.contains(Self.value))
            #expect(!(try await api.call("GET", "/api/v1/projects/vault", token: vic).text.contains(Self.value)))
            // Saved again without its value, the secret keeps it; a new one needs one; a short one is refused.
            settings["env"] = ["PLAIN": "plain-value", "TOKEN": ["secret": true], "OTHER": ["secret": true]]
            let missing = try await api.call("PATCH", "/api/v1/projects/vault", token: olga, json: ["settings": settings])
            #expect(
                missing.status == 400 && missing.errorMessage?.hasPrefix("settings.env.OTHER.value: a new secret needs its value") == true)
            settings["env"] = ["PLAIN": "plain-value", "TOKEN": ["secret": true], "OTHER": ["secret": true, "value": "abc"]]
            let short = try await api.call("PATCH", "/api/v1/projects/vault", token: olga, json: ["settings": settings])
            #expect(short.status == 400 && short.errorMessage?.hasPrefix("settings.env.OTHER.value: a secret is 4 to 16,384 bytes") == true)
            settings["env"] = ["PLAIN": "plain-value", "TOKEN": ["secret": true]]
            #expect(try await api.call("PATCH", "/api/v1/projects/vault", token: olga, json: ["settings": settings]).status == 200)

            // The task gets the value; its log shows it masked.
            let seen = shared.appendingPathComponent("seen").path
            try await api.applyPipeline(
                "use", project: "vault", token: olga,
                tasks: [
                    [
                        "name": "work", "template": "shell",
                        "args": ["command": "echo \"token is $TOKEN and $PLAIN\"; printf '%s' \"$TOKEN\" > \(seen)"],
                    ]
                ])
            let run = try await api.startRun("use", project: "vault", token: olga)
            let ended = try await api.waitForRun(run, project: "vault", token: olga)
            #expect(ended["state"] as? String == "succeeded", "\(ended)")
            #expect(try String(contentsOfFile: seen, encoding: .utf8) == Self.value)
            let log = try await api.call("GET", "/api/v1/projects/vault/runs/\(run)/tasks/work/logs", token: vic)
            #expect(log.text.contains("token is *** and plain-value") && !log.text.contains(Self.value), "\(log.text)")

            // Shown nowhere: the run, a debug run's exact invocation, the render and Argo previews.
            let debug = try await api.call(
                "POST", "/api/v1/projects/vault/pipelines/use/tasks/work/run", token: olga, json: ["debug": true])
            let debugID = try #require(debug.json["id"] as? String, "\(debug.text)")
            _ = try await api.waitForRun(debugID, project: "vault", token: olga)
            let attempt = try await api.call("GET", "/api/v1/projects/vault/runs/\(debugID)/tasks/work/attempts/1", token: olga)
            let invocation = try #require((attempt.json["attempt"] as? [String: Any])?["invocation"] as? [String: Any], "\(attempt.text)")
            #expect((invocation["environment"] as? [String: String])?["TOKEN"] == "<secret>", "\(attempt.text)")
            let render = try await api.call("POST", "/api/v1/projects/vault/pipelines/use/render", token: vic)
            #expect(
                ((render.json["tasks"] as? [[String: Any]])?.first?["env"] as? [String: String])?["TOKEN"] == "<secret>", "\(render.text)")
            let argo = try await api.call("GET", "/api/v1/projects/vault/pipelines/use/argo?format=json", token: vic)
            let containers = (argo.json["spec"] as? [String: Any])?["templates"] as? [[String: Any]] ?? []
            let environment = containers.compactMap { ($0["container"] as? [String: Any])?["env"] as? [[String: Any]] }.flatMap { $0 }
            let token = environment.first { $0["name"] as? String == "TOKEN" }
            #expect(
                ((token?["valueFrom"] as? [String: Any])?["secretKeyRef"] as? [String: String]) == ["name": "trellis-env", "key": "TOKEN"],
                "\(argo.text)")
            for response in [
                ended.description, attempt.text, render.text, argo.text, try await api.call("GET", "/api/v1/runs/\(run)", token: olga).text,
            ] {
                #expect(!response.contains(Self.value))
            }

            // At rest: sealed in the identity service's table, nowhere else.
            try await Database.withOpened(url, logger: TestDatabases.logger) { database in
                try await database.read { sql in
                    let sealed = try await sql.select().column("sealed").from("identity_project_secrets").all(
                        decodingColumn: "sealed", as: String.self)
                    #expect(sealed.count == 1 && sealed.allSatisfy { $0.hasPrefix("v1:") && !$0.contains(Self.value) })
                    for (table, column) in [
                        ("identity_projects", "settings"), ("orchestrator_runs", "plan"), ("orchestrator_attempts", "invocation"),
                    ] {
                        let texts = try await sql.select().column(column).from(table).all(decodingColumn: column, as: String.self)
                        #expect(!texts.isEmpty && !texts.contains { $0.contains(Self.value) }, "\(table).\(column)")
                    }
                }
            }
        }
    }
}
