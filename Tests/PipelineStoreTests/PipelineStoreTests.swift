import Foundation
import Testing
import TrellisCore
import TrellisStore
import TrellisTestSupport

@testable import PipelineStore

@Suite struct PipelineStoreTests {
    static func pipeline(_ name: String = "daily-train", tasks: [[String: Any]]) -> [String: Any] {
        [
            "apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": ["name": name, "description": "train daily"],
            "spec": ["parallelism": 2, "tasks": tasks],
        ]
    }

    static func shell(_ name: String, _ dependsOn: [String] = [], command: String? = nil) -> [String: Any] {
        ["name": name, "template": "shell", "args": ["command": command ?? "echo \(name)"], "dependsOn": dependsOn]
    }

    static var diamond: [[String: Any]] {
        [shell("prepare"), shell("left", ["prepare"]), shell("right", ["prepare"]), shell("join", ["left", "right"])]
    }

    @Test(arguments: DatabaseKind.allCases)
    func pipelinesAreVersionedWithStableTaskIDs(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind) { api in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let team = try await api.team(
                project: "ml", owner: "olga", members: [("dev", "developer"), ("viewer", "viewer")], admin: admin)
            let created = try await api.call(
                "POST", "/api/v1/projects/ml/pipelines", token: team["dev"], json: Self.pipeline(tasks: Self.diamond))
            #expect(created.status == 201)
            #expect(created.json["version"] as? Int == 1)
            #expect((created.json["templates"] as? [String: String])?["join"] == "shell@1.0.0")
            let firstIDs = created.json["taskIDs"] as? [String: String] ?? [:]
            #expect(firstIDs.count == 4)

            // The same document again changes nothing; an edit makes version 2 and keeps the ids of kept tasks.
            #expect(
                try await api.call("POST", "/api/v1/projects/ml/pipelines", token: team["dev"], json: Self.pipeline(tasks: Self.diamond))
                    .json["version"] as? Int == 1)
            var edited = Self.diamond
            edited[3] = Self.shell("join", ["left", "right"], command: "echo joined")
            edited.append(Self.shell("report", ["join"]))
            let second = try await api.call("POST", "/api/v1/projects/ml/pipelines", token: team["dev"], json: Self.pipeline(tasks: edited))
            #expect(second.status == 200)
            #expect(second.json["version"] as? Int == 2)
            let secondIDs = second.json["taskIDs"] as? [String: String] ?? [:]
            #expect(secondIDs["join"] == firstIDs["join"])
            #expect(secondIDs["report"] != nil && !firstIDs.values.contains(secondIDs["report"]!))

