import Foundation
import Testing
import TrellisCore
import TrellisShim
import TrellisTestSupport

@testable import ClusterGateway

/// A Kubernetes attempt's log, against the real kube-apiserver of scripts/with-kube.sh with scripts/kubelet-logs.py as
/// the node's kubelet (the API server reads pods' logs from the node's kubelet; the test plays Argo and the kubelet):
/// a followed log of two replicas shows what either writes while the other is silent; a read one interleaves them by
/// time; both stamped and prefixed as local logs are. Once the attempt ended its log is kept by the cluster gateway and
/// reads the same after its pods and Workflow are gone, until its run is deleted.
@Suite struct PodLogTests {
    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts")

    /// scripts/kubelet-logs.py serving `root`, and a Node whose kubelet it is; stopped and removed after `body`.
    static func withKubelet(
        client: KubernetesClient, root: URL, _ body: @Sendable (_ node: String) async throws -> Void
    ) async throws {
        let portFile = root.appendingPathComponent("port")
        let kubelet = Process()
        kubelet.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        kubelet.arguments = [Self.scripts.appendingPathComponent("kubelet-logs.py").path, root.path, portFile.path]
        try kubelet.run()
        defer {
            // SIGKILL: the test process may run with SIGTERM ignored, which its children inherit.
            kill(kubelet.processIdentifier, SIGKILL)
            kubelet.waitUntilExit()
        }
        try await Waiting.forFile(portFile.path, "the kubelet's port")
        let port = try #require(Int(try String(contentsOf: portFile, encoding: .utf8)))
        let name = "kubelet-\(UUID().uuidString.prefix(8).lowercased())"
        let nodes = KubernetesResource(group: "", version: "v1", plural: "nodes")
        let node: JSONValue = .object([
            "metadata": .object(["name": .string(name)]),
            "status": .object([
                "addresses": .array([.object(["type": .string("InternalIP"), "address": .string("127.0.0.1")])]),
                "daemonEndpoints": .object(["kubeletEndpoint": .object(["Port": .int(port)])]),
            ]),
        ])
        _ = try await client.create(nodes, namespace: nil, node)
        do {
            try await body(name)
        } catch {
            _ = try? await client.delete(nodes, namespace: nil, name: name)
            throw error
        }
        _ = try await client.delete(nodes, namespace: nil, name: name)
    }

