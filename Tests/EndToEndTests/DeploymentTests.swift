import AsyncHTTPClient
import ClusterGateway
import Foundation
import NIOPosix
import SQLKit
import Testing
import TrellisCore
import TrellisStore
import TrellisTestSupport

/// The two deployment shapes, as an operator and a user meet them: real executables, real ports, the gateway only.
@Suite(.serialized, .aloneAmongDeployments) struct DeploymentTests {
    static let adminPassword = "e2e-admin-password"
    /// The database pools of a split-mode deployment: one per service of deploy/local/trellis-local.
    static let servicePools = 6

    @Test func embeddedServeOnSQLite() async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-e2e-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dataDir) }
        let port = try Processes.freePorts(1)
        let log = dataDir.appendingPathExtension("log")
        defer { try? FileManager.default.removeItem(at: log) }
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
        let server = try Processes.start(
            Processes.binDirectory.appendingPathComponent("trellis"),
            // The secrets key as the documented flag (no secrets.key file is made then).
            ["serve", "--port", String(port), "--data-dir", dataDir.path, "--demo", "--secrets-key", EmbeddedHarness.secretsKey],
            environment: ["TRELLIS_ADMIN_PASSWORD": Self.adminPassword], log: log
        )
        defer { if server.isRunning { server.terminate() } }
        let client = HTTPClient.shared
        let base = "http://127.0.0.1:\(port)"
        try await Processes.waitHealthy(base + "/healthz", client: client, process: server, log: log)
        let api = HTTPTransport(baseURL: base, client: client)

        #expect(try await AccessFlow.run(api, adminPassword: Self.adminPassword) == [])
        // The demo project exists, the portal is served, metrics count requests.
        let admin = try await api.login("admin", Self.adminPassword)
        #expect(try await api.call("GET", "/api/v1/projects/demo", token: admin).status == 200)
        let demoPipeline = try await api.call("GET", "/api/v1/projects/demo/pipelines/hello-trellis", token: admin)
        #expect((demoPipeline.json["templates"] as? [String: String])?["right"] == "python@1.0.0")
        let portal = try await api.call("GET", "/")
        #expect(portal.status == 200 && portal.text.contains("<title>Trellis</title>"))
        #expect(try await api.call("GET", "/metrics").text.contains("trellis_http_requests_total"))
        #expect(FileManager.default.fileExists(atPath: dataDir.appendingPathComponent("trellis.db").path))

        // Logs are JSON lines carrying the request id the caller (or the gateway) sent.
        let traced = try await api.send(
            "POST", "/api/v1/projects",
            headers: ["Authorization": "Bearer \(admin)", "Content-Type": "application/json", "X-Request-ID": "e2e-trace-1"],
            body: Data(#"{"name": "traced"}"#.utf8)
        )
        #expect(traced.status == 201)
        let logLine = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").first { $0.contains("e2e-trace-1") }
        let fields = logLine.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(fields?["request_id"] as? String == "e2e-trace-1")
        #expect(fields?["msg"] as? String == "project created")

        // cube-studio templates convert to files the API takes as they are.
        let cubeFile = dataDir.appendingPathComponent("cube.json")
        try
            #"{"job_template_name": "自定义镜像", "image_name": "ubuntu:20.04", "job_template_args": {"任务": {"command": {"type": "str", "require": 1, "default": "echo hi"}}}}"#
            .write(to: cubeFile, atomically: true, encoding: .utf8)
        let imported = try Processes.run(
            Processes.binDirectory.appendingPathComponent("trellis"), ["template", "import-cube", cubeFile.path, "--out", dataDir.path]
        )
        #expect(imported.status == 0)
        #expect(imported.output.contains("name 自定义镜像 became custom-image"))
        let yaml = try Data(contentsOf: dataDir.appendingPathComponent("custom-image.yaml"))
        let registered = try await api.send(
            "POST", "/api/v1/projects/demo/templates", headers: ["Authorization": "Bearer \(admin)", "Content-Type": "application/yaml"],
            body: yaml
        )
        #expect(registered.status == 201)

        // The CLI: log in, apply a template file (twice: the second is a no-op), list, publish, and a bad file.
        let cli = Processes.binDirectory.appendingPathComponent("trellis")
        let cliEnvironment = [
            "TRELLIS_SERVER": base, "TRELLIS_HOME": dataDir.appendingPathComponent("cli").path, "TRELLIS_PASSWORD": Self.adminPassword,
        ]
        #expect(try Processes.run(cli, ["login", "--username", "admin"], environment: cliEnvironment).status == 0)
        let templateFile = dataDir.appendingPathComponent("echo.yaml")
        try "name: cli-echo\nversion: 0.1.0\nimage: busybox\ncommand: [echo]\n".write(to: templateFile, atomically: true, encoding: .utf8)
        let applied = try Processes.run(cli, ["apply", "-f", templateFile.path, "--project", "demo"], environment: cliEnvironment)
        #expect(applied.output == "template cli-echo@0.1.0 registered in project demo (draft)\n")
        let reapplied = try Processes.run(cli, ["apply", "-f", templateFile.path, "--project", "demo"], environment: cliEnvironment)
        #expect(reapplied.output == "template cli-echo@0.1.0 unchanged in project demo (draft)\n")
        #expect(try Processes.run(cli, ["template", "publish", "cli-echo@0.1.0"], environment: cliEnvironment).status == 0)
        let listed = try Processes.run(cli, ["template", "list", "--published", "--query", "cli"], environment: cliEnvironment)
        #expect(listed.output.hasPrefix("cli-echo\t0.1.0\t"))
        #expect(
            try Processes.run(cli, ["template", "deprecate", "cli-echo@0.1.0", "--message", "use 0.2.0"], environment: cliEnvironment)
                .status == 0)
        let versions = try Processes.run(cli, ["template", "get", "cli-echo"], environment: cliEnvironment)
        #expect(versions.output == "0.1.0\tpublished\tuse 0.2.0\n")
        let file = try Processes.run(cli, ["template", "get", "cli-echo@0.1.0"], environment: cliEnvironment)
        #expect(file.output.contains("name: cli-echo\n") && file.output.contains("image: busybox\n"))
        #expect(try Processes.run(cli, ["template", "unpublish", "cli-echo@0.1.0"], environment: cliEnvironment).status == 0)
        let pipelineFile = dataDir.appendingPathComponent("pipeline.yaml")
        try """
        apiVersion: trellis.dev/v1
        kind: Pipeline
        metadata: {name: hello, project: demo}
        spec:
          tasks:
            - {name: greet, template: shell, args: {command: "echo hello"}}
            - {name: done, template: noop, dependsOn: [greet]}
        """.write(to: pipelineFile, atomically: true, encoding: .utf8)
        let pipelineApplied = try Processes.run(cli, ["apply", "-f", pipelineFile.path], environment: cliEnvironment)
        #expect(pipelineApplied.output == "pipeline hello created version 1 in project demo\n")
        #expect(
            try Processes.run(cli, ["apply", "-f", pipelineFile.path], environment: cliEnvironment).output
                == "pipeline hello at version 1 in project demo\n")
        // Template variables render locally as a run would; an unknown name is an error naming its column.
        let rendered = try Processes.run(
            cli,
            [
                "vars", "render", "{{ ds }} {{ datetime.datetime.now().strftime('%H:%M') }} {{ team }}", "--now",
                "2026-11-29T10:00:00+08:00",
                "--set", "team=ml",
            ], environment: cliEnvironment)
        #expect(rendered.output == "2026-11-29 10:00 ml\n")
        // Microseconds given with --now are kept: %f prints all six digits.
        let precise = try Processes.run(
            cli,
            [
                "vars", "render", "{{ datetime.datetime.now().strftime('%S.%f') }} {{ team is defined }}", "--now",
                "2026-11-29T10:00:07.123456Z",
            ],
            environment: cliEnvironment)
        #expect(precise.output == "07.123456 False\n", "\(precise.output)")
        let unknownName = try Processes.run(cli, ["vars", "render", "x {{ nope }}"], environment: cliEnvironment)
        #expect(unknownName.status == 1)
        #expect(unknownName.output.contains("TEXT, column 6: unknown name \"nope\" in {{ nope }}"))
        // Cron: the next fire times in a time zone, across the start of daylight saving time.
        let fires = try Processes.run(
            cli, ["cron", "next", "30 2 * * *", "--timezone", "America/New_York", "--from", "2026-03-07T00:00:00Z", "-n", "3"],
            environment: cliEnvironment)
        #expect(fires.output == "2026-03-07T02:30:00-05:00\n2026-03-08T03:00:00-04:00\n2026-03-09T02:30:00-04:00\n")
        let badCron = try Processes.run(cli, ["cron", "next", "61 * * * *"], environment: cliEnvironment)
        #expect(badCron.status == 1 && badCron.output.contains("cron minute: 61 is outside 0–59"))
        // Both the demo pipeline and this one use the built-in noop template.
        let usage = try Processes.run(cli, ["template", "usage", "noop"], environment: cliEnvironment)
        #expect(usage.output == "noop: 2 pipelines\n1.0.0\t2\n")
        // A schedule: shown, backfilled over two past days, its records listed with their runs and logs, paused.
        try """
        apiVersion: trellis.dev/v1
        kind: Pipeline
        metadata: {name: nightly, project: demo}
        spec:
          schedule: {cron: "@daily", timezone: Europe/Berlin, startTime: "2999-01-01T00:00:00"}
          tasks:
            - {name: report, template: shell, args: {command: "echo report for {{ds}}"}}
        """.write(to: pipelineFile, atomically: true, encoding: .utf8)
        #expect(try Processes.run(cli, ["apply", "-f", pipelineFile.path], environment: cliEnvironment).status == 0)
        let shown = try Processes.run(cli, ["schedule", "show", "nightly", "--project", "demo"], environment: cliEnvironment)
        #expect(shown.output.hasPrefix("cron @daily in Europe/Berlin, from 2999-01-01T00:00:00+01:00, runs as admin"), "\(shown.output)")
        let backfilled = try Processes.run(
            cli, ["backfill", "nightly", "--project", "demo", "--from", "2026-11-01T00:00:00", "--to", "2026-11-02T12:00:00"],
            environment: cliEnvironment)
        #expect(backfilled.output == "2 ticks to run, 0 skipped (closer than the minimum interval)\n", "\(backfilled.output)")
        var records = ""
        for _ in 0..<200 {
            records = try Processes.run(cli, ["schedule", "records", "nightly", "--project", "demo"], environment: cliEnvironment).output
            if records.components(separatedBy: " succeeded ").count == 3 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let lines = records.split(separator: "\n")
        #expect(lines.count == 4, "\(records)")
        #expect(lines.first?.hasPrefix("2026-11-01T23:00:00.000Z  launched   backfill  run ") == true, "\(records)")
        #expect(lines.dropFirst().first?.hasPrefix("    logs of report: \(base)/api/v1/projects/demo/runs/") == true, "\(records)")
        let paused = try Processes.run(cli, ["schedule", "pause", "nightly", "--project", "demo"], environment: cliEnvironment)
        #expect(paused.output.contains("(paused)"))
        // What the pipeline becomes on Kubernetes.
        let argo = try Processes.run(cli, ["export", "argo", "nightly", "--project", "demo"], environment: cliEnvironment)
        #expect(
            argo.status == 0 && argo.output.contains("kind: Workflow") && argo.output.contains("namespace: trellis-demo"), "\(argo.output)")
        try "name: cli-echo\nversion: one\nimage: busybox\n".write(to: templateFile, atomically: true, encoding: .utf8)
        let bad = try Processes.run(cli, ["apply", "-f", templateFile.path, "--project", "demo"], environment: cliEnvironment)
        #expect(bad.status != 0)
        #expect(bad.output.contains("version: \"one\" is not a semantic version"))

        // SIGTERM drains and exits cleanly.
        try await Processes.stop(server)
        #expect(server.terminationStatus == 0)

        // A second start on the same data keeps users and does not create admin again.
        let secondLog = dataDir.appendingPathExtension("2.log")
        defer { try? FileManager.default.removeItem(at: secondLog) }
        let again = try Processes.start(
            Processes.binDirectory.appendingPathComponent("trellis"),
            ["serve", "--port", String(port), "--data-dir", dataDir.path, "--secrets-key=\(EmbeddedHarness.secretsKey)"],
            environment: ["TRELLIS_ADMIN_PASSWORD": "another-password"], log: secondLog
        )
        defer { if again.isRunning { again.terminate() } }
        try await Processes.waitHealthy(base + "/healthz", client: client, process: again, log: secondLog)
        _ = try await api.login("admin", Self.adminPassword)
        try await Processes.stop(again)
        #expect(try String(contentsOf: log, encoding: .utf8).contains("created the platform admin"))
        #expect(try !String(contentsOf: secondLog, encoding: .utf8).contains("created the platform admin"))
        #expect(!FileManager.default.fileExists(atPath: dataDir.appendingPathComponent("secrets.key").path))
        // A mistyped setting is refused, naming the flag.
        let mistyped = try Processes.run(
            Processes.binDirectory.appendingPathComponent("trellis"), ["serve", "--data-dir", dataDir.path, "--secret-key", "x"])
        #expect(mistyped.status != 0 && mistyped.output.contains("--secret-key"), "\(mistyped.output)")
    }

    @Test func splitModeOnPostgreSQLBehindTheGateway() async throws {
        try await TestDatabases.withFresh(.postgres, pools: DeploymentTests.servicePools) { url in
            // A known secrets key: the test derives the services' token from it, as they do.
            let deployment = try SplitDeployment(
                databaseURL: Self.plainURL(url),
                environment: ["TRELLIS_ADMIN_PASSWORD": Self.adminPassword, "TRELLIS_SECRETS_KEY": EmbeddedHarness.secretsKey])
            defer { _ = try? deployment.stop() }
            let (stateDir, basePort) = (deployment.stateDir, deployment.basePort)
            let pids = deployment.pids.map(\.pid)
            #expect(pids.count == 7)

            let client = HTTPClient.shared
            let gateway = HTTPTransport(baseURL: "http://127.0.0.1:\(basePort)", client: client)
            #expect(try await AccessFlow.run(gateway, adminPassword: Self.adminPassword) == [])

            // Each service is its own process with its own health and metrics.
            for offset in 0...6 {
                let service = HTTPTransport(baseURL: "http://127.0.0.1:\(basePort + offset)", client: client)
                #expect(try await service.call("GET", "/healthz").status == 200)
                #expect(try await service.call("GET", "/metrics").text.contains("trellis_http_requests_total"))
            }
            // The gateway answers for routes no service owns, and proxies the rest with the caller's token checked.
            let admin = try await gateway.login("admin", Self.adminPassword)
            #expect(try await gateway.call("GET", "/api/v1/nowhere", token: admin).status == 404)
            // The gateway answers for the API document itself, to anyone.
            #expect(try await gateway.call("GET", "/api/v1/openapi.json").json["openapi"] as? String == "3.1.0")
            #expect(try await gateway.call("GET", "/api/v1/openapi.yaml").text.hasPrefix("# The OpenAPI 3.1 document"))
            #expect(try await gateway.call("GET", "/api/v1/templates").status == 401)
            // The templates service asks the identity service, over HTTP and as the caller, about project roles.
            #expect(try await gateway.call("POST", "/api/v1/projects", token: admin, json: ["name": "tmpl"]).status == 201)
            let template: [String: Any] = ["name": "split-echo", "version": "1.0.0", "image": "busybox", "command": ["echo"]]
            #expect(try await gateway.call("POST", "/api/v1/projects/tmpl/templates", token: admin, json: template).status == 201)
            #expect(try await gateway.call("POST", "/api/v1/templates/split-echo/versions/1.0.0/publish", token: admin).status == 200)
            let outsider = try await gateway.call(
                "POST", "/api/v1/users", token: admin, json: ["username": "tmpl-outsider", "password": "outsider-pw"])
            #expect(outsider.status == 201)
            let stranger = try await gateway.login("tmpl-outsider", "outsider-pw")
            #expect(try await gateway.call("POST", "/api/v1/projects/tmpl/templates", token: stranger, json: template).status == 404)
            let marketplace = try await gateway.call("GET", "/api/v1/templates?published=true", token: stranger)
            let names = (marketplace.json["templates"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            #expect(
                names == ["distributed-shell", "mpi", "noop", "python", "pytorch", "ray", "shell", "split-echo", "tensorflow", "xgboost"])

            // The pipelines service resolves templates through the templates service, over HTTP, as the caller.
            let pipeline: [String: Any] = [
                "apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": ["name": "split-daily"],
                "spec": [
                    "tasks": [
                        ["name": "hello", "template": "split-echo"],
                        ["name": "after", "template": "shell", "args": ["command": "true"], "dependsOn": ["hello"]],
                    ]
                ],
            ]
            let saved = try await gateway.call("POST", "/api/v1/projects/tmpl/pipelines", token: admin, json: pipeline)
            #expect(saved.status == 201)
            #expect((saved.json["templates"] as? [String: String]) == ["hello": "split-echo@1.0.0", "after": "shell@1.0.0"])

            // The orchestrator reads the pipeline from the pipelines service and runs it through the cluster gateway's
            // executor API, over HTTP with the service token; logs stream back through the gateway.
            let runID = try await gateway.startRun("split-daily", project: "tmpl", token: admin)
            let run = try await gateway.waitForRun(runID, project: "tmpl", token: admin)
            #expect(run["state"] as? String == "succeeded")
            #expect(RunJSON.attempts(run, "after").count == 1)
            let followed = try await gateway.call("GET", "/api/v1/projects/tmpl/runs/\(runID)/tasks/after/logs?follow=true", token: admin)
            #expect(followed.text.hasSuffix("event: end\ndata: succeeded\n\n"))
            #expect(try await gateway.call("GET", "/api/v1/runs/\(runID)", token: admin).json["project"] as? String == "tmpl")
            // A secret env entry travels from the identity service to the task over HTTP at launch, masked in the log.
            var settings = try #require(
                try await gateway.call("GET", "/api/v1/projects/tmpl", token: admin).json["settings"] as? [String: Any])
            settings["env"] = ["SPLIT_TOKEN": ["secret": true, "value": "split-secret-value"]]
            #expect(try await gateway.call("PATCH", "/api/v1/projects/tmpl", token: admin, json: ["settings": settings]).status == 200)
            try await gateway.applyPipeline(
                "split-secret", project: "tmpl", token: admin,
                tasks: [["name": "say", "template": "shell", "args": ["command": "echo \"got $SPLIT_TOKEN\" ${#SPLIT_TOKEN}"]]])
            let secretRun = try await gateway.startRun("split-secret", project: "tmpl", token: admin)
            #expect(try await gateway.waitForRun(secretRun, project: "tmpl", token: admin)["state"] as? String == "succeeded")
            let secretLog = try await gateway.call("GET", "/api/v1/projects/tmpl/runs/\(secretRun)/tasks/say/logs", token: admin).text
            #expect(secretLog.contains("got *** 18") && !secretLog.contains("split-secret-value"), "\(secretLog)")

            // The executor API is reachable neither through the gateway nor without the service token.
            #expect(try await gateway.call("GET", "/api/v1/internal/executions/changes?after=0", token: admin).status == 404)
            let clusterGateway = HTTPTransport(baseURL: "http://127.0.0.1:\(basePort + 5)", client: client)
            #expect(try await clusterGateway.call("GET", "/api/v1/internal/executions/changes?after=0", token: admin).status == 401)

            // A local execution's samples and its stop go over the cluster gateway's HTTP API too: the task waits for a
            // gate that never opens, its samples are read through the gateway while it runs, and a cancel stops it.
            let shared = URL(fileURLWithPath: stateDir.path + "-shared")
            defer { try? FileManager.default.removeItem(at: shared) }
            try await gateway.shareFolder(shared, project: "tmpl", admin: admin)
            let gate = shared.appendingPathComponent("never").path
            let hold = "echo holding; i=0; until [ -f \(gate) ]; do i=$((i+1)); [ $i -lt 2400 ] || exit 1; sleep 0.05; done"
            try await gateway.applyPipeline(
                "split-held", project: "tmpl", token: admin, tasks: [["name": "hold", "template": "shell", "args": ["command": hold]]])
            let heldID = try await gateway.startRun("split-held", project: "tmpl", token: admin)
            let attemptPath = "/api/v1/projects/tmpl/runs/\(heldID)/tasks/hold/attempts/1"
            try await Waiting.until("samples of the held task through the gateway") {
                let detail = try await gateway.call("GET", attemptPath, token: admin)
                return detail.status == 200 && !(detail.json["samples"] as? [[String: Any]] ?? []).isEmpty
            }
            let detail = try await gateway.call("GET", attemptPath, token: admin)
            let sample = try #require((detail.json["samples"] as? [[String: Any]])?.first)
            #expect((sample["rssBytes"] as? Int ?? 0) > 0, "\(sample)")
            // The metrics collector, its own executable, follows the attempt (the orchestrator's feed, the cluster
            // gateway's samples) and answers through the gateway while it runs.
            try await Waiting.until("the held task's usage from the metrics collector") {
                let usage = try await gateway.call("GET", attemptPath + "/usage", token: admin)
                let points = (usage.json["series"] as? [[String: Any]])?.first?["points"] as? [[String: Any]] ?? []
                return usage.status == 200 && usage.json["complete"] as? Bool == false && !points.isEmpty
                    && points.allSatisfy { ($0["memoryBytes"] as? Int ?? 0) > 0 }
            }
            let replicas = (detail.json["process"] as? [String: Any])?["replicas"] as? [[String: Any]]
            let pid = Int32(try #require(replicas?.first?["pid"] as? Int, "\(detail.text)"))
            #expect(Processes.isAlive(pid))
            let cancelled = try await gateway.call("POST", "/api/v1/projects/tmpl/runs/\(heldID)/cancel", token: admin)
            #expect(cancelled.status == 200, "\(cancelled.text)")
            let held = try await gateway.waitForRun(heldID, project: "tmpl", token: admin)
            #expect(held["state"] as? String == "cancelled")
            #expect(RunJSON.attempts(held, "hold").map { $0["state"] as? String } == ["cancelled"])
            try await Waiting.until("the held task's process \(pid) to be gone", limit: .seconds(20)) { !Processes.isAlive(pid) }

            // Logging out revokes the token in the other services too (each refreshes the revoked ids every second).
            let session = try await gateway.login("admin", Self.adminPassword)
            #expect(try await gateway.call("GET", "/api/v1/runs/\(runID)", token: session).status == 200)
            #expect(try await gateway.call("POST", "/api/v1/auth/logout", token: session).status == 204)
            var afterLogout = 0
            for _ in 0..<50 {
                afterLogout = try await gateway.call("GET", "/api/v1/runs/\(runID)", token: session).status
                if afterLogout == 401 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(afterLogout == 401)
            // Disabling a user stops their token in the other services within a second too.
            #expect(try await gateway.call("GET", "/api/v1/templates", token: stranger).status == 200)
            #expect(try await gateway.call("PATCH", "/api/v1/users/tmpl-outsider", token: admin, json: ["disabled": true]).status == 200)
            try await Waiting.until("the disabled user's token to be refused by the templates service", limit: .seconds(10)) {
                try await gateway.call("GET", "/api/v1/templates", token: stranger).status == 401
            }

            try await Self.deletionSurvivesAServiceDown(gateway, admin: admin, deployment: deployment)

            let metrics = try await gateway.call("GET", "/metrics").text
            #expect(metrics.contains(#"route="proxy:identity""#))
            try await Self.kubernetesOverHTTP(gateway, admin: try await gateway.login("admin", Self.adminPassword))

            // The access matrix once more, through the gateway against the services in their own processes, every
            // persona but the admin calling with a personal API token: each route admits whom docs/permissions.md says.
            let table = try PermissionTable.load()
            var setup = MatrixSetup(
                api: gateway, identity: HTTPTransport(baseURL: "http://127.0.0.1:\(basePort + 1)", client: client),
                serviceToken: try await EmbeddedHarness.serviceToken(), adminPassword: Self.adminPassword)
            setup.behindGateway = true
            setup.apiTokens = true
            let calls = try await AccessMatrix.check(table.order, of: table, with: setup)
            #expect(calls > table.order.count * Persona.allCases.count)

            #expect(try deployment.stop() == 0)
            #expect(pids.allSatisfy { !Processes.isAlive($0) })
        }
    }

    /// Deleting a project while the orchestrator is down (killed): the pipelines and templates services purge at
    /// once, the orchestrator's part and the cluster gateway's after it wait, the name stays held; the orchestrator
    /// started again picks its part up and the deletion ends — nothing of the project is left for the name's next owner.
    static func deletionSurvivesAServiceDown(
        _ gateway: HTTPTransport, admin: String, deployment: SplitDeployment
    ) async throws {
        #expect(try await gateway.call("POST", "/api/v1/projects", token: admin, json: ["name": "doomed"]).status == 201)
        try await gateway.applyPipeline(
            "doomed-flow", project: "doomed", token: admin, tasks: [["name": "a", "template": "shell", "args": ["command": "echo doomed"]]])
        let run = try await gateway.startRun("doomed-flow", project: "doomed", token: admin)
        #expect(try await gateway.waitForRun(run, project: "doomed", token: admin)["state"] as? String == "succeeded")
        let tool: [String: Any] = ["name": "doomed-tool", "version": "1.0.0", "image": "busybox", "command": ["true"]]
        #expect(try await gateway.call("POST", "/api/v1/projects/doomed/templates", token: admin, json: tool).status == 201)

        let orchestrator = try #require(deployment.pids.first { $0.name == "orchestrator" }?.pid)
        kill(orchestrator, SIGKILL)
        try await Waiting.until("the orchestrator (\(orchestrator)) to be gone", limit: .seconds(10)) { !Processes.isAlive(orchestrator) }
        #expect(try await gateway.call("DELETE", "/api/v1/projects/doomed", token: admin).status == 202)
        @Sendable func waitingFor() async throws -> [String]? {
            let under = try await gateway.call("GET", "/api/v1/project-deletions", token: admin)
            let deletions = under.json["deletions"] as? [[String: Any]] ?? []
            return deletions.first { $0["project"] as? String == "doomed" }?["waitingFor"] as? [String]
        }
        try await Waiting.until("the pipelines and templates services to purge doomed while the orchestrator is down") {
            try await waitingFor() == ["cluster-gateway", "metrics", "orchestrator"]
        }
        #expect(try await gateway.call("GET", "/api/v1/templates/doomed-tool", token: admin).status == 404)
        #expect(try await gateway.call("POST", "/api/v1/projects", token: admin, json: ["name": "doomed"]).status == 409)

        try deployment.restart("orchestrator")
        try await Waiting.until("the deletion of doomed to end after the orchestrator's restart") { try await waitingFor() == nil }
        #expect(try await gateway.call("POST", "/api/v1/projects", token: admin, json: ["name": "doomed"]).status == 201)
        let runs = try await gateway.call("GET", "/api/v1/projects/doomed/runs", token: admin)
        #expect(runs.status == 200 && (runs.json["runs"] as? [[String: Any]])?.isEmpty == true, "\(runs.text)")
        #expect(try await gateway.call("GET", "/api/v1/runs/\(run)", token: admin).status == 404)
        let pipelines = try await gateway.call("GET", "/api/v1/projects/doomed/pipelines", token: admin)
        #expect((pipelines.json["pipelines"] as? [[String: Any]])?.isEmpty == true, "\(pipelines.text)")
    }

    /// A project bound to a Kubernetes cluster (the kube-apiserver of scripts/with-kube.sh; the test plays Argo's
    /// controller) with every service in its own process: the identity service asks the cluster gateway whether the
    /// cluster exists, the orchestrator reads the registry logins from the template registry and submits, follows,
    /// retries and stops the Workflow through the cluster gateway — every hop over HTTP with the service token.
    static func kubernetesOverHTTP(_ gateway: HTTPTransport, admin: String) async throws {
        let kubernetes = try TestKubernetes.fromEnvironment()
        try await KubernetesClient.with(kubernetes.cluster()) { kube in
            try await kubernetesOverHTTP(gateway, admin: admin, kube: kube, kubernetes: kubernetes)
        }
    }

    static func kubernetesOverHTTP(_ gateway: HTTPTransport, admin: String, kube: KubernetesClient, kubernetes: TestKubernetes) async throws
    {
        let registered = try await gateway.call(
            "POST", "/api/v1/clusters", token: admin,
            json: ["name": "lab", "server": kubernetes.server, "ca": kubernetes.ca, "token": kubernetes.token])
        #expect(registered.status == 201, "\(registered.text)")
        let project = "split-\(UUID().uuidString.prefix(6).lowercased())"
        #expect(try await gateway.call("POST", "/api/v1/projects", token: admin, json: ["name": project]).status == 201)
        let granted = try await gateway.call("PUT", "/api/v1/clusters/lab/policy", token: admin, json: ["projects": [project]])
        #expect(granted.status == 200, "\(granted.text)")
        let unknown = try await gateway.call(
            "PATCH", "/api/v1/projects/\(project)", token: admin, json: ["settings": ["cluster": "nowhere"]])
        #expect(unknown.status == 400 && unknown.text.contains("settings.cluster"), "\(unknown.text)")
        #expect(
            try await gateway.call("PATCH", "/api/v1/projects/\(project)", token: admin, json: ["settings": ["cluster": "lab"]]).status
                == 200)
        let image = try await gateway.call(
            "POST", "/api/v1/projects/\(project)/images", token: admin,
            json: ["name": "job", "reference": "registry.example.com/job:1", "username": "robot", "password": "pull-pw"])
        #expect(image.status == 201, "\(image.text)")
        try await gateway.applyPipeline(
            "flow", project: project, token: admin, tasks: [["name": "only", "template": "shell", "args": ["command": "echo hi"]]])

        let namespace = ArgoWorkflow.namespace(ofProject: project)
        let run = try await gateway.startRun("flow", project: project, token: admin)
        let argo = try await ArgoController.waitFor(run: run, client: kube, namespace: namespace)
        let created = try #require(try await argo.workflow())
        #expect(created["spec"]?["imagePullSecrets"] == .array([.object(["name": .string("trellis-registries")])]))
        try await argo.report("Failed", [argo.node("1", "only", phase: "Failed", exitCode: "1")])
        let failed = try await gateway.waitForRun(run, project: project, token: admin)
        #expect(failed["state"] as? String == "failed", "\(failed)")
        #expect(try await gateway.call("POST", "/api/v1/projects/\(project)/runs/\(run)/resume", token: admin).status == 200)
        _ = try await argo.waitUntil("argo retry") { $0["status"]?["phase"] == .string("Running") }
        try await argo.report("Succeeded", [argo.node("2", "only", phase: "Succeeded", exitCode: "0")])
        let succeeded = try await gateway.waitForRun(run, project: project, token: admin) { $0["state"] as? String == "succeeded" }
        #expect(RunJSON.attempts(succeeded, "only").map { $0["state"] as? String } == ["failed", "succeeded"])

        let stopped = try await gateway.startRun("flow", project: project, token: admin)
        let argoStopped = try await ArgoController.waitFor(run: stopped, client: kube, namespace: namespace)
        #expect(try await gateway.call("POST", "/api/v1/projects/\(project)/runs/\(stopped)/cancel", token: admin).status == 200)
        _ = try await argoStopped.waitUntil("shutdown") { $0["spec"]?["shutdown"] == .string("Stop") }
    }

    @Test func migrateWorksFromAnyDirectoryAndTwiceIsANoOp() async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-migrate-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dataDir) }
        let trellis = Processes.binDirectory.appendingPathComponent("trellis")
        let first = try Processes.run(trellis, ["migrate", "--data-dir", dataDir.path], directory: "/")
        #expect(first.status == 0)
        #expect(first.output.contains("identity: applied 001_users_projects"))
        let second = try Processes.run(trellis, ["migrate", "--data-dir", dataDir.path], directory: "/")
        #expect(second.status == 0)
        #expect(second.output.contains("identity: up to date"))
        let bad = try Processes.run(trellis, ["migrate", "--database-url", "mysql://db/trellis"], directory: "/")
        #expect(bad.status != 0)
        #expect(bad.output.contains("database.url"))
    }

    /// A start that fails before the services' tables are ready (here its migrations refuse a database newer than the
    /// binary) ends the process with the reason: the services waiting for the tables stop too, instead of a server
    /// that neither serves nor exits nor says why (and ignores SIGTERM).
    @Test func aServeOnADatabaseAheadOfItSaysSoAndExits() async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-ahead-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dataDir) }
        let trellis = Processes.binDirectory.appendingPathComponent("trellis")
        #expect(try Processes.run(trellis, ["migrate", "--data-dir", dataDir.path]).status == 0)
        let url = DatabaseURL.sqliteFile(path: dataDir.appendingPathComponent("trellis.db").path)
        try await Database.withOpened(url, logger: TestDatabases.logger) { database in
            try await database.transaction { sql in
                try await sql.raw("INSERT INTO trellis_migrations VALUES ('orchestrator', 999, '999_future.sql', 0)").run()
            }
        }
        let ahead = try Processes.run(
            trellis, ["serve", "--port", String(try Processes.freePorts(1)), "--data-dir", dataDir.path],
            environment: ["TRELLIS_ADMIN_PASSWORD": "ahead-admin-password"], limit: .seconds(60))
        #expect(ahead.status == 1, "\(ahead.output)")
        #expect(ahead.output.contains("orchestrator migrations this binary does not know (999)"), "\(ahead.output)")
    }

    @Test func aServiceWhosePortIsTakenSaysSoAndExits() async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-taken-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dataDir) }
        let port = try Processes.freePorts(1)
        let holder = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: port).get()
        defer { try? holder.close().wait() }
        let identity = Processes.binDirectory.appendingPathComponent("trellis-identity")
        let taken = try Processes.run(
            identity, ["--port", String(port), "--data-dir", dataDir.path],
            environment: ["TRELLIS_ADMIN_PASSWORD": "taken-admin-password"])
        #expect(taken.status == 1, "\(taken.output)")
        #expect(taken.output.contains("trellis-identity: "), "\(taken.output)")
        #expect(taken.output.contains("Address already in use"), "\(taken.output)")
        #expect(!taken.output.contains("crashed"), "\(taken.output)")
    }

    static func plainURL(_ url: DatabaseURL) -> String {
        if case .postgres(let text) = url { return text }
        return url.description
    }
}
