import Foundation
import Testing
import TrellisCore
import TrellisShim
import TrellisTestSupport

@testable import ClusterGateway

/// A PyTorch task of a project bound to a Kubernetes cluster, end to end against the real kube-apiserver of
/// scripts/with-kube.sh with the training operator's CRDs and scripts/kubelet-logs.py as the node's kubelet. The test
/// plays Argo (its resource step creates the job from the Workflow's manifest, and the step's node follows the job's
/// conditions) and the training operator (it makes the replicas' pods from the job's replica specs and writes the
/// job's status): the replicas are the attempt's pods, in rank order, with their log; a failed replica fails the
/// attempt; resume runs a new job; cancel deletes the running one, its log kept. A `ray` task's RayJob likewise, with
/// KubeRay's head, worker and submitter pods.
@Suite struct TrainingJobRunTests {
    static let pytorch = TrainingFramework.pytorch

    /// The pod templates of a job in rank order, each with how many pods it makes and their role.
    static func podTemplates(of job: JSONValue) -> [(role: String, replicas: Int, template: JSONValue)] {
        let count = { (value: JSONValue?) in Int(value?.jsonText ?? "") ?? 1 }
        if job["kind"] == .string("RayJob") {
            let cluster = job["spec"]?["rayClusterSpec"]
            var found = [("head", 1, cluster?["headGroupSpec"]?["template"] ?? .null)]
            if case .array(let groups)? = cluster?["workerGroupSpecs"], let group = groups.first {
                found.append(("worker", count(group["replicas"]), group["template"] ?? .null))
            }
            return found + [("submitter", 1, job["spec"]?["submitterPodTemplate"] ?? .null)]
        }
        return Self.pytorch.roleNames.compactMap { role in
            job["spec"]?["pytorchReplicaSpecs"]?[role].map { (role.lowercased(), count($0["replicas"]), $0["template"] ?? .null) }
        }
    }

    /// The operator's part: a pod per replica of the job, from its pod templates, on `host`; their names in rank order.
    static func operate(_ job: JSONValue, client: KubernetesClient, namespace: String, host: String) async throws -> [String] {
        let name = try #require(job["metadata"]?["name"]?.string)
        var pods: [String] = []
        for (role, replicas, template) in Self.podTemplates(of: job) {
            guard case .object(var pod)? = template["spec"], case .object(var labels)? = template["metadata"]?["labels"] else {
                continue
            }
            for index in 0..<replicas {
                let podName = "\(name)-\(role)-\(index)"
                labels["training.kubeflow.org/job-name"] = .string(name)
                labels["training.kubeflow.org/replica-index"] = .string(String(index))
                pod["nodeName"] = .string(host)
                pod["restartPolicy"] = .string("Never")
                _ = try await client.create(
                    .pods, namespace: namespace,
                    .object(["metadata": .object(["name": .string(podName), "labels": .object(labels)]), "spec": .object(pod)]))
                pods.append(podName)
            }
        }
        return pods
    }

    /// Argo's resource step: the job created from the step's manifest, as the API server returns it (named).
    static func createJob(of argo: ArgoController, framework: TrainingFramework = .pytorch) async throws -> JSONValue {
        let workflow = try #require(try await argo.workflow())
        guard case .array(let templates)? = workflow["spec"]?["templates"],
            let manifest = templates.first(where: { $0["name"] == .string("task-train") })?["resource"]?["manifest"]?.string
        else { throw TransportError("no resource step in \(workflow.jsonText)") }
        let job = try JSONDecoder().decode(JSONValue.self, from: Data(manifest.utf8))
        return try await argo.client.create(.jobs(of: framework), namespace: argo.namespace, job)
    }

    /// The operator's word on the job: its conditions, the last of `type`.
    static func conclude(_ job: JSONValue, _ type: String, message: String, client: KubernetesClient, namespace: String) async throws {
        let name = try #require(job["metadata"]?["name"]?.string)
        let condition = { (type: String) -> JSONValue in
            .object(["type": .string(type), "status": .string("True"), "reason": .string("PyTorchJob\(type)"), "message": .string(message)])
        }
        _ = try await client.patch(
            .jobs(of: Self.pytorch), namespace: namespace, name: name,
            merge: .object(["status": .object(["conditions": .array([condition("Created"), condition("Running"), condition(type)])])]))
    }

