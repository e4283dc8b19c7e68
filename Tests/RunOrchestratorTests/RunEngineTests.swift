import Foundation
import Testing
import TrellisTestSupport

/// The run engine end to end in the embedded platform: real processes under `trellis-shim`, on both databases.
@Suite struct RunEngineTests {
    static func shell(_ name: String, _ dependsOn: [String] = [], _ command: String, extra: [String: Any] = [:]) -> [String: Any] {
        var task: [String: Any] = ["name": name, "template": "shell", "args": ["command": command], "dependsOn": dependsOn]
        task.merge(extra) { $1 }
        return task
    }

    /// A project `ml` owned by `olga`, and a scratch folder the tasks write to.
    static func withTeam(
        _ kind: DatabaseKind, _ body: @escaping @Sendable (TestClientTransport, String, URL) async throws -> Void
    ) async throws {
        try await EmbeddedHarness.with(kind) { api in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let team = try await api.team(project: "ml", owner: "olga", members: [("vera", "viewer")], admin: admin)
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-scratch-\(UUID().uuidString)")
            try await api.shareFolder(scratch, project: "ml", admin: admin)
            defer { try? FileManager.default.removeItem(at: scratch) }
            try await body(api, team["olga"]!, scratch)
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func aDiamondRunsToSuccessWithTheTaskEnvironment(_ kind: DatabaseKind) async throws {
        try await Self.withTeam(kind) { api, token, scratch in
            let record =
                "echo $TRELLIS_TASK_NAME $TRELLIS_PROJECT $TRELLIS_PIPELINE_NAME $TRELLIS_TASK_ATTEMPT $TRELLIS_RUNNER >> \(scratch.path)/order"
            try await api.applyPipeline(
                "diamond", project: "ml", token: token,
                tasks: [
                    Self.shell("prepare", [], record), Self.shell("left", ["prepare"], record), Self.shell("right", ["prepare"], record),
                    Self.shell("join", ["left", "right"], record),
                ])
            let id = try await api.startRun("diamond", project: "ml", token: token)
            let run = try await api.waitForRun(id, project: "ml", token: token)
            #expect(run["state"] as? String == "succeeded")
            #expect(run["trigger"] as? String == "manual")
            for task in ["prepare", "left", "right", "join"] {
                #expect(RunJSON.state(run, task) == "succeeded")
                let attempts = RunJSON.attempts(run, task)
                #expect(attempts.count == 1)
                #expect(attempts.first?["exitCode"] as? Int == 0)
            }
            let lines = try String(contentsOf: scratch.appendingPathComponent("order"), encoding: .utf8).split(separator: "\n")
            #expect(lines.first == "prepare ml diamond 1 olga")
            #expect(lines.last == "join ml diamond 1 olga")
            #expect(lines.count == 4)

            // The run is listed, and its logs are readable.
            let listed = try await api.call("GET", "/api/v1/projects/ml/runs?pipeline=diamond", token: token)
            #expect((listed.json["runs"] as? [[String: Any]])?.first?["id"] as? String == id)
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func aTaskThatFailsTwiceIsRetriedWithBackoff(_ kind: DatabaseKind) async throws {
        try await Self.withTeam(kind) { api, token, scratch in
            let counter = scratch.appendingPathComponent("count").path
            let flaky = "n=$(cat \(counter) 2>/dev/null || echo 0); n=$((n+1)); echo $n > \(counter); echo attempt $n; [ $n -ge 3 ]"
            try await api.applyPipeline(
                "flaky", project: "ml", token: token,
                tasks: [Self.shell("flaky", [], flaky, extra: ["retry": ["limit": 3, "backoff": ["duration": "400ms", "factor": 2]]])])
            let id = try await api.startRun("flaky", project: "ml", token: token)
            let run = try await api.waitForRun(id, project: "ml", token: token)
            #expect(run["state"] as? String == "succeeded")
            let attempts = RunJSON.attempts(run, "flaky")
            #expect(attempts.map { $0["state"] as? String } == ["failed", "failed", "succeeded"])
            #expect(attempts.map { $0["exitCode"] as? Int } == [1, 1, 0])
            #expect(attempts.map { $0["number"] as? Int } == [1, 2, 3])
            // The engine set each retry at the failure's end plus the configured backoff, 400 ms then 800 ms, and
            // started the next attempt no earlier (instants the engine recorded, not the test's clock).
            let backoffs = attempts.dropLast().map { attempt in
                RunJSON.date(attempt["retryAt"]).flatMap { retry in
                    RunJSON.date(attempt["finishedAt"]).map { Int((retry.timeIntervalSince($0) * 1000).rounded()) }
                }
            }
            #expect(backoffs == [400, 800], "\(attempts)")
            for (failed, next) in zip(attempts, attempts.dropFirst()) {
                let due = try #require(RunJSON.date(failed["retryAt"]))
                #expect(try #require(RunJSON.date(next["startedAt"])) >= due, "\(attempts)")
            }
            #expect(attempts.last?["retryAt"] == nil)
            // Each attempt keeps its own log.
            let second = try await api.call("GET", "/api/v1/projects/ml/runs/\(id)/tasks/flaky/logs?attempt=2", token: token)
            #expect(second.text.hasSuffix(" attempt 2\n"))
            let download = try await api.call("GET", "/api/v1/projects/ml/runs/\(id)/tasks/flaky/logs?download=true", token: token)
            #expect(download.headers["content-disposition"] == "attachment; filename=\"flaky-flaky-3.log\"")
            #expect(download.text.hasSuffix(" attempt 3\n"))
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func aFailedRunResumesFromTheFailureOnly(_ kind: DatabaseKind) async throws {
        try await Self.withTeam(kind) { api, token, scratch in
            let effects = scratch.appendingPathComponent("effects").path
            let gate = scratch.appendingPathComponent("gate").path
            try await api.applyPipeline(
                "resumable", project: "ml", token: token,
                tasks: [
                    Self.shell("extract", [], "echo extract >> \(effects)"),
                    Self.shell("side", [], "echo side >> \(effects)"),
                    Self.shell("train", ["extract"], "echo train >> \(effects); test -f \(gate)"),
                    Self.shell("publish", ["train"], "echo publish >> \(effects)"),
                ])
            let id = try await api.startRun("resumable", project: "ml", token: token)
            let failed = try await api.waitForRun(id, project: "ml", token: token)
            #expect(failed["state"] as? String == "failed")
            #expect(RunJSON.state(failed, "train") == "failed")
            #expect(RunJSON.state(failed, "publish") == "upstream_failed")
            #expect((failed["reason"] as? String)?.contains("train") == true)

            _ = FileManager.default.createFile(atPath: gate, contents: Data())
            let resumed = try await api.call("POST", "/api/v1/projects/ml/runs/\(id)/resume", token: token)
            #expect(resumed.status == 200)
            let run = try await api.waitForRun(id, project: "ml", token: token)
            #expect(run["state"] as? String == "succeeded")
            #expect(RunJSON.attempts(run, "extract").count == 1)
            #expect(RunJSON.attempts(run, "side").count == 1)
            #expect(RunJSON.attempts(run, "train").map { $0["state"] as? String } == ["failed", "succeeded"])
            #expect(RunJSON.attempts(run, "publish").count == 1)
            var lines = try String(contentsOfFile: effects, encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(lines.sorted() == ["extract", "publish", "side", "train", "train"])

            // Resuming a run that succeeded has nothing to do, but a chosen task re-runs with its downstream.
            let nothing = try await api.call("POST", "/api/v1/projects/ml/runs/\(id)/resume", token: token)
            #expect(nothing.status == 409)
            let fromTrain = try await api.call("POST", "/api/v1/projects/ml/runs/\(id)/resume", token: token, json: ["task": "train"])
            #expect(fromTrain.status == 200)
            let again = try await api.waitForRun(id, project: "ml", token: token)
            #expect(again["state"] as? String == "succeeded")
            #expect(RunJSON.attempts(again, "train").count == 3)
            #expect(RunJSON.attempts(again, "publish").count == 2)
            #expect(RunJSON.attempts(again, "extract").count == 1)
            lines = try String(contentsOfFile: effects, encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(lines.filter { $0 == "extract" }.count == 1)
            let unknown = try await api.call("POST", "/api/v1/projects/ml/runs/\(id)/resume", token: token, json: ["task": "nope"])
            #expect(unknown.status == 400)
            #expect(unknown.errorMessage?.contains("nope") == true)
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func aTaskTimeoutEndsTheAttemptTimedOut(_ kind: DatabaseKind) async throws {
        try await Self.withTeam(kind) { api, token, _ in
            try await api.applyPipeline(
                "slow", project: "ml", token: token,
                tasks: [Self.shell("sleepy", [], "sleep 30", extra: ["timeout": "1s"]), Self.shell("after", ["sleepy"], "true")])
            let id = try await api.startRun("slow", project: "ml", token: token)
            let run = try await api.waitForRun(id, project: "ml", token: token)
            #expect(run["state"] as? String == "failed")
            #expect(RunJSON.state(run, "sleepy") == "timed_out")
            #expect(RunJSON.state(run, "after") == "upstream_failed")
            #expect((RunJSON.attempts(run, "sleepy").first?["reason"] as? String)?.contains("timed out") == true)

            // A run timeout (spec.timeout) stops what runs and fails the run, whatever the tasks' own limits.
            try await api.applyPipeline(
                "bounded", project: "ml", token: token,
                tasks: [Self.shell("long", [], "sleep 30"), Self.shell("next", ["long"], "true")], spec: ["timeout": "1s"])
            let bounded = try await api.waitForRun(
                try await api.startRun("bounded", project: "ml", token: token), project: "ml", token: token)
            #expect(bounded["state"] as? String == "failed")
            #expect(bounded["reason"] as? String == "the run timed out after 1s")
            #expect(RunJSON.state(bounded, "long") == "timed_out")
            #expect(RunJSON.state(bounded, "next") == "cancelled")
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func cancelStopsRunningProcessesEvenThoseIgnoringSIGTERM(_ kind: DatabaseKind) async throws {
        try await Self.withTeam(kind) { api, token, scratch in
            let marker = scratch.appendingPathComponent("started").path
            try await api.applyPipeline(
                "stubborn", project: "ml", token: token,
                tasks: [
                    Self.shell("stubborn", [], "trap '' TERM; touch \(marker); sleep 30; echo survived >> \(marker)"),
                    Self.shell("later", ["stubborn"], "true"),
                ])
            let id = try await api.startRun("stubborn", project: "ml", token: token)
            _ = try await api.waitForRun(id, project: "ml", token: token) { _ in FileManager.default.fileExists(atPath: marker) }
            let cancelled = try await api.call("POST", "/api/v1/projects/ml/runs/\(id)/cancel", token: token)
            #expect(cancelled.status == 200)
            let run = try await api.waitForRun(id, project: "ml", token: token)
            #expect(run["state"] as? String == "cancelled")
            #expect(RunJSON.state(run, "stubborn") == "cancelled")
            #expect(RunJSON.state(run, "later") == "cancelled")
            #expect(try String(contentsOfFile: marker, encoding: .utf8).isEmpty)
            let again = try await api.call("POST", "/api/v1/projects/ml/runs/\(id)/cancel", token: token)
            #expect(again.status == 409)
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func skippedTasksLetDownstreamRunAndParallelismCapsRunningTasks(_ kind: DatabaseKind) async throws {
        try await Self.withTeam(kind) { api, token, scratch in
            let spans = scratch.appendingPathComponent("spans").path
            let span = "echo start $TRELLIS_TASK_NAME >> \(spans); sleep 0.3; echo end $TRELLIS_TASK_NAME >> \(spans)"
            try await api.applyPipeline(
                "capped", project: "ml", token: token,
                tasks: [
                    Self.shell("one", [], span), Self.shell("two", [], span), Self.shell("three", [], span),
                    Self.shell("skipped", ["one"], "exit 1", extra: ["skip": true]), Self.shell("after", ["skipped"], span),
                ],
                spec: ["parallelism": 1])
            let id = try await api.startRun("capped", project: "ml", token: token)
            let run = try await api.waitForRun(id, project: "ml", token: token)
            #expect(run["state"] as? String == "succeeded")
            #expect(RunJSON.state(run, "skipped") == "skipped")
            #expect(RunJSON.attempts(run, "skipped").isEmpty)
            #expect(RunJSON.state(run, "after") == "succeeded")
            // With parallelism 1 every task ends before the next starts.
            let lines = try String(contentsOfFile: spans, encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(lines.count == 8)
            for pair in stride(from: 0, to: lines.count, by: 2) {
                #expect(lines[pair].hasPrefix("start "))
                #expect(lines[pair + 1] == "end " + lines[pair].dropFirst("start ".count))
            }
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func replicasShareOneAttemptWithPrefixedAggregatedLogs(_ kind: DatabaseKind) async throws {
        try await Self.withTeam(kind) { api, token, _ in
            let ranks = "echo rank $TRELLIS_REPLICA of $TRELLIS_REPLICAS master $TRELLIS_MASTER_ADDR"
            try await api.applyPipeline(
                "distributed", project: "ml", token: token,
                tasks: [
                    ["name": "train", "template": "distributed-shell", "replicas": 3, "args": ["command": ranks]],
                    [
                        "name": "broken", "template": "distributed-shell", "replicas": 2, "dependsOn": ["train"],
                        "args": ["command": "if [ $TRELLIS_REPLICA = 1 ]; then exit 3; fi; sleep 30"],
                    ],
                ])
            let id = try await api.startRun("distributed", project: "ml", token: token)
            let run = try await api.waitForRun(id, project: "ml", token: token)
            #expect(RunJSON.state(run, "train") == "succeeded")
            let combined = try await api.call("GET", "/api/v1/projects/ml/runs/\(id)/tasks/train/logs", token: token)
            for rank in 0..<3 {
                #expect(combined.text.contains("[replica-\(rank)] rank \(rank) of 3 master 127.0.0.1"))
            }
            let one = try await api.call("GET", "/api/v1/projects/ml/runs/\(id)/tasks/train/logs?replica=1", token: token)
            #expect(one.text.contains("rank 1 of 3"))
            #expect(!one.text.contains("rank 0") && !one.text.contains("[replica-"))
            // One replica failing stops the others and fails the attempt with its exit code.
            #expect(RunJSON.state(run, "broken") == "failed")
            let broken = RunJSON.attempts(run, "broken").first ?? [:]
            #expect(broken["exitCode"] as? Int == 3)
            #expect((broken["reason"] as? String)?.contains("replica 1") == true)
            #expect(run["state"] as? String == "failed")
        }
    }

    /// A task that closes its output and goes on running: its supervisor, with nothing left to read, still sees its end
    /// (looking again more and more rarely) and its exit code, and keeps what it printed before.
    @Test func aTaskThatClosesItsOutputIsStillSeenToEnd() async throws {
        try await Self.withTeam(.sqlite) { api, token, _ in
            try await api.applyPipeline(
                "quiet", project: "ml", token: token, tasks: [Self.shell("hush", [], "echo before; exec >&- 2>&-; sleep 1; exit 4")])
            let id = try await api.startRun("quiet", project: "ml", token: token)
            let run = try await api.waitForRun(id, project: "ml", token: token)
            #expect(RunJSON.state(run, "hush") == "failed")
            #expect(RunJSON.attempts(run, "hush").first?["exitCode"] as? Int == 4)
            let logs = try await api.call("GET", "/api/v1/projects/ml/runs/\(id)/tasks/hush/logs", token: token)
            #expect(logs.text.contains("before"))
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func logsFollowLiveAndAttemptsShowProcessesAndSamples(_ kind: DatabaseKind) async throws {
        try await Self.withTeam(kind) { api, token, _ in
            try await api.applyPipeline(
                "chatty", project: "ml", token: token,
                tasks: [Self.shell("chatty", [], "for i in 1 2 3; do echo line $i; sleep 0.8; done")])
            let id = try await api.startRun("chatty", project: "ml", token: token)
            _ = try await api.waitForRun(id, project: "ml", token: token) { !RunJSON.attempts($0, "chatty").isEmpty }
            let followed = try await api.call("GET", "/api/v1/projects/ml/runs/\(id)/tasks/chatty/logs?follow=true", token: token)
            #expect(followed.headers["content-type"] == "text/event-stream")
            let events = followed.text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.count == 4)
            #expect(events.first?.hasPrefix("data: ") == true)
            #expect(events.first?.hasSuffix(" line 1") == true)
            #expect(events.last == "event: end\ndata: succeeded")

            let detail = try await api.call("GET", "/api/v1/projects/ml/runs/\(id)/tasks/chatty/attempts/1", token: token)
            #expect(detail.status == 200)
            let process = detail.json["process"] as? [String: Any] ?? [:]
            #expect(process["phase"] as? String == "succeeded")
            #expect(((process["replicas"] as? [[String: Any]])?.first?["pid"] as? Int ?? 0) > 0)
            let samples = detail.json["samples"] as? [[String: Any]] ?? []
            #expect(!samples.isEmpty)
            #expect(samples.allSatisfy { ($0["rssBytes"] as? Int ?? 0) > 0 })
            let invocation = (detail.json["attempt"] as? [String: Any])?["invocation"] as? [String: Any] ?? [:]
            #expect((invocation["environment"] as? [String: String])?["TRELLIS_RUN_ID"] == id)
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func aSingleTaskRunsAloneAndDebugKeepsItsWorkingDirectory(_ kind: DatabaseKind) async throws {
        try await Self.withTeam(kind) { api, token, scratch in
            try await api.applyPipeline(
                "pair", project: "ml", token: token,
                tasks: [
                    Self.shell("first", [], "echo first >> \(scratch.path)/ran"),
                    Self.shell(
                        "second", ["first"], "echo second >> \(scratch.path)/ran; pwd > here.txt", extra: ["env": ["MODE": "debug"]]),
                ],
                spec: ["env": ["SHARED": "from-pipeline"]])
            let started = try await api.call(
                "POST", "/api/v1/projects/ml/pipelines/pair/tasks/second/run", token: token, json: ["debug": true])
            #expect(started.status == 201)
            let id = started.json["id"] as? String ?? ""
            let run = try await api.waitForRun(id, project: "ml", token: token)
            #expect(run["state"] as? String == "succeeded")
            #expect(run["trigger"] as? String == "single")
            #expect((run["tasks"] as? [[String: Any]])?.count == 1)
            #expect(try String(contentsOfFile: scratch.appendingPathComponent("ran").path, encoding: .utf8) == "second\n")
            let invocation = RunJSON.attempts(run, "second").first?["invocation"] as? [String: Any] ?? [:]
            let environment = invocation["environment"] as? [String: String] ?? [:]
            #expect(environment["SHARED"] == "from-pipeline")
            #expect(environment["MODE"] == "debug")
            #expect((invocation["command"] as? [String])?.first == "sh")
            let directory = invocation["workingDirectory"] as? String ?? "/nonexistent"
            #expect(FileManager.default.fileExists(atPath: directory))

            let missing = try await api.call("POST", "/api/v1/projects/ml/pipelines/pair/tasks/third/run", token: token)
            #expect(missing.status == 404)
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func pipelinesKeepRunningOnATemplateVersionThatWasUnpublished(_ kind: DatabaseKind) async throws {
        try await Self.withTeam(kind) { api, token, scratch in
            let marker = scratch.appendingPathComponent("greeted").path
            let template: [String: Any] = [
                "name": "greeter", "version": "1.0.0", "image": "busybox", "command": ["sh", "-c", "echo \"$0\" > \(marker)"],
                "parameters": [["group": "main", "params": [["name": "who", "type": "str", "default": "world"]]]],
            ]
            #expect(try await api.call("POST", "/api/v1/projects/ml/templates", token: token, json: template).status == 201)
            #expect(try await api.call("POST", "/api/v1/templates/greeter/versions/1.0.0/publish", token: token).status == 200)
            try await api.applyPipeline(
                "greeting", project: "ml", token: token, tasks: [["name": "greet", "template": "greeter", "args": ["who": "team"]]])
            #expect(try await api.call("POST", "/api/v1/templates/greeter/versions/1.0.0/unpublish", token: token).status == 200)

            let id = try await api.startRun("greeting", project: "ml", token: token)
            let run = try await api.waitForRun(id, project: "ml", token: token)
            #expect(run["state"] as? String == "succeeded")
            #expect(RunJSON.task(run, "greet")["template"] as? String == "greeter@1.0.0")
            // The argument reached the process as a flag after the template's command (`sh -c SCRIPT --who team`).
            #expect(try String(contentsOfFile: marker, encoding: .utf8) == "--who\n")
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func templateVariablesAreRenderedOnceAtRunCreation(_ kind: DatabaseKind) async throws {
        try await Self.withTeam(kind) { api, token, scratch in
            let out = scratch.appendingPathComponent("out").path
            let command =
                "echo '{{ pipeline_name }} {{ runner }} {{ project }} {{ ds }} {% raw %}{{ kept }}{% endraw %}' $DATA_DIR $STAMP > \(out)"
            try await api.applyPipeline(
                "rendered", project: "ml", token: token,
                tasks: [
                    Self.shell(
                        "first", [], command,
                        extra: ["env": ["STAMP": "{{ datetime.datetime.now().strftime('%Y%m%d') }}-{{ uuid.uuid4().hex[:4] }}"]]),
                    Self.shell(
                        "second", ["first"], "echo $STAMP",
                        extra: [
                            "env": ["STAMP": "{{ datetime.datetime.now().strftime('%Y%m%d') }}"],
                            "mounts": ["{{ project }}-share(pvc):/mnt/{{ runner }}"],
                        ]),
                ],
                spec: ["env": ["DATA_DIR": "/mnt/{{ creator }}/data"]])
            let id = try await api.startRun("rendered", project: "ml", token: token)
            let run = try await api.waitForRun(id, project: "ml", token: token)
            #expect(run["state"] as? String == "succeeded")
            let day = String((run["executionDate"] as? String ?? "").prefix(10))
            let written = try String(contentsOfFile: out, encoding: .utf8)
            #expect(written.hasPrefix("rendered olga ml \(day) {{ kept }} /mnt/olga/data \(day.replacingOccurrences(of: "-", with: ""))-"))
            // The rendered values are stored with the run and shown with it; every task saw the same now().
            let first = RunJSON.task(run, "first")
            let env = first["env"] as? [String: String] ?? [:]
            #expect(env["DATA_DIR"] == "/mnt/olga/data")
            #expect((env["STAMP"] ?? "").count == 13)
            #expect((first["command"] as? [String] ?? []).contains { $0.contains("rendered olga ml \(day)") })
            #expect((RunJSON.task(run, "second")["env"] as? [String: String])?["STAMP"] == String(env["STAMP"]?.prefix(8) ?? ""))
            #expect((RunJSON.task(run, "second")["mounts"] as? [String])?.first == "ml-share(pvc):/mnt/olga")

            // Unknown names are refused at save, naming field, column and name; other errors at run creation.
            let unknown = try await api.call(
                "POST", "/api/v1/projects/ml/pipelines", token: token,
                json: [
                    "apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": ["name": "typo"],
                    "spec": ["tasks": [Self.shell("a", [], "echo {{ pipline_name }}")]],
                ])
            #expect(unknown.status == 400)
            #expect(unknown.errorMessage == "spec.tasks[a].args.command: column 9: unknown name \"pipline_name\" in {{ pipline_name }}")
            try await api.applyPipeline(
                "late", project: "ml", token: token, tasks: [Self.shell("a", [], "echo {{ runner.nope }}"), Self.shell("b", [], "true")])
            let refused = try await api.call("POST", "/api/v1/projects/ml/pipelines/late/runs", token: token)
            #expect(refused.status == 400)
            // A single-task run of another task is not held back by it.
            #expect(try await api.call("POST", "/api/v1/projects/ml/pipelines/late/tasks/b/run", token: token).status == 201)
            #expect(
                refused.errorMessage?.contains("spec.tasks[a].args.command: column 15: 'str' object has no attribute 'nope'") == true,
                "\(refused.text)")
            // The 1 MiB bound holds for the whole run, not only per field: three fields of half a megabyte are refused.
            try await api.applyPipeline(
                "swollen", project: "ml", token: token,
                tasks: (1...3).map { Self.shell("t\($0)", [], "true", extra: ["env": ["BIG": "{{ 'x' * 500000 }}"]]) })
            let swollen = try await api.call("POST", "/api/v1/projects/ml/pipelines/swollen/runs", token: token)
            #expect(swollen.status == 400, "\(swollen.text.prefix(300))")
            #expect(swollen.errorMessage?.contains("spec.tasks[t3].env.BIG: the run's template variables render more than 1048576") == true)

            // The preview renders without running.
            let preview = try await api.call(
                "POST", "/api/v1/projects/ml/pipelines/rendered/render", token: token,
                json: ["runner": "vera", "executionDate": "2026-11-29T10:00:00+08:00"])
            #expect(preview.status == 200)
            let tasks = preview.json["tasks"] as? [[String: Any]] ?? []
            #expect((tasks.first?["command"] as? [String] ?? []).contains { $0.contains("rendered vera ml 2026-11-29 {{ kept }}") })
            #expect((tasks.last?["env"] as? [String: String])?["STAMP"] == "20261129")
            #expect((preview.json["env"] as? [String: String])?["DATA_DIR"] == "/mnt/olga/data")
        }
    }

    @Test func runsNeedTheRightRole() async throws {
        try await Self.withTeam(.sqlite) { api, token, _ in
            try await api.applyPipeline("quick", project: "ml", token: token, tasks: [Self.shell("quick", [], "true")])
            let viewer = try await api.login("vera", "vera-password")
            let refused = try await api.call("POST", "/api/v1/projects/ml/pipelines/quick/runs", token: viewer)
            #expect(refused.status == 403)
            let id = try await api.startRun("quick", project: "ml", token: token)
            #expect(try await api.call("GET", "/api/v1/projects/ml/runs/\(id)", token: viewer).status == 200)
            #expect(try await api.call("POST", "/api/v1/projects/ml/runs/\(id)/cancel", token: viewer).status == 403)
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            _ = try await api.call("POST", "/api/v1/users", token: admin, json: ["username": "stranger", "password": "stranger-password"])
            let stranger = try await api.login("stranger", "stranger-password")
            #expect(try await api.call("GET", "/api/v1/projects/ml/runs/\(id)", token: stranger).status == 404)
            _ = try await api.waitForRun(id, project: "ml", token: token)
        }
    }
}