            // Readers: list, get, versions, one old version; viewers cannot change anything.
            let list = try await api.call("GET", "/api/v1/projects/ml/pipelines", token: team["viewer"])
            #expect((list.json["pipelines"] as? [[String: Any]])?.first?["tasks"] as? Int == 5)
            let versions = try await api.call("GET", "/api/v1/projects/ml/pipelines/daily-train/versions", token: team["viewer"])
            #expect((versions.json["versions"] as? [[String: Any]])?.compactMap { $0["version"] as? Int } == [2, 1])
            let old = try await api.call("GET", "/api/v1/projects/ml/pipelines/daily-train/versions/1", token: team["viewer"])
            #expect(((old.json["spec"] as? [String: Any])?["spec"] as? [String: Any])?["tasks"].map { ($0 as? [Any])?.count } == 4)
            #expect(
                try await api.call("POST", "/api/v1/projects/ml/pipelines", token: team["viewer"], json: Self.pipeline(tasks: edited))
                    .status == 403)

            // Layout is kept apart: saving it makes no version.
            let layout = ["layout": ["prepare": ["x": 10, "y": 20]]]
            #expect(
                try await api.call("PUT", "/api/v1/projects/ml/pipelines/daily-train/layout", token: team["dev"], json: layout).status
                    == 200)
            let stored = try await api.call("GET", "/api/v1/projects/ml/pipelines/daily-train/layout", token: team["viewer"])
            #expect(((stored.json["layout"] as? [String: Any])?["prepare"] as? [String: Any])?["x"] as? Int == 10)
            #expect(
                try await api.call("GET", "/api/v1/projects/ml/pipelines/daily-train", token: team["viewer"]).json["version"] as? Int == 2)

            // Export gives the pipeline file back; applying it as YAML changes nothing.
            let exported = try await api.call("GET", "/api/v1/projects/ml/pipelines/daily-train/export", token: team["viewer"])
            #expect(exported.headers["content-type"]?.hasPrefix("application/yaml") == true)
            #expect(exported.text.contains("apiVersion: trellis.dev/v1"))
            let reapplied = try await api.send(
                "POST", "/api/v1/projects/ml/pipelines",
                headers: ["Authorization": "Bearer \(team["dev"]!)", "Content-Type": "application/yaml"],
                body: exported.body
            )
            #expect(reapplied.status == 200)
            #expect(reapplied.json["version"] as? Int == 2)

            #expect(try await api.call("DELETE", "/api/v1/projects/ml/pipelines/daily-train", token: team["dev"]).status == 204)
            #expect(try await api.call("GET", "/api/v1/projects/ml/pipelines/daily-train", token: team["dev"]).status == 404)
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func badPipelinesAreRefusedNamingTheFault(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind) { api in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let team = try await api.team(project: "ml", owner: "olga", members: [], admin: admin)
            let cyclic = [Self.shell("a", ["c"]), Self.shell("b", ["a"]), Self.shell("c", ["b"])]
            let refused = try await api.call(
                "POST", "/api/v1/projects/ml/pipelines", token: team["olga"], json: Self.pipeline(tasks: cyclic))
            #expect(refused.status == 400)
            #expect(refused.errorMessage == "spec.tasks: dependency cycle: a → b → c → a")
            let badArgs = [["name": "a", "template": "shell", "args": ["comand": "typo"]], ["name": "b", "template": "nothing"]]
            let named = try await api.call(
                "POST", "/api/v1/projects/ml/pipelines", token: team["olga"], json: Self.pipeline(tasks: badArgs))
            #expect(
                named.errorMessage == """
                    spec.tasks[a].args.comand: unknown parameter (known: command, workdir); spec.tasks[a].args.command: is required; \
                    spec.tasks[b].template: no template "nothing" is available to this project
                    """)
            // Each problem also on its own, for an editor to show beside its field.
            let fields = (named.json["error"] as? [String: Any])?["fields"] as? [[String: String]] ?? []
            #expect(
                fields.map { $0["field"] ?? "" } == ["spec.tasks[a].args.comand", "spec.tasks[a].args.command", "spec.tasks[b].template"])
            #expect(fields.last?["message"] == "no template \"nothing\" is available to this project")
            var otherProject = Self.pipeline(tasks: Self.diamond)
            otherProject["metadata"] = ["name": "x", "project": "elsewhere"]
            let mismatch = try await api.call("POST", "/api/v1/projects/ml/pipelines", token: team["olga"], json: otherProject)
            #expect(mismatch.errorMessage == "metadata.project: is \"elsewhere\" but the pipeline is applied to project \"ml\"")
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func aPublishedTemplateOfProjectAIsUsableInProjectB(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind) { api in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let a = try await api.team(project: "team-a", owner: "alice", members: [], admin: admin)
            let b = try await api.team(project: "team-b", owner: "bob", members: [], admin: admin)
            let template: [String: Any] = [
                "name": "epochs-echo", "version": "1.0.0", "image": "python:3.12", "command": ["echo"],
                "parameters": [["group": "g", "params": [["name": "epochs", "type": "int", "default": 10, "range": [1, 100]]]]],
            ]
            #expect(try await api.call("POST", "/api/v1/projects/team-a/templates", token: a["alice"], json: template).status == 201)
            let uses = [["name": "train", "template": "epochs-echo", "args": ["epochs": "20"]]]

            // A draft of project A is not available to project B.
            let draft = try await api.call("POST", "/api/v1/projects/team-b/pipelines", token: b["bob"], json: Self.pipeline(tasks: uses))
            #expect(draft.errorMessage == "spec.tasks[train].template: no template \"epochs-echo\" is available to this project")

            // Published, B uses it, and its args are checked against its schema.
            #expect(try await api.call("POST", "/api/v1/templates/epochs-echo/versions/1.0.0/publish", token: a["alice"]).status == 200)
            let saved = try await api.call("POST", "/api/v1/projects/team-b/pipelines", token: b["bob"], json: Self.pipeline(tasks: uses))
            #expect(saved.status == 201)
            #expect((saved.json["templates"] as? [String: String])?["train"] == "epochs-echo@1.0.0")
            let outOfRange = [["name": "train", "template": "epochs-echo", "args": ["epochs": 500]]]
            let refused = try await api.call(
                "POST", "/api/v1/projects/team-b/pipelines", token: b["bob"], json: Self.pipeline(tasks: outOfRange))
            #expect(refused.errorMessage == "spec.tasks[train].args.epochs: must be between 1 and 100, got 500")

            // Unpublished: no new pipeline may use it; the pipeline that already does can still be saved.
            #expect(try await api.call("POST", "/api/v1/templates/epochs-echo/versions/1.0.0/unpublish", token: a["alice"]).status == 200)
            let newUse = try await api.call(
                "POST", "/api/v1/projects/team-b/pipelines", token: b["bob"], json: Self.pipeline("other", tasks: uses))
            #expect(newUse.status == 400)
            let existingUse = [["name": "train", "template": "epochs-echo@1.0.0", "args": ["epochs": 30]]]
            let kept = try await api.call(
                "POST", "/api/v1/projects/team-b/pipelines", token: b["bob"], json: Self.pipeline(tasks: existingUse))
            #expect(kept.status == 200)
            #expect(kept.json["version"] as? Int == 2)
        }
    }
}

