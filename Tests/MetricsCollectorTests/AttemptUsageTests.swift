import Foundation
import Testing
import TrellisTestSupport

/// Resource use of real local attempts, through the collector's API: sandboxed (`trellis-shim measure` reports the
/// task's peak) and bare.
@Suite struct AttemptUsageTests {
    static func task(_ name: String, _ command: String, extra: [String: Any] = [:]) -> [String: Any] {
        var task: [String: Any] = ["name": name, "template": "shell", "args": ["command": command], "dependsOn": [String]()]
        task.merge(extra) { $1 }
        return task
    }

    /// A project `ml` owned by `olga` (and `vera`, a viewer), on the embedded platform with `executor` tasks.
    static func withTeam(
        _ kind: DatabaseKind, executor: String = "sandboxed", flags: [String: String] = [:],
        _ body: @escaping @Sendable (TestClientTransport, [String: String]) async throws -> Void
    ) async throws {
        try await EmbeddedHarness.with(kind, flags: flags.merging(["local.executor": executor]) { $1 }) { api, _ in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            var team = try await api.team(project: "ml", owner: "olga", members: [("vera", "viewer")], admin: admin)
            team["otto"] = try await api.team(project: "other", owner: "otto", members: [], admin: admin)["otto"]
            try await body(api, team)
        }
    }

    /// The attempt's usage once every sample of it is in.
    static func completeUsage(
        _ api: TestClientTransport, run: String, task: String, attempt: Int = 1, token: String?
    ) async throws -> [String: Any] {
        var usage: [String: Any] = [:]
        try await Waiting.until("the usage of \(task) complete") {
            let response = try await api.call(
                "GET", "/api/v1/projects/ml/runs/\(run)/tasks/\(task)/attempts/\(attempt)/usage", token: token)
            usage = response.json
            return response.status == 200 && usage["complete"] as? Bool == true
        }
        return usage
    }

    static func mebibytes(_ value: Any?) -> Double { Double(value as? Int64 ?? Int64(value as? Int ?? 0)) / 1_048_576 }

    /// A task shorter than the sampling interval still shows its peak, from the kernel's count at its end: 200 MB
    /// allocated, about 200 MB peak (not the 0.0 MiB of a sampler that came too late).
    @Test(arguments: ["sandboxed", "unsandboxed"])
    func aShortTaskShowsItsPeakMemory(_ executor: String) async throws {
        try await Self.withTeam(.sqlite, executor: executor) { api, team in
            let token = team["olga"]
            try await api.applyPipeline(
                "alloc", project: "ml", token: token,
                tasks: [Self.task("alloc", "python3 -c 'b = bytearray(200 * 1024 * 1024)'", extra: ["resources": ["memory": "300Mi~1Gi"]])])
            let run = try await api.startRun("alloc", project: "ml", token: token)
            let ended = try await api.waitForRun(run, project: "ml", token: token)
            #expect(ended["state"] as? String == "succeeded")
            let usage = try await Self.completeUsage(api, run: run, task: "alloc", token: token)
            let summary = usage["summary"] as? [String: Any] ?? [:]
            let peak = Self.mebibytes(summary["peakMemoryBytes"])
            #expect(peak > 195 && peak < 320, "peak \(peak) MiB")
            #expect((summary["cpuSeconds"] as? Double ?? 0) > 0)
            let series = usage["series"] as? [[String: Any]] ?? []
            #expect(series.map { $0["replica"] as? String } == ["0"])
            let points = series.first?["points"] as? [[String: Any]] ?? []
            #expect(!points.isEmpty)
            #expect(points.allSatisfy { $0["cpuCores"] is Double && $0["memoryBytes"] is Int })
            // The task's request and limit, for the chart's lines.
            #expect(Self.mebibytes((usage["requests"] as? [String: Any])?["memoryBytes"].map { Int64($0 as? Double ?? 0) }) == 300)
            #expect(Self.mebibytes((usage["limits"] as? [String: Any])?["memoryBytes"].map { Int64($0 as? Double ?? 0) }) == 1024)
        }
    }

