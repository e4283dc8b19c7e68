import Foundation
import Testing
import TrellisTestSupport

@Suite struct TemplateRegistryTests {
    static var epochsEcho: [String: Any] {
        [
            "name": "epochs-echo", "version": "1.0.0", "category": "training", "description": "Echo the epochs",
            "image": "python:3.12", "command": ["python3", "train.py"],
            "parameters": [
                ["group": "train", "params": [["name": "epochs", "type": "int", "required": true, "default": 10, "range": [1, 100]]]]
            ],
        ]
    }

    static func names(_ response: APIResponse) -> [String] {
        (response.json["templates"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
    }

    @Test(arguments: DatabaseKind.allCases)
    func builtInsArePublishedToEveryoneAndReadOnly(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind) { api in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let tokens = try await api.team(project: "lab", owner: "olga", members: [], admin: admin)
            let list = try await api.call("GET", "/api/v1/templates?published=true", token: tokens["olga"])
            #expect(Self.names(list) == ["distributed-shell", "mpi", "noop", "python", "pytorch", "ray", "shell", "tensorflow", "xgboost"])
            let shell = try await api.call("GET", "/api/v1/templates/shell/versions/1.0.0", token: tokens["olga"])
            #expect(shell.status == 200)
            #expect((shell.json["spec"] as? [String: Any])?["readme"] as? String != nil)
            #expect(shell.json["status"] as? String == "published")
            let publish = try await api.call("POST", "/api/v1/templates/shell/versions/1.0.0/unpublish", token: admin)
            #expect(publish.status == 403)
            var spec = Self.epochsEcho
            spec["name"] = "shell"
            let clash = try await api.call("POST", "/api/v1/projects/lab/templates", token: tokens["olga"], json: spec)
            #expect(clash.status == 403)
            #expect(clash.errorMessage == "\"shell\" is a built-in template and cannot be changed")
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func publishingMakesAProjectTemplateVisibleToEveryUser(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind) { api in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let a = try await api.team(project: "team-a", owner: "alice", members: [("dev", "developer")], admin: admin)
            let b = try await api.team(project: "team-b", owner: "bob", members: [], admin: admin)

            let registered = try await api.call("POST", "/api/v1/projects/team-a/templates", token: a["dev"], json: Self.epochsEcho)
            #expect(registered.status == 201)
            #expect(registered.json["status"] as? String == "draft")

            // A draft: team A sees it, team B does not.
            #expect(Self.names(try await api.call("GET", "/api/v1/templates?mine=true", token: a["alice"])) == ["epochs-echo"])
            #expect(!Self.names(try await api.call("GET", "/api/v1/templates", token: b["bob"])).contains("epochs-echo"))
            #expect(try await api.call("GET", "/api/v1/templates/epochs-echo", token: b["bob"]).status == 404)

            // Developers register; only the template's owners publish.
            #expect(try await api.call("POST", "/api/v1/templates/epochs-echo/versions/1.0.0/publish", token: a["dev"]).status == 403)
            let published = try await api.call("POST", "/api/v1/templates/epochs-echo/versions/1.0.0/publish", token: a["alice"])
            #expect(published.status == 200)
            #expect(published.json["status"] as? String == "published")

            // Now the marketplace of a user of project B offers it, readable in full.
            #expect(
                Self.names(try await api.call("GET", "/api/v1/templates?published=true&category=training", token: b["bob"])) == [
                    "epochs-echo"
                ])
            #expect(Self.names(try await api.call("GET", "/api/v1/templates?q=ECHO", token: b["bob"])) == ["epochs-echo"])
            let version = try await api.call("GET", "/api/v1/templates/epochs-echo/versions/1.0.0", token: b["bob"])
            #expect((version.json["spec"] as? [String: Any])?["image"] as? String == "python:3.12")

            // Unpublished: gone from B's palette, still there for its project.
            #expect(try await api.call("POST", "/api/v1/templates/epochs-echo/versions/1.0.0/unpublish", token: a["alice"]).status == 200)
            #expect(!Self.names(try await api.call("GET", "/api/v1/templates", token: b["bob"])).contains("epochs-echo"))
            let kept = try await api.call("GET", "/api/v1/templates/epochs-echo/versions/1.0.0", token: a["dev"])
            #expect(kept.json["status"] as? String == "unpublished")

            // Deprecation is recorded with its message.
            let deprecated = try await api.call(
                "POST", "/api/v1/templates/epochs-echo/versions/1.0.0/deprecate", token: a["alice"], json: ["message": "use 2.0.0"]
            )
            #expect(deprecated.json["deprecated"] as? String == "use 2.0.0")
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func aPublishedVersionCannotChange(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind) { api in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let a = try await api.team(project: "team-a", owner: "alice", members: [("viewer", "viewer")], admin: admin)
            #expect(try await api.call("POST", "/api/v1/projects/team-a/templates", token: a["alice"], json: Self.epochsEcho).status == 201)
            // A draft may be replaced.
            var changed = Self.epochsEcho
            changed["description"] = "Echo the epochs, better"
            #expect(try await api.call("POST", "/api/v1/projects/team-a/templates", token: a["alice"], json: changed).status == 201)
            #expect(try await api.call("POST", "/api/v1/templates/epochs-echo/versions/1.0.0/publish", token: a["alice"]).status == 200)
            // Applying the same content again is a no-op; different content is refused.
            #expect(try await api.call("POST", "/api/v1/projects/team-a/templates", token: a["alice"], json: changed).status == 200)
            let refused = try await api.call("POST", "/api/v1/projects/team-a/templates", token: a["alice"], json: Self.epochsEcho)
            #expect(refused.status == 409)
            #expect(refused.errorMessage == "epochs-echo@1.0.0 is published and cannot change; register a new version")
            var next = Self.epochsEcho
            next["version"] = "1.1.0"
            #expect(try await api.call("POST", "/api/v1/projects/team-a/templates", token: a["alice"], json: next).status == 201)
            let summary = try await api.call("GET", "/api/v1/templates/epochs-echo", token: a["alice"])
            #expect(summary.json["latestVersion"] as? String == "1.1.0")
            // Viewers cannot register; other projects cannot take the name; strangers do not see the project.
            #expect(try await api.call("POST", "/api/v1/projects/team-a/templates", token: a["viewer"], json: next).status == 403)
            let b = try await api.team(project: "team-b", owner: "bob", members: [], admin: admin)
            let taken = try await api.call("POST", "/api/v1/projects/team-b/templates", token: b["bob"], json: next)
            #expect(taken.status == 409)
            // The other project's name is not revealed.
            #expect(taken.errorMessage == "the template name \"epochs-echo\" is taken by another project; choose another")
            #expect(try await api.call("POST", "/api/v1/projects/team-a/templates", token: b["bob"], json: next).status == 404)
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func badTemplatesAreRefusedNamingEveryField(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind) { api in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let a = try await api.team(project: "team-a", owner: "alice", members: [], admin: admin)
            let yaml = """
                name: broken
                version: "1.0"
                image: python:3.12
                parameters:
                  - group: g
                    params:
                      - {name: mode, type: enum}
                      - {name: n, type: int, default: many}
                """
            let response = try await api.send(
                "POST", "/api/v1/projects/team-a/templates",
                headers: ["Authorization": "Bearer \(a["alice"]!)", "Content-Type": "application/yaml"], body: Data(yaml.utf8)
            )
            #expect(response.status == 400)
            #expect(
                response.errorMessage == """
                    version: "1.0" is not a semantic version such as 1.0.0 or 2.1.0-beta.1; \
                    parameters[0].params[0].choices: a enum parameter needs at least one choice; \
                    parameters[0].params[1].default: must be a whole number, got "many"
                    """)
            let unknownType = try await api.call(
                "POST", "/api/v1/projects/team-a/templates", token: a["alice"],
                json: [
                    "name": "x", "version": "1.0.0", "image": "i",
                    "parameters": [["group": "g", "params": [["name": "a", "type": "date"]]]],
                ]
            )
            #expect(unknownType.status == 400)
            #expect(unknownType.errorMessage?.hasPrefix("parameters[0].params[0].type:") == true)
        }
    }
}
