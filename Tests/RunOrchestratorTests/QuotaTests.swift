import Foundation
import Testing
import TrellisTestSupport

/// Project settings as runs see them: default env and mounts, the cluster name, and the quotas the engine enforces.
@Suite struct QuotaTests {
    /// The most intervals open at one instant.
    static func mostAtOnce(_ intervals: [(Date, Date)]) -> Int {
        var events: [(at: Date, change: Int)] = []
        for (start, end) in intervals {
            events.append((start, 1))
            events.append((end, -1))
        }
        // An end and a start at the same instant: the end first.
        events.sort { $0.at == $1.at ? $0.change < $1.change : $0.at < $1.at }
        var (open, most) = (0, 0)
        for event in events {
            open += event.change
            most = max(most, open)
        }
        return most
    }

    static func settings(_ api: some APITransport, token: String, _ settings: [String: Any]) async throws -> APIResponse {
        try await api.call("PATCH", "/api/v1/projects/ml", token: token, json: ["settings": settings])
    }

    @Test(arguments: DatabaseKind.allCases)
    func defaultsReachTheTasksAndTaskAttemptsStayWithinTheQuota(_ kind: DatabaseKind) async throws {
        try await RunEngineTests.withTeam(kind) { api, token, scratch in
            let bad = try await Self.settings(
                api, token: token,
                [
                    "env": ["1BAD": "x"], "mounts": ["nowhere"], "maxConcurrentTasks": 0, "cluster": "Not A Name",
                    "nodeSelector": ["-bad": "x", "ok": "not ok"],
                ])
            #expect(bad.status == 400)
            for field in [
                "settings.env.1BAD", "settings.mounts[0]", "settings.maxConcurrentTasks", "settings.cluster", "settings.nodeSelector.-bad",
                "settings.nodeSelector.ok",
            ] {
                #expect(bad.text.contains(field), "\(field): \(bad.text)")
            }
            let viewer = try await api.login("vera", "vera-password")
            #expect(try await Self.settings(api, token: viewer, ["maxConcurrentTasks": 9]).status == 403)
            let saved = try await Self.settings(
                api, token: token,
                [
                    "env": ["TEAM_BUCKET": "s3://ml"], "maxConcurrentTasks": 2,
                    "mounts": ["data(pvc):/data", "\(scratch.path)(hostpath):\(scratch.path)"],
                    "nodeSelector": ["example.com/pool": "train"],
                ])
            #expect(saved.status == 200, "\(saved.text)")
            #expect((saved.json["settings"] as? [String: Any])?["maxConcurrentTasks"] as? Int == 2)
            // Kubernetes only: the preview of a run shows where its pods may go.
            try await api.applyPipeline("one", project: "ml", token: token, tasks: [RunEngineTests.shell("t", [], "true")])
            let preview = try await api.call("GET", "/api/v1/projects/ml/pipelines/one/argo?format=json", token: token)
            #expect(
                (preview.json["spec"] as? [String: Any])?["nodeSelector"] as? [String: String] == ["example.com/pool": "train"],
                "\(preview.text)")

            // The quota is reached, not hoped for: the first task to start waits at a barrier for a second one, so two
            // run at once whatever the machine's load (a quota of one would leave it waiting, and it fails after a
            // minute). The others pass it and linger a little, so that a quota letting more through would show.
            let arrived = scratch.appendingPathComponent("arrived").path
            let barrier =
                "echo $TRELLIS_TASK_NAME >> \(arrived); i=0; until [ $(wc -l < \(arrived)) -ge 2 ]; do i=$((i+1)); "
                + "[ $i -lt 1200 ] || { echo no second task came; exit 1; }; sleep 0.05; done; sleep 0.2"
            let tasks = (1...5).map { RunEngineTests.shell("t\($0)", [], "echo $TEAM_BUCKET {{cluster_name}}; \(barrier)") }
            try await api.applyPipeline("wide", project: "ml", token: token, tasks: tasks)
            let id = try await api.startRun("wide", project: "ml", token: token)
            let run = try await api.waitForRun(id, project: "ml", token: token)
            #expect(run["state"] as? String == "succeeded")
            let first = RunJSON.task(run, "t1")
            #expect((first["env"] as? [String: String])?["TEAM_BUCKET"] == "s3://ml")
            #expect((first["mounts"] as? [String])?.contains("data(pvc):/data") == true)
            let log = try await api.call("GET", "/api/v1/projects/ml/runs/\(id)/tasks/t1/logs", token: token).text
            #expect(log.contains("s3://ml local"), "\(log)")
            let intervals = (1...5).compactMap { index -> (Date, Date)? in
                let attempt = RunJSON.attempts(run, "t\(index)").first
                guard let start = RunJSON.date(attempt?["startedAt"]), let end = RunJSON.date(attempt?["finishedAt"]) else { return nil }
                return (start, end)
            }
            #expect(intervals.count == 5)
            // Never more than the quota; two at once is forced by the barrier.
            #expect(Self.mostAtOnce(intervals) <= 2, "\(intervals)")
            #expect(Self.mostAtOnce(intervals) == 2, "\(intervals)")
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func runsBeyondTheProjectsLimitWaitTheirTurn(_ kind: DatabaseKind) async throws {
        try await RunEngineTests.withTeam(kind) { api, token, scratch in
            // Settings are saved whole: the scratch folder stays mounted.
            let mounts = ["\(scratch.path)(hostpath):\(scratch.path)"]
            #expect(try await Self.settings(api, token: token, ["maxConcurrentRuns": 1, "mounts": mounts]).status == 200)
            // Each run's task waits for a gate the test opens: the first run is running for as long as the test looks.
            let gate = scratch.appendingPathComponent("gate").path
            let work = "i=0; until [ -f \(gate) ]; do i=$((i+1)); [ $i -lt 1200 ] || exit 1; sleep 0.05; done; sleep 0.1"
            try await api.applyPipeline("slow", project: "ml", token: token, tasks: [RunEngineTests.shell("work", [], work)])
            var ids: [String] = []
            for _ in 0..<3 { ids.append(try await api.startRun("slow", project: "ml", token: token)) }
            // While the first runs, the others wait, saying why.
            _ = try await api.waitForRun(ids[0], project: "ml", token: token) { $0["state"] as? String == "running" }
            for waitingID in ids.dropFirst() {
                let waiting = try await api.call("GET", "/api/v1/projects/ml/runs/\(waitingID)", token: token).json
                #expect(waiting["state"] as? String == "pending")
                #expect((waiting["reason"] as? String)?.contains("maxConcurrentRuns") == true, "\(waiting)")
            }
            FileManager.default.createFile(atPath: gate, contents: Data())
            var intervals: [(Date, Date)] = []
            for id in ids {
                let run = try await api.waitForRun(id, project: "ml", token: token)
                #expect(run["state"] as? String == "succeeded")
                #expect(run["reason"] == nil || run["reason"] is NSNull)
                if let start = RunJSON.date(run["startedAt"]), let end = RunJSON.date(run["finishedAt"]) { intervals.append((start, end)) }
            }
            #expect(intervals.count == 3)
            #expect(Self.mostAtOnce(intervals) == 1, "\(intervals)")
        }
    }
}