@Suite struct PipelineRepositoryTests {
    /// Creators racing to save the first version of one new name: one wins, the others get a conflict (the unique
    /// index decides on PostgreSQL, where no row exists to lock), never a database error.
    @Test(arguments: DatabaseKind.allCases)
    func racingFirstSavesAreConflicts(_ kind: DatabaseKind) async throws {
        try await TestDatabases.withFresh(kind) { url in
            try await Database.withOpened(url, logger: TestDatabases.logger) { database in
                try await Migrator(database: database).apply(try PipelineStoreModule.migrations()!)
                let repository = SQLPipelineRepository(database: database)
                let spec = try JSONDecoder().decode(
                    PipelineSpec.self,
                    from: Data(
                        #"{"apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": {"name": "p"}, "spec": {"tasks": []}}"#.utf8))
                for round in 0..<10 {
                    let version = PipelineVersion(
                        pipeline: "p\(round)", version: 1, spec: spec, taskIDs: [:], templates: [:], createdBy: "u", createdAt: Date())
                    let outcomes = await withTaskGroup(of: String.self) { group in
                        for _ in 0..<8 {
                            group.addTask {
                                do {
                                    try await repository.save(version, project: "ml", existing: nil)
                                    return "saved"
                                } catch PipelineError.concurrentChange {
                                    return "conflict"
                                } catch {
                                    return "\(error)"
                                }
                            }
                        }
                        return await group.reduce(into: [String]()) { $0.append($1) }
                    }
                    #expect(outcomes.sorted() == Array(repeating: "conflict", count: 7) + ["saved"], "\(outcomes)")
                }
            }
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func aSaveBasedOnAnOlderVersionIsAConflict(_ kind: DatabaseKind) async throws {
        try await TestDatabases.withFresh(kind) { url in
            try await Database.withOpened(url, logger: TestDatabases.logger) { database in
                try await Migrator(database: database).apply(try PipelineStoreModule.migrations()!)
                let repository = SQLPipelineRepository(database: database)
                let spec = try JSONDecoder().decode(
                    PipelineSpec.self,
                    from: Data(
                        #"{"apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": {"name": "p"}, "spec": {"tasks": []}}"#.utf8)
                )
                func version(_ number: Int) -> PipelineVersion {
                    PipelineVersion(
                        pipeline: "p", version: number, spec: spec, taskIDs: [:], templates: [:], createdBy: "u", createdAt: Date())
                }
                try await repository.save(version(1), project: "ml", existing: nil)
                // A second creator lost the race.
                await #expect(throws: PipelineError.concurrentChange("p")) {
                    try await repository.save(version(1), project: "ml", existing: nil)
                }
                let record = try #require(try await repository.pipeline(named: "p", project: "ml"))
                try await repository.save(version(2), project: "ml", existing: record)
                // Another writer also read version 1 and tries to save its version 2.
                await #expect(throws: PipelineError.concurrentChange("p")) {
                    try await repository.save(version(2), project: "ml", existing: record)
                }
                #expect(
                    try await repository.versions(of: try #require(try await repository.pipeline(named: "p", project: "ml"))).map(\.version)
                        == [2, 1])
            }
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func templateUsageCountsPipelinesAcrossProjectsByVersion(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind) { api in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let ml = try await api.team(project: "ml", owner: "olga", members: [], admin: admin)
            let bi = try await api.team(project: "bi", owner: "boris", members: [], admin: admin)
            let template: [String: Any] = ["name": "counted", "version": "1.0.0", "image": "busybox", "command": ["true"]]
            #expect(try await api.call("POST", "/api/v1/projects/ml/templates", token: ml["olga"], json: template).status == 201)
            #expect(try await api.call("POST", "/api/v1/templates/counted/versions/1.0.0/publish", token: ml["olga"]).status == 200)
            var second = template
            second["version"] = "1.1.0"
            #expect(try await api.call("POST", "/api/v1/projects/ml/templates", token: ml["olga"], json: second).status == 201)
            #expect(try await api.call("POST", "/api/v1/templates/counted/versions/1.1.0/publish", token: ml["olga"]).status == 200)
            // Two tasks of one pipeline count once; an older version of a pipeline does not count.
            let twice = [["name": "a", "template": "counted@1.0.0"], ["name": "b", "template": "counted@1.0.0"]]
            #expect(
                try await api.call(
                    "POST", "/api/v1/projects/ml/pipelines", token: ml["olga"], json: PipelineStoreTests.pipeline("one", tasks: twice)
                )
                .status == 201)
            let newest = [["name": "a", "template": "counted"]]
            #expect(
                try await api.call(
                    "POST", "/api/v1/projects/bi/pipelines", token: bi["boris"], json: PipelineStoreTests.pipeline("two", tasks: newest)
                )
                .status == 201)
            #expect(
                try await api.call(
                    "POST", "/api/v1/projects/bi/pipelines", token: bi["boris"], json: PipelineStoreTests.pipeline("three", tasks: twice)
                )
                .status == 201)
            #expect(
                try await api.call(
                    "POST", "/api/v1/projects/bi/pipelines", token: bi["boris"], json: PipelineStoreTests.pipeline("three", tasks: newest)
                )
                .status == 200)
            #expect(
                try await api.call(
                    "POST", "/api/v1/projects/bi/pipelines", token: bi["boris"],
                    json: PipelineStoreTests.pipeline("other", tasks: [PipelineStoreTests.shell("x")])
                ).status == 201)

            let usage = try await api.call("GET", "/api/v1/template-usage/counted", token: bi["boris"])
            #expect(usage.status == 200)
            #expect(usage.json["pipelines"] as? Int == 3)
            let versions = (usage.json["versions"] as? [[String: Any]] ?? []).map { "\($0["version"] ?? "")=\($0["pipelines"] ?? "")" }
            #expect(versions == ["1.1.0=2", "1.0.0=1"])
            let unused = try await api.call("GET", "/api/v1/template-usage/nothing-uses-this", token: bi["boris"])
            #expect(unused.json["pipelines"] as? Int == 0)
            #expect(try await api.call("GET", "/api/v1/template-usage/counted").status == 401)
        }
    }
}