    /// A CPU-bound replica's samples are in cores, at most one each, and add up to the CPU time the kernel counted for
    /// it: each of two replicas spins for 1.5 s of CPU time (CPU time, not wall time: the machine may be busy with
    /// other tests, and then a replica gets less than a core, which is what the samples must then show).
    @Test func aCPUBoundReplicaShowsAboutOneCore() async throws {
        try await Self.withTeam(.sqlite) { api, team in
            let token = team["olga"]
            let spin = #"python3 -c 'import time; exec("while time.process_time() < 1.5: pass")'"#
            try await api.applyPipeline("spin", project: "ml", token: token, tasks: [Self.task("spin", spin, extra: ["replicas": 2])])
            let run = try await api.startRun("spin", project: "ml", token: token)
            let ended = try await api.waitForRun(run, project: "ml", token: token)
            let started = try #require(RunJSON.date(RunJSON.attempts(ended, "spin").first?["startedAt"]))
            let usage = try await Self.completeUsage(api, run: run, task: "spin", token: token)
            let series = usage["series"] as? [[String: Any]] ?? []
            #expect(series.map { $0["replica"] as? String } == ["0", "1"])
            var counted = 0.0
            for replica in series {
                let points = (replica["points"] as? [[String: Any]] ?? []).compactMap { point -> (Date, Double)? in
                    guard let at = RunJSON.date(point["at"]), let cores = point["cpuCores"] as? Double else { return nil }
                    return (at, cores)
                }
                #expect(points.allSatisfy { $0.1 <= 1.15 }, "\(points)")
                // Each sample is the share of a core since the one before (the first: since the start): over the replica's
                // life they add up to its CPU time.
                for (before, after) in zip([(started, 0)] + points, points) { counted += after.1 * after.0.timeIntervalSince(before.0) }
            }
            let cpuSeconds = (usage["summary"] as? [String: Any])?["cpuSeconds"] as? Double ?? 0
            #expect(cpuSeconds >= 3.0 && cpuSeconds < 4.5, "\(cpuSeconds)")
            #expect(abs(counted - cpuSeconds) < 0.5, "samples add up to \(counted) s, the kernel counted \(cpuSeconds) s")
        }
    }

    /// A replica whose child burns CPU, ends and is reaped while the replica goes on: the child's time leaves the
    /// tree's sum at the next sample, and must not be counted again by the last one (it once was, over the few
    /// milliseconds since the sample before: hundreds of cores).
    @Test func aReapedChildsCPUTimeIsCountedOnce() async throws {
        try await Self.withTeam(.sqlite) { api, team in
            let token = team["olga"]
            let parent = #"python3 -c 'import time; exec("while time.process_time() < 1.2: pass")'; sleep 1.6"#
            try await api.applyPipeline("reap", project: "ml", token: token, tasks: [Self.task("reap", parent)])
            let run = try await api.startRun("reap", project: "ml", token: token)
            _ = try await api.waitForRun(run, project: "ml", token: token)
            let usage = try await Self.completeUsage(api, run: run, task: "reap", token: token)
            let points = ((usage["series"] as? [[String: Any]])?.first?["points"] as? [[String: Any]] ?? []).compactMap {
                $0["cpuCores"] as? Double
            }
            #expect(!points.isEmpty && points.allSatisfy { $0 <= 1.15 }, "\(points)")
        }
    }