    /// Appends a line stamped as the kubelet stamps them (RFC 3339, nanoseconds) to the pod's log.
    static func write(_ text: String, at milliseconds: Int64, pod: String, container: String = "main", namespace: String, root: URL) throws
    {
        let folder = root.appendingPathComponent(namespace).appendingPathComponent(pod)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let log = folder.appendingPathComponent("\(container).log")
        if !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
        let stamp = String(logTimestamp(milliseconds: milliseconds).dropLast()) + "456789Z"
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("\(stamp) \(text)\n".utf8))
    }

    static func finish(pod: String, namespace: String, root: URL) throws {
        try Data().write(to: root.appendingPathComponent(namespace).appendingPathComponent(pod).appendingPathComponent("main.done"))
    }

    /// The log lines of a followed log's events (the `end` event aside).
    static func logLines(ofEvents text: String) -> [String] {
        text.components(separatedBy: "\n\n").filter { !$0.hasPrefix("event: end") }.flatMap { event in
            event.split(separator: "\n").filter { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }
        }
    }

    @Test func aKubernetesAttemptsLogStreamsEveryReplicaAndOutlivesItsPods() async throws {
        try await LabProject.with("podlogs") { lab in
            let (api, client, host, token, namespace, project) = (lab.api, lab.client, lab.node, lab.token, lab.namespace, lab.project)
            let (data, logs) = (lab.data, lab.logs)
            try await api.applyPipeline(
                "pair", project: project, token: token,
                tasks: [["name": "duo", "template": "distributed-shell", "args": ["command": "echo hi"], "replicas": 2]])
            let run = try await api.startRun("pair", project: project, token: token)
            let argo = try await ArgoController.waitFor(run: run, client: client, namespace: namespace)
            // The replicas' headless Service, owned by the Workflow: TRELLIS_MASTER_ADDR resolves under it.
            let serviceName = ReplicaService.name(run: run, task: "duo")
            try await Waiting.until("the replicas' Service") {
                try await client.get(.services, namespace: namespace, name: serviceName) != nil
            }
            let service = try #require(try await client.get(.services, namespace: namespace, name: serviceName))
            let workflow = try #require(try await argo.workflow())
            #expect(service["spec"]?["clusterIP"]?.string == "None", "\(service)")
            let owners = service["metadata"]?["ownerReferences"]
            #expect(
                owners
                    == .array([
                        .object([
                            "apiVersion": .string("argoproj.io/v1alpha1"), "kind": .string("Workflow"), "name": .string(argo.name),
                            "uid": workflow["metadata"]?["uid"] ?? .null,
                        ])
                    ]), "\(service)")
            func status(_ phase: String) -> [(String, JSONValue)] {
                [
                    argo.root(phase), ArgoFixture.node("\(argo.name)-g", "\(argo.name).duo", type: "TaskGroup", phase: phase),
                    argo.replicaNode("1", "duo", replica: 0, phase: phase, exitCode: phase == "Succeeded" ? "0" : nil),
                    argo.replicaNode("2", "duo", replica: 1, phase: phase, exitCode: phase == "Succeeded" ? "0" : nil),
                ]
            }
            let (first, second) = ("\(argo.name)-1", "\(argo.name)-2")
            let base: Int64 = 1_796_000_000_000
            try Self.write("zero early", at: base + 100, pod: "pod-\(first)", namespace: namespace, root: logs)
            try Self.write("one", at: base + 200, pod: "pod-\(second)", namespace: namespace, root: logs)
            for node in [first, second] { try await argo.pod(node, on: host) }
            try await argo.report("Running", status("Running"))
            _ = try await api.waitForRun(run, project: project, token: token) { RunJSON.attempts($0, "duo").count == 1 }
            let path = "/api/v1/projects/\(project)/runs/\(run)/tasks/duo/logs"

            // Read while it runs: both replicas, interleaved by time, stamped and prefixed as local logs are.
            try Self.write("zero late", at: base + 300, pod: "pod-\(first)", namespace: namespace, root: logs)
            let expected = [
                "\(logTimestamp(milliseconds: base + 100)) [replica-0] zero early",
                "\(logTimestamp(milliseconds: base + 200)) [replica-1] one",
                "\(logTimestamp(milliseconds: base + 300)) [replica-0] zero late",
            ]
            let read = try await api.call("GET", path, token: token)
            #expect(read.status == 200 && read.text.split(separator: "\n").map(String.init) == expected, "\(read.text)")

            // Followed: replica 1's log is read to its end while replica 0's is still open (read one after the
            // other, replica 1's would not be asked for before replica 0's ended).
            let followed = Task { try await api.call("GET", path + "?follow=true", token: token) }
            try Self.write("one more", at: base + 400, pod: "pod-\(second)", namespace: namespace, root: logs)
            try Self.finish(pod: "pod-\(second)", namespace: namespace, root: logs)
            try await Waiting.until("replica 1's log to be read to its end while replica 0's is open") {
                FileManager.default.fileExists(
                    atPath: logs.appendingPathComponent(namespace).appendingPathComponent("pod-\(second)").appendingPathComponent(
                        "main.served"
                    ).path)
            }
            try Self.write("zero last", at: base + 500, pod: "pod-\(first)", namespace: namespace, root: logs)
            try Self.finish(pod: "pod-\(first)", namespace: namespace, root: logs)
            let streamed = try await followed.value
            let lines = Self.logLines(ofEvents: streamed.text)
            let whole =
                expected + [
                    "\(logTimestamp(milliseconds: base + 400)) [replica-1] one more",
                    "\(logTimestamp(milliseconds: base + 500)) [replica-0] zero last",
                ]
            #expect(lines.count == 5 && Set(lines) == Set(whole), "\(streamed.text)")

            // Ended: the gateway keeps the log; the pods and the Workflow go, and it reads the same.
            try await argo.report("Succeeded", status("Succeeded"))
            #expect(try await api.waitForRun(run, project: project, token: token)["state"] as? String == "succeeded")
            let kept = data.appendingPathComponent("pod-logs").appendingPathComponent(first)
            try await Waiting.forFile(kept.appendingPathComponent("complete").path, "the attempt's log to be kept")
            for node in [first, second] { try await client.delete(.pods, namespace: namespace, name: "pod-\(node)") }
            try await client.delete(.workflows, namespace: namespace, name: argo.name)
            let after = try await api.call("GET", path, token: token)
            #expect(after.status == 200 && after.text.split(separator: "\n").map(String.init) == whole.sorted(), "\(after.text)")
            let own = try await api.call("GET", path + "?replica=1", token: token)
            #expect(
                own.text
                    == "\(logTimestamp(milliseconds: base + 200)) one\n\(logTimestamp(milliseconds: base + 400)) one more\n",
                "\(own.text)")
            let refollowed = try await api.call("GET", path + "?follow=true", token: token)
            #expect(Self.logLines(ofEvents: refollowed.text) == whole.sorted(), "\(refollowed.text)")

            // The run deleted: its kept log goes with its execution.
            let discarded = try await api.call(
                "DELETE", "/api/v1/internal/executions/\(first)", token: try await EmbeddedHarness.serviceToken())
            #expect(discarded.status == 204, "\(discarded.text)")
            #expect(!FileManager.default.fileExists(atPath: kept.path))
            #expect(try await api.call("GET", path, token: token).status == 404)
        }
    }

    /// A secret env value a pod prints is written `***` in its log as a local task's is: read and followed while the
    /// pod runs, and in the copy the cluster gateway keeps (on disk too); the plain value beside it is left.
    @Test func aSecretValueAPodPrintsIsMaskedInItsLogLiveAndKept() async throws {
        let secret = "kube-secret-\(UUID().uuidString.prefix(8))"
        try await LabProject.with("podsecrets") { lab in
            let (api, client, host, token, namespace, logs) = (lab.api, lab.client, lab.node, lab.token, lab.namespace, lab.logs)
            let project = lab.project
            let secretEnv = try await api.call(
                "PATCH", "/api/v1/projects/\(project)", token: token,
                json: ["settings": ["cluster": "lab", "env": ["TOKEN": ["secret": true, "value": secret], "PLAIN": "plain-value"]]])
            #expect(secretEnv.status == 200, "\(secretEnv.text)")
            try await api.applyPipeline(
                "leaky", project: project, token: token,
                tasks: [["name": "print", "template": "shell", "args": ["command": "echo $TOKEN $PLAIN"]]])
            let run = try await api.startRun("leaky", project: project, token: token)
            let argo = try await ArgoController.waitFor(run: run, client: client, namespace: namespace)
            let node = "\(argo.name)-1"
            let base: Int64 = 1_796_000_000_000
            try Self.write("token \(secret) and plain-value", at: base + 100, pod: "pod-\(node)", namespace: namespace, root: logs)
            try await argo.pod(node, on: host)
            try await argo.report("Running", [argo.root("Running"), argo.node("1", "print", phase: "Running")])
            _ = try await api.waitForRun(run, project: project, token: token) { RunJSON.attempts($0, "print").count == 1 }
            let path = "/api/v1/projects/\(project)/runs/\(run)/tasks/print/logs"
            let expected = "\(logTimestamp(milliseconds: base + 100)) token *** and plain-value"

            let read = try await api.call("GET", path, token: token)
            #expect(read.status == 200 && read.text == expected + "\n", "\(read.text)")
            let followed = Task { try await api.call("GET", path + "?follow=true", token: token) }
            try Self.write("again \(secret)", at: base + 200, pod: "pod-\(node)", namespace: namespace, root: logs)
            try Self.finish(pod: "pod-\(node)", namespace: namespace, root: logs)
            let streamed = try await followed.value
            let again = "\(logTimestamp(milliseconds: base + 200)) again ***"
            #expect(Self.logLines(ofEvents: streamed.text) == [expected, again], "\(streamed.text)")

            try await argo.report(
                "Succeeded", [argo.root("Succeeded"), argo.node("1", "print", phase: "Succeeded", exitCode: "0")])
            #expect(try await api.waitForRun(run, project: project, token: token)["state"] as? String == "succeeded")
            let kept = lab.data.appendingPathComponent("pod-logs").appendingPathComponent(node)
            try await Waiting.forFile(kept.appendingPathComponent("complete").path, "the attempt's log to be kept")
            for file in try FileManager.default.contentsOfDirectory(atPath: kept.path) {
                let text = try String(contentsOf: kept.appendingPathComponent(file), encoding: .utf8)
                #expect(!text.contains(secret), "\(file): \(text)")
            }
            try await client.delete(.pods, namespace: namespace, name: "pod-\(node)")
            let after = try await api.call("GET", path, token: token)
            #expect(after.status == 200 && after.text == expected + "\n" + again + "\n", "\(after.text)")
        }
    }
}