extension PipelineStoreTests {
    /// The Argo preview goes through the real planner (built-in templates, pinned versions, rendered variables):
    /// its manifest is also kept for the schema check of `make test` (Tests/Argo/validate.py).
    @Test(arguments: DatabaseKind.allCases)
    func theArgoPreviewIsTheWorkflowARunWouldBe(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind) { api in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let team = try await api.team(project: "ml", owner: "olga", members: [("vic", "viewer")], admin: admin)
            let tasks: [[String: Any]] = [
                ["name": "prepare", "template": "shell", "args": ["command": "echo {{ds}}"], "retry": ["limit": 2], "timeout": "5m"],
                [
                    "name": "train", "template": "distributed-shell", "dependsOn": ["prepare"], "replicas": 2,
                    "args": ["command": "echo rank"],
                ],
                ["name": "done", "template": "noop", "dependsOn": ["train"], "skip": true],
            ]
            #expect(
                try await api.call("POST", "/api/v1/projects/ml/pipelines", token: team["olga"], json: Self.pipeline("flow", tasks: tasks))
                    .status == 201)
            let json = try await api.call("GET", "/api/v1/projects/ml/pipelines/flow/argo?format=json", token: team["vic"])
            #expect(json.status == 200, "\(json.text)")
            #expect(json.json["kind"] as? String == "Workflow")
            #expect((json.json["metadata"] as? [String: Any])?["namespace"] as? String == "trellis-ml")
            let templates = ((json.json["spec"] as? [String: Any])?["templates"] as? [[String: Any]] ?? []).compactMap {
                $0["name"] as? String
            }
            #expect(templates == ["main", "task-prepare", "task-train", "task-done"])
            try ArgoManifests.save(json.body, name: "preview-\(kind)")
            let yaml = try await api.call("GET", "/api/v1/projects/ml/pipelines/flow/argo", token: team["vic"])
            #expect(yaml.headers["content-type"]?.hasPrefix("application/yaml") == true && yaml.text.contains("kind: Workflow"))