    /// GPU use where `nvidia-smi` is (here a stand-in printing its CSV for the processes marked as using a GPU): the
    /// memory the replica's processes hold and the utilisation of the GPU they hold it on.
    @Test func gpuUseComesFromNvidiaSmi() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fake-smi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let smi = folder.appendingPathComponent("nvidia-smi")
        let gpu = "GPU-5d8e3b8a-1c2f-4f7e-9a0b-3c4d5e6f7a8b"
        let script = """
            #!/bin/sh
            case "$1" in
            --query-compute-apps=pid,gpu_uuid,used_memory)
              for pid in $(/usr/bin/pgrep -f "^sh -c .*trellis-gpu-marker"); do echo "$pid, \(gpu), 2048"; done
              echo "1, GPU-00000000-0000-0000-0000-000000000000, [N/A]" ;;
            --query-gpu=uuid,utilization.gpu)
              echo "\(gpu), 73"
              echo "GPU-00000000-0000-0000-0000-000000000000, 0" ;;
            *) exit 2 ;;
            esac
            """
        try script.write(to: smi, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: smi.path)
        try await Self.withTeam(.sqlite, flags: ["task.gpu.probe": smi.path]) { api, team in
            let token = team["olga"]
            try await api.applyPipeline(
                "train", project: "ml", token: token, tasks: [Self.task("train", "sleep 3 || echo trellis-gpu-marker")])
            let run = try await api.startRun("train", project: "ml", token: token)
            _ = try await api.waitForRun(run, project: "ml", token: token)
            let usage = try await Self.completeUsage(api, run: run, task: "train", token: token)
            let summary = usage["summary"] as? [String: Any] ?? [:]
            #expect(summary["peakGpuPercent"] as? Double == 73)
            #expect(summary["peakGpuMemoryBytes"] as? Int == 2048 << 20)
            let points = (usage["series"] as? [[String: Any]])?.first?["points"] as? [[String: Any]] ?? []
            #expect(points.contains { $0["gpuPercent"] as? Double == 73 && $0["gpuMemoryBytes"] as? Int == 2048 << 20 })
        }
        // Without the probe there is no GPU field at all.
        try await Self.withTeam(.sqlite, flags: ["task.gpu.probe": "none"]) { api, team in
            let token = team["olga"]
            try await api.applyPipeline("plain", project: "ml", token: token, tasks: [Self.task("plain", "sleep 1.5")])
            let run = try await api.startRun("plain", project: "ml", token: token)
            _ = try await api.waitForRun(run, project: "ml", token: token)
            let usage = try await Self.completeUsage(api, run: run, task: "plain", token: token)
            #expect((usage["summary"] as? [String: Any])?["peakGpuPercent"] == nil)
        }
    }

    /// Threads of the replica's processes: eight sleeping threads and the interpreter's own.
    @Test func threadsAreCounted() async throws {
        try await Self.withTeam(.sqlite) { api, team in
            let token = team["olga"]
            let threads =
                #"python3 -c 'import threading, time; [threading.Thread(target=time.sleep, args=(3,)).start() for _ in range(8)]'"#
            try await api.applyPipeline("threads", project: "ml", token: token, tasks: [Self.task("threads", threads)])
            let run = try await api.startRun("threads", project: "ml", token: token)
            _ = try await api.waitForRun(run, project: "ml", token: token)
            let usage = try await Self.completeUsage(api, run: run, task: "threads", token: token)
            #expect(((usage["summary"] as? [String: Any])?["peakThreads"] as? Int ?? 0) >= 9, "\(usage["summary"] ?? "")")
        }
    }

    /// A running attempt's samples arrive while it runs, every second.
    @Test func samplesArriveWhileTheAttemptRuns() async throws {
        try await Self.withTeam(.sqlite) { api, team in
            let token = team["olga"]
            try await api.applyPipeline("long", project: "ml", token: token, tasks: [Self.task("sleep", "sleep 600")])
            let run = try await api.startRun("long", project: "ml", token: token)
            try await Waiting.until("three samples of the running attempt") {
                let usage = try await api.call("GET", "/api/v1/projects/ml/runs/\(run)/tasks/sleep/attempts/1/usage", token: token)
                let points = (usage.json["series"] as? [[String: Any]])?.first?["points"] as? [Any] ?? []
                return usage.json["state"] as? String == "running" && usage.json["complete"] as? Bool == false && points.count >= 3
            }
            #expect(try await api.call("POST", "/api/v1/projects/ml/runs/\(run)/cancel", token: token).status == 200)
            _ = try await api.waitForRun(run, project: "ml", token: token)
        }
    }

    /// The run's summaries, the pipeline's suggested requests after three runs, and the refusals: a non-member gets
    /// 404, a bad step 400 naming it, an attempt that never ran 404.
    @Test(arguments: DatabaseKind.allCases)
    func runsSummariseAndTasksGetSuggestedRequests(_ kind: DatabaseKind) async throws {
        try await Self.withTeam(kind) { api, team in
            let token = team["olga"]
            try await api.applyPipeline(
                "grow", project: "ml", token: token, tasks: [Self.task("grow", "python3 -c 'b = bytearray(64 * 1024 * 1024)'")])
            var runs: [String] = []
            for _ in 0..<3 {
                let run = try await api.startRun("grow", project: "ml", token: token)
                _ = try await api.waitForRun(run, project: "ml", token: token)
                _ = try await Self.completeUsage(api, run: run, task: "grow", token: token)
                runs.append(run)
            }
            let summaries = try await api.call("GET", "/api/v1/projects/ml/runs/\(runs[0])/usage", token: team["vera"])
            #expect(summaries.status == 200)
            let attempts = summaries.json["attempts"] as? [[String: Any]] ?? []
            #expect(attempts.map { $0["task"] as? String } == ["grow"])
            #expect(Self.mebibytes((attempts.first?["summary"] as? [String: Any])?["peakMemoryBytes"]) > 60)

            let suggested = try await api.call("GET", "/api/v1/projects/ml/pipelines/grow/usage", token: token)
            let task = (suggested.json["tasks"] as? [[String: Any]])?.first ?? [:]
            #expect(task["attempts"] as? Int == 3)
            let suggestion = task["suggestion"] as? [String: Any] ?? [:]
            let memory = (suggestion["memory"] as? String ?? "").dropLast(2)
            #expect((Int(memory) ?? 0) >= 64, "\(suggestion)")
            #expect((suggestion["cpu"] as? String ?? "").hasSuffix("m"))

            let usage = "/api/v1/projects/ml/runs/\(runs[0])/tasks/grow/attempts/1/usage"
            #expect(try await api.call("GET", usage, token: team["otto"]).status == 404)
            #expect(try await api.call("GET", "/api/v1/projects/ml/runs/\(runs[0])/usage", token: team["otto"]).status == 404)
            let badStep = try await api.call("GET", usage + "?step=fast", token: token)
            #expect(badStep.status == 400 && badStep.text.contains("step"))
            #expect(try await api.call("GET", usage + "?step=10d", token: token).status == 400)
            let stepped = try await api.call("GET", usage + "?step=1m", token: token)
            #expect(stepped.json["step"] as? Int == 60)
            #expect(
                try await api.call("GET", "/api/v1/projects/ml/runs/\(runs[0])/tasks/grow/attempts/2/usage", token: token).status == 404)
        }
    }
}
