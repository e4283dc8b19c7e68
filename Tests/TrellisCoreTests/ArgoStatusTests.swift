import Foundation
import Testing
import TrellisCore
import TrellisTestSupport

/// Reading a Workflow's status back into Trellis's terms, and `argo retry` on the object.
@Suite struct ArgoStatusTests {
    static let name = "trellis-run"

    static func workflow(phase: String, shutdown: Bool = false, message: String? = nil, _ nodes: [(String, JSONValue)]) -> JSONValue {
        var spec: [String: JSONValue] = ["entrypoint": .string("main")]
        if shutdown { spec["shutdown"] = .string("Stop") }
        return .object([
            "metadata": .object(["name": .string(name), "labels": .object(["workflows.argoproj.io/completed": .string("true")])]),
            "spec": .object(spec), "status": ArgoFixture.status(phase: phase, message: message, nodes),
        ])
    }

    /// prepare succeeded; train retried once then failed twice over; report omitted after it; skipped skipped.
    static let failed = workflow(
        phase: "Failed", message: "child 'trellis-run-3' failed",
        [
            ArgoFixture.node(name, name, type: "DAG", phase: "Failed", children: ["trellis-run-1", "trellis-run-2", "trellis-run-9"]),
            ArgoFixture.node(
                "trellis-run-1", "\(name).prepare", type: "Pod", phase: "Succeeded", exitCode: "0", finished: "2026-11-29T10:00:05Z"),
            ArgoFixture.node(
                "trellis-run-2", "\(name).train", type: "Retry", phase: "Failed", children: ["trellis-run-3", "trellis-run-4"]),
            ArgoFixture.node(
                "trellis-run-3", "\(name).train(0)", type: "Pod", phase: "Failed", exitCode: "3", message: "Error (exit code 3)",
                started: "2026-11-29T10:00:06Z", finished: "2026-11-29T10:00:08Z"),
            ArgoFixture.node("trellis-run-4", "\(name).train(1)", type: "Pod", phase: "Error", exitCode: "137", message: "OOMKilled"),
            ArgoFixture.node("trellis-run-5", "\(name).report", type: "Skipped", phase: "Omitted"),
            ArgoFixture.node(
                "trellis-run-9", "\(name).skipped", type: "Skipped", phase: "Skipped", message: "when 'false' evaluated false"),
        ])