            // DESIGN.md's form: the export in Argo's format, YAML, or JSON when asked for; an unknown format is refused.
            let bearer = ["Authorization": "Bearer \(try #require(team["vic"]))"]
            let exported = try await api.send("GET", "/api/v1/projects/ml/pipelines/flow/export?format=argo", headers: bearer, body: nil)
            #expect(exported.headers["content-type"]?.hasPrefix("application/yaml") == true && exported.text.contains("kind: Workflow"))
            let asJSON = try await api.send(
                "GET", "/api/v1/projects/ml/pipelines/flow/export?format=argo",
                headers: bearer.merging(["Accept": "application/json"]) { $1 },
                body: nil)
            #expect(asJSON.headers["content-type"] == "application/json" && asJSON.json["kind"] as? String == "Workflow", "\(asJSON.text)")
            let accepted = try await api.send(
                "GET", "/api/v1/projects/ml/pipelines/flow/argo", headers: bearer.merging(["Accept": "application/json"]) { $1 }, body: nil)
            #expect(accepted.json["kind"] as? String == "Workflow")
            let trellis = try await api.call("GET", "/api/v1/projects/ml/pipelines/flow/export?format=trellis", token: team["vic"])
            #expect(trellis.text.contains("apiVersion: trellis.dev/v1"))
            for path in ["export?format=airflow", "argo?format=xml"] {
                let refused = try await api.call("GET", "/api/v1/projects/ml/pipelines/flow/\(path)", token: team["vic"])
                #expect(refused.status == 400 && refused.errorMessage?.hasPrefix("format: must be") == true, "\(path): \(refused.text)")
            }
        }
    }
}