    /// The pods of `selector` not being deleted (pods on a node are deleted gracefully: here no kubelet ends them).
    static func livePods(_ selector: String, client: KubernetesClient, namespace: String) async throws -> [JSONValue] {
        try await client.list(.pods, namespace: namespace, labelSelector: selector).items.filter {
            $0["metadata"]?["deletionTimestamp"] == nil
        }
    }

    static func step(_ argo: ArgoController, _ id: String, phase: String, message: String? = nil) -> [(String, JSONValue)] {
        [argo.root(phase == "Pending" ? "Running" : phase), argo.node(id, "train", phase: phase, message: message)]
    }

    @Test func aPyTorchTaskRunsAsAPyTorchJobWhoseReplicasAreTheAttemptsPods() async throws {
        try await LabProject.with("ddp") { lab in
            let (api, client, host, token, namespace, project) = (lab.api, lab.client, lab.node, lab.token, lab.namespace, lab.project)
            let (data, logs) = (lab.data, lab.logs)
            try await api.applyPipeline(
                "ddp", project: project, token: token,
                tasks: [["name": "train", "template": "pytorch", "replicas": 2, "args": ["script": "print('step')"]]])

            // 1. The step creates the job; the operator its replicas; they are the attempt's pods, in rank order.
            let run = try await api.startRun("ddp", project: project, token: token)
            let argo = try await ArgoController.waitFor(run: run, client: client, namespace: namespace)
            guard case .object(var submitted) = try #require(try await argo.workflow()) else { return }
            submitted["status"] = nil
            try ArgoManifests.save(Data(JSONValue.object(submitted).jsonText.utf8), name: "submitted-pytorch")
            let job = try await Self.createJob(of: argo)
            let pods = try await Self.operate(job, client: client, namespace: namespace, host: host)
            #expect(pods.count == 2 && pods[0].hasSuffix("-master-0") && pods[1].hasSuffix("-worker-0"), "\(pods)")
            let base: Int64 = 1_796_100_000_000
            try PodLogTests.write("master up", at: base + 100, pod: pods[0], container: "pytorch", namespace: namespace, root: logs)
            try PodLogTests.write("worker up", at: base + 200, pod: pods[1], container: "pytorch", namespace: namespace, root: logs)
            try await argo.report("Running", Self.step(argo, "1", phase: "Running"))
            _ = try await api.waitForRun(run, project: project, token: token) { RunJSON.attempts($0, "train").count == 1 }
            let attempt = "/api/v1/projects/\(project)/runs/\(run)/tasks/train/attempts/1"
            let detail = try await api.call("GET", attempt, token: token)
            let process = detail.json["process"] as? [String: Any]
            let shown = (process?["pods"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            #expect(shown == pods, "\(detail.text)")
            #expect((process?["replicas"] as? [[String: Any]])?.count == 2, "\(detail.text)")
            let path = "/api/v1/projects/\(project)/runs/\(run)/tasks/train/logs"
            let read = try await api.call("GET", path, token: token)
            let firstLines = [
                "\(logTimestamp(milliseconds: base + 100)) [replica-0] master up",
                "\(logTimestamp(milliseconds: base + 200)) [replica-1] worker up",
            ]
            #expect(read.status == 200 && read.text.split(separator: "\n").map(String.init) == firstLines, "\(read.text)")

            // 2. A replica fails: the operator fails the job, the step's failure condition holds, the attempt fails.
            _ = try await client.patch(
                .pods, namespace: namespace, name: pods[1], merge: .object(["status": .object(["phase": .string("Failed")])]),
                subresource: "status")
            try await Self.conclude(
                job, "Failed", message: "1 Worker replica(s) failed.", client: client, namespace: namespace)
            let because = #"failed with condition status.conditions.#(type=="Failed").status == True"#
            try await argo.report("Failed", message: "child failed", Self.step(argo, "1", phase: "Failed", message: because))
            let failed = try await api.waitForRun(run, project: project, token: token)
            #expect(failed["state"] as? String == "failed", "\(failed)")
            #expect(RunJSON.attempts(failed, "train").first?["reason"] as? String == because, "\(failed)")
            let kept = data.appendingPathComponent("pod-logs").appendingPathComponent("\(argo.name)-1")
            try await Waiting.forFile(kept.appendingPathComponent("complete").path, "the failed attempt's log to be kept")

            // 3. Resume: the failed job and its pods go, the step runs again and creates a new one.
            let resumed = try await api.call("POST", "/api/v1/projects/\(project)/runs/\(run)/resume", token: token)
            #expect(resumed.status == 200 || resumed.status == 202, "\(resumed.text)")
            _ = try await argo.waitUntil("argo retry") { $0["status"]?["phase"] == .string("Running") }
            let selector = "trellis/run=\(run)"
            #expect(try await client.list(.jobs(of: Self.pytorch), namespace: namespace, labelSelector: selector).items.isEmpty)
            #expect(try await Self.livePods(selector, client: client, namespace: namespace).isEmpty)
            let second = try await Self.createJob(of: argo)
            #expect(second["metadata"]?["name"] != job["metadata"]?["name"])
            let again = try await Self.operate(second, client: client, namespace: namespace, host: host)
            for (rank, pod) in again.enumerated() {
                try PodLogTests.write(
                    "replica \(rank) again", at: base + 300, pod: pod, container: "pytorch", namespace: namespace, root: logs)
            }
            try await argo.report("Running", Self.step(argo, "2", phase: "Running"))
            _ = try await api.waitForRun(run, project: project, token: token) { RunJSON.attempts($0, "train").count == 2 }
            try await Self.conclude(second, "Succeeded", message: "done", client: client, namespace: namespace)
            try await argo.report("Succeeded", Self.step(argo, "2", phase: "Succeeded"))
            let succeeded = try await api.waitForRun(run, project: project, token: token) { $0["state"] as? String == "succeeded" }
            #expect(RunJSON.attempts(succeeded, "train").map { $0["state"] as? String } == ["failed", "succeeded"], "\(succeeded)")
            let secondPods = try await api.call(
                "GET", "/api/v1/projects/\(project)/runs/\(run)/tasks/train/attempts/2", token: token)
            let secondNames = ((secondPods.json["process"] as? [String: Any])?["pods"] as? [[String: Any]] ?? []).compactMap {
                $0["name"] as? String
            }
            #expect(secondNames == again, "\(secondPods.text)")
            // The first attempt's log reads as it was, its pods gone.
            let old = try await api.call("GET", path + "?attempt=1", token: token)
            #expect(old.status == 200 && old.text.split(separator: "\n").map(String.init) == firstLines, "\(old.text)")

            // 4. Cancel: the Workflow shuts down, and the running job is deleted with its pods, its log kept.
            let third = try await api.startRun("ddp", project: project, token: token)
            let argo3 = try await ArgoController.waitFor(run: third, client: client, namespace: namespace)
            let job3 = try await Self.createJob(of: argo3)
            let pods3 = try await Self.operate(job3, client: client, namespace: namespace, host: host)
            try PodLogTests.write(
                "cut short", at: base + 400, pod: pods3[0], container: "pytorch", namespace: namespace, root: logs)
            try PodLogTests.write("cut too", at: base + 500, pod: pods3[1], container: "pytorch", namespace: namespace, root: logs)
            try await argo3.report("Running", Self.step(argo3, "1", phase: "Running"))
            _ = try await api.waitForRun(third, project: project, token: token) { RunJSON.attempts($0, "train").count == 1 }
            let cancel = try await api.call("POST", "/api/v1/projects/\(project)/runs/\(third)/cancel", token: token)
            #expect(cancel.status == 200 || cancel.status == 202, "\(cancel.text)")
            _ = try await argo3.waitUntil("shutdown") { $0["spec"]?["shutdown"] == .string("Stop") }
            try await Waiting.until("the cancelled run's job to be deleted") {
                try await client.list(.jobs(of: Self.pytorch), namespace: namespace, labelSelector: "trellis/run=\(third)").items
                    .isEmpty
            }
            #expect(try await Self.livePods("trellis/run=\(third)", client: client, namespace: namespace).isEmpty)
            try await argo3.report(
                "Failed", message: "Stopped with strategy 'Stop'",
                Self.step(argo3, "1", phase: "Failed", message: "Stopped with strategy 'Stop'"))
            let cancelled = try await api.waitForRun(third, project: project, token: token)
            #expect(cancelled["state"] as? String == "cancelled", "\(cancelled)")
            let cut = try await api.call("GET", "/api/v1/projects/\(project)/runs/\(third)/tasks/train/logs", token: token)
            #expect(
                cut.text
                    == "\(logTimestamp(milliseconds: base + 400)) [replica-0] cut short\n"
                    + "\(logTimestamp(milliseconds: base + 500)) [replica-1] cut too\n", "\(cut.text)")
        }
    }

    /// A `ray` task: KubeRay's RayJob, whose head, worker and submitter pods are the attempt's, in that order; the
    /// driver's output (the submitter's log) is in the attempt's log; the job's `jobStatus` ends it.
    @Test func aRayTaskRunsAsARayJobWithItsHeadWorkerAndSubmitter() async throws {
        try await LabProject.with("rayjob") { lab in
            let (api, client, host, token, namespace, project) = (lab.api, lab.client, lab.node, lab.token, lab.namespace, lab.project)
            let logs = lab.logs
            try await api.applyPipeline(
                "cluster", project: project, token: token,
                tasks: [["name": "train", "template": "ray", "replicas": 2, "args": ["script": "print('driven')"]]])
            let run = try await api.startRun("cluster", project: project, token: token)
            let argo = try await ArgoController.waitFor(run: run, client: client, namespace: namespace)
            let job = try await Self.createJob(of: argo, framework: .ray)
            let pods = try await Self.operate(job, client: client, namespace: namespace, host: host)
            #expect(pods.map { $0.split(separator: "-").dropLast().last.map(String.init) } == ["head", "worker", "submitter"])
            let base: Int64 = 1_796_200_000_000
            for (rank, (pod, text)) in zip(pods, ["head up", "worker joined", "driven"]).enumerated() {
                try PodLogTests.write(
                    text, at: base + Int64(rank) * 100, pod: pod, container: "ray", namespace: namespace, root: logs)
            }
            try await argo.report("Running", Self.step(argo, "1", phase: "Running"))
            _ = try await api.waitForRun(run, project: project, token: token) { RunJSON.attempts($0, "train").count == 1 }
            let detail = try await api.call("GET", "/api/v1/projects/\(project)/runs/\(run)/tasks/train/attempts/1", token: token)
            let shown = ((detail.json["process"] as? [String: Any])?["pods"] as? [[String: Any]] ?? []).compactMap {
                $0["name"] as? String
            }
            #expect(shown == pods, "\(detail.text)")
            let log = try await api.call("GET", "/api/v1/projects/\(project)/runs/\(run)/tasks/train/logs", token: token)
            #expect(log.text.contains("[replica-2] driven") && log.text.contains("[replica-0] head up"), "\(log.text)")
            let name = try #require(job["metadata"]?["name"]?.string)
            _ = try await client.patch(
                .jobs(of: .ray), namespace: namespace, name: name,
                merge: .object(["status": .object(["jobStatus": .string("SUCCEEDED"), "jobDeploymentStatus": .string("Complete")])])
            )
            try await argo.report("Succeeded", Self.step(argo, "1", phase: "Succeeded"))
            let ended = try await api.waitForRun(run, project: project, token: token)
            #expect(ended["state"] as? String == "succeeded", "\(ended)")
        }
    }
}
