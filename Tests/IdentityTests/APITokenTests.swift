import Foundation
import SQLKit
import Testing
import TrellisStore
import TrellisTestSupport

/// Personal API tokens: scoped to projects and a role ceiling, usable as bearer tokens in every service, hashed at
/// rest, revocable, expiring.
@Suite struct APITokenTests {
    static func create(_ api: some APITransport, token: String, _ body: [String: Any]) async throws -> APIResponse {
        try await api.call("POST", "/api/v1/tokens", token: token, json: body)
    }

    @Test(arguments: DatabaseKind.allCases)
    func aTokenActsWithinItsProjectsAndCeiling(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind) { api, url in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let olga = try await api.team(project: "ml", owner: "olga", members: [], admin: admin)["olga"]!
            #expect(try await api.call("POST", "/api/v1/projects", token: olga, json: ["name": "web"]).status == 201)
            try await api.applyPipeline(
                "nightly", project: "ml", token: olga, tasks: [["name": "work", "template": "shell", "args": ["command": "true"]]])

            // A viewer token for ml only.
            let created = try await Self.create(api, token: olga, ["name": "dashboard", "projects": ["ml"], "role": "viewer"])
            #expect(created.status == 201, "\(created.text)")
            let secret = try #require(created.json["token"] as? String)
            #expect(secret.hasPrefix("trl_"))
            // It reads in ml (pipelines service, orchestrator, identity) …
            #expect(try await api.call("GET", "/api/v1/projects/ml/pipelines", token: secret).status == 200)
            #expect(try await api.call("GET", "/api/v1/projects/ml/runs", token: secret).status == 200)
            let me = try await api.call("GET", "/api/v1/me", token: secret)
            #expect((me.json["projects"] as? [[String: Any]])?.map { "\($0["name"]!):\($0["role"]!)" } == ["ml:viewer"])
            // … but does not write there, sees nothing of web, and cannot mint tokens or projects.
            #expect(try await api.call("POST", "/api/v1/projects/ml/pipelines/nightly/runs", token: secret).status == 403)
            #expect(try await api.call("GET", "/api/v1/projects/web/pipelines", token: secret).status == 404)
            #expect(try await api.call("GET", "/api/v1/projects/web", token: secret).status == 404)
            #expect(try await Self.create(api, token: secret, ["name": "again"]).status == 403)
            #expect(try await api.call("POST", "/api/v1/projects", token: secret, json: ["name": "sneaky"]).status == 403)

            // A developer token starts runs.
            let runner = try await Self.create(api, token: olga, ["name": "ci", "projects": ["ml"]])
            let ci = try #require(runner.json["token"] as? String)
            #expect(try await api.call("POST", "/api/v1/projects/ml/pipelines/nightly/runs", token: ci).status == 201)

            // Only the hash is stored.
            try await Database.withOpened(url, logger: TestDatabases.logger) { database in
                let rows = try await database.read { sql in
                    try await sql.raw("SELECT token_hash FROM identity_api_tokens").all().map {
                        try $0.decode(column: "token_hash", as: String.self)
                    }
                }
                #expect(rows.count == 2)
                #expect(!rows.contains(secret) && rows.allSatisfy { $0.count == 64 })
            }
            // Listed without secrets; revoked, it stops working.
            let listed = try await api.call("GET", "/api/v1/tokens", token: olga)
            #expect(!listed.text.contains(secret))
            let id = try #require((created.json["apiToken"] as? [String: Any])?["id"] as? String)
            #expect(try await api.call("DELETE", "/api/v1/tokens/\(id)", token: olga).status == 204)
            let revoked = try await api.call("GET", "/api/v1/projects/ml/pipelines", token: secret)
            #expect(revoked.status == 401 && revoked.text.contains("revoked"), "\(revoked.text)")
            #expect(try await api.call("DELETE", "/api/v1/tokens/\(id)", token: olga).status == 404)
            #expect(try await api.call("GET", "/api/v1/me", token: "trl_not-a-token").status == 401)
        }
    }

    @Test func badRequestsNameTheField() async throws {
        try await EmbeddedHarness.with(.sqlite) { api, _ in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let olga = try await api.team(project: "ml", owner: "olga", members: [], admin: admin)["olga"]!
            let cases: [([String: Any], String)] = [
                (["name": ""], "name"), (["name": "x", "role": "emperor"], "role"),
                (["name": "x", "expiresIn": "500d"], "expiresIn"), (["name": "x", "projects": ["nope"]], "projects[0]"),
                (["name": "x", "projects": []], "projects"),
            ]
            for (body, field) in cases {
                let response = try await Self.create(api, token: olga, body)
                #expect(response.status == 400 && response.text.contains(field), "\(body): \(response.text)")
            }
        }
    }

    @Test func aTokenExpires() async throws {
        let clock = SessionTests.TestClock()
        try await IdentityHarness.with(.sqlite, now: { clock.now }) { api, _ in
            let admin = try await api.login("admin", IdentityHarness.adminPassword)
            #expect(try await api.call("POST", "/api/v1/projects", token: admin, json: ["name": "ops"]).status == 201)
            let created = try await Self.create(api, token: admin, ["name": "short", "expiresIn": "1h"])
            let secret = try #require(created.json["token"] as? String)
            #expect(try await api.call("GET", "/api/v1/projects/ops", token: secret).status == 200)
            clock.advance(3601)
            #expect(try await api.call("GET", "/api/v1/projects/ops", token: secret).status == 401)
        }
    }
}
