import Foundation
import Testing
import TrellisTestSupport

/// A thousand-task run through the engine's incremental path (plan index, remaining-upstream counts, ready queue, runs
/// kept between steps, batched writes), on both databases: every task ends as its upstreams say, once, and none starts
/// before all its upstreams ended.
@Suite struct LargeRunTests {
    /// `r0000`… each after two earlier tasks drawn with a fixed seed (the first two after none), as benchmark W4.
    static func randomDAG(size: Int) -> [(name: String, upstreams: [String])] {
        var state: UInt64 = 18
        func draw(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        return (0..<size).map { position in
            let name = String(format: "r%04d", position)
            guard position >= 2 else { return (name, []) }
            return (name, Set([draw(position), draw(position)]).sorted().map { String(format: "r%04d", $0) })
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func aThousandTaskRunEndsAsItsDependenciesSay(_ kind: DatabaseKind) async throws {
        let dag = Self.randomDAG(size: 1_000)
        // One task in the first tenth fails: everything downstream of it is upstream-failed, the rest succeeds.
        let failing = "r0050"
        var downstream: Set<String> = [failing]
        for task in dag where task.upstreams.contains(where: downstream.contains) { downstream.insert(task.name) }
        let doomed = downstream
        #expect(doomed.count > 10 && doomed.count < 900)
        try await RunEngineTests.withTeam(kind) { api, token, _ in
            let tasks: [[String: Any]] = dag.map { task in
                task.name == failing
                    ? RunEngineTests.shell(task.name, task.upstreams, "exit 3")
                    : ["name": task.name, "template": "noop", "dependsOn": task.upstreams]
            }
            try await api.applyPipeline("thousand", project: "ml", token: token, tasks: tasks)
            let id = try await api.startRun("thousand", project: "ml", token: token)
            let run = try await api.waitForRun(id, project: "ml", token: token, limit: .seconds(600))
            #expect(run["state"] as? String == "failed")
            #expect(run["reason"] as? String == "failed tasks: \(failing)")
            let views = Dictionary(uniqueKeysWithValues: (run["tasks"] as? [[String: Any]] ?? []).map { ($0["name"] as? String ?? "", $0) })
            #expect(views.count == 1_000)
            var ended: [String: Date] = [:]
            for task in dag {
                let view = views[task.name] ?? [:]
                let attempts = view["attempts"] as? [[String: Any]] ?? []
                let expected = task.name == failing ? "failed" : doomed.contains(task.name) ? "upstream_failed" : "succeeded"
                #expect(view["state"] as? String == expected, "\(task.name)")
                // Started once when it could, never when an upstream failed.
                #expect(attempts.count == (expected == "upstream_failed" ? 0 : 1), "\(task.name)")
                guard let attempt = attempts.first else { continue }
                #expect(attempt["state"] as? String == expected, "\(task.name)")
                let started = try #require(RunJSON.date(attempt["startedAt"]), "\(task.name)")
                for upstream in task.upstreams {
                    let upstreamEnd = try #require(ended[upstream], "\(task.name) started before \(upstream) ended")
                    #expect(started >= upstreamEnd, "\(task.name) started before \(upstream) ended")
                }
                ended[task.name] = RunJSON.date(attempt["finishedAt"])
            }
            #expect(views[failing].flatMap { ($0["attempts"] as? [[String: Any]])?.first?["exitCode"] as? Int } == 3)
        }
    }
}