    @Test func nodesBecomeTaskStatesAndRetriesBecomeAttempts() {
        let progress = ArgoStatus.progress(of: Self.failed)
        #expect(progress.phase == .failed && progress.message == "child 'trellis-run-3' failed")
        #expect(progress.tasks == ["prepare": .succeeded, "train": .failed, "report": .upstreamFailed, "skipped": .skipped])
        #expect(
            progress.attempts.map { "\($0.task)#\($0.number)=\($0.state.rawValue)" } == [
                "prepare#1=succeeded", "train#1=failed", "train#2=failed",
            ])
        let first = progress.attempts[1]
        #expect(
            first.exitCode == 3 && first.message == "Error (exit code 3)" && first.nodes == ["trellis-run-3"] && first.hosts == ["worker-1"]
        )
        #expect(first.startedAt == ISO8601DateFormatter().date(from: "2026-11-29T10:00:06Z"))
        #expect(first.finishedAt == ISO8601DateFormatter().date(from: "2026-11-29T10:00:08Z"))
        #expect(progress.attempts[2].exitCode == 137 && progress.attempts[2].message == "OOMKilled")
    }

    @Test func aShutDownWorkflowIsCancelledAndItsRunningPodsWithIt() {
        let stopped = Self.workflow(
            phase: "Failed", shutdown: true, message: "Stopped with strategy 'Stop'",
            [
                ArgoFixture.node(Self.name, Self.name, type: "DAG", phase: "Failed"),
                ArgoFixture.node(
                    "trellis-run-1", "\(Self.name).slow", type: "Pod", phase: "Failed", message: "Stopped with strategy 'Stop'"),
            ])
        let progress = ArgoStatus.progress(of: stopped)
        #expect(progress.phase == .cancelled && progress.tasks == ["slow": .cancelled] && progress.attempts.map(\.state) == [.cancelled])
        // Running until Argo's controller has acted on the shutdown.
        let asked = Self.workflow(phase: "Running", shutdown: true, [ArgoFixture.node(Self.name, Self.name, type: "DAG", phase: "Running")])
        #expect(ArgoStatus.progress(of: asked).phase == .running)
    }

    @Test func replicasOfOneAttemptAreOneAttemptFailedWhenOneFailed() {
        let workflow = Self.workflow(
            phase: "Running",
            [
                ArgoFixture.node("g", "\(Self.name).ddp", type: "TaskGroup", phase: "Running", children: ["r0", "r1"]),
                ArgoFixture.node(
                    "r0", "\(Self.name).ddp(0:0)", type: "Pod", phase: "Succeeded", exitCode: "0", finished: "2026-11-29T10:01:00Z"),
                ArgoFixture.node("r1", "\(Self.name).ddp(1:1)", type: "Retry", phase: "Running", children: ["r1a", "r1b"]),
                ArgoFixture.node("r1a", "\(Self.name).ddp(1:1)(0)", type: "Pod", phase: "Failed", exitCode: "1"),
                ArgoFixture.node("r1b", "\(Self.name).ddp(1:1)(1)", type: "Pod", phase: "Running"),
            ])
        let progress = ArgoStatus.progress(of: workflow)
        #expect(progress.phase == .running && progress.tasks == ["ddp": .running])
        #expect(progress.attempts.count == 2)
        #expect(progress.attempts[0].number == 1 && progress.attempts[0].state == .failed && progress.attempts[0].nodes == ["r0", "r1a"])
        #expect(
            progress.attempts[0].exitCode == 1
                && progress.attempts[0].finishedAt == ISO8601DateFormatter().date(from: "2026-11-29T10:01:00Z"))
        #expect(progress.attempts[1].number == 2 && progress.attempts[1].state == .running && progress.attempts[1].nodes == ["r1b"])
    }

    @Test func retryRemovesFailedPodsResetsTheirParentsAndKeepsSuccesses() throws {
        let retry = try #require(ArgoStatus.retry(Self.failed))
        #expect(retry.podNodes == ["trellis-run-3", "trellis-run-4"])
        #expect(retry.patch["spec"]?["shutdown"] == .null)
        #expect(retry.patch["metadata"]?["labels"]?["workflows.argoproj.io/completed"] == .string("false"))
        let status = try #require(retry.patch["status"])
        #expect(status["phase"] == .string("Running") && status["finishedAt"] == .null && status["message"] == .null)
        let nodes = try #require(status["nodes"])
        // Failed pods and the omitted node go; the DAG and the retry node run again, without the removed children.
        for removed in ["trellis-run-3", "trellis-run-4", "trellis-run-5"] { #expect(nodes[removed] == .null) }
        #expect(nodes["trellis-run-2"]?["phase"] == .string("Running") && nodes["trellis-run-2"]?["children"] == .array([]))
        #expect(nodes[Self.name]?["phase"] == .string("Running") && nodes[Self.name]?["children"] == nil)
        // Succeeded and skipped are kept untouched (absent from the patch).
        #expect(nodes["trellis-run-1"] == nil && nodes["trellis-run-9"] == nil)
        // Only a failed Workflow is retried; a succeeded one when tasks are restarted.
        let succeeded = Self.workflow(
            phase: "Succeeded",
            [
                ArgoFixture.node(Self.name, Self.name, type: "DAG", phase: "Succeeded", children: ["p", "t"]),
                ArgoFixture.node("p", "\(Self.name).prepare", type: "Pod", phase: "Succeeded"),
                ArgoFixture.node("t", "\(Self.name).train", type: "Retry", phase: "Succeeded", children: ["t0"]),
                ArgoFixture.node("t0", "\(Self.name).train(0)", type: "Pod", phase: "Succeeded"),
            ])
        #expect(ArgoStatus.retry(succeeded) == nil)
        let restart = try #require(ArgoStatus.retry(succeeded, restarting: ["train"]))
        #expect(restart.podNodes == ["t0"])
        let restarted = try #require(restart.patch["status"]?["nodes"])
        #expect(restarted["t"] == .null && restarted["t0"] == .null && restarted["p"] == nil)
        #expect(restarted[Self.name]?["phase"] == .string("Running") && restarted[Self.name]?["children"] == .array([.string("p")]))
        #expect(ArgoStatus.retry(Self.workflow(phase: "Running", [])) == nil)
        #expect(ArgoStatus.retry(Self.workflow(phase: "Succeeded", [])) == nil)
    }
}
