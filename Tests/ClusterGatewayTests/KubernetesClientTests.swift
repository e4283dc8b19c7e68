import Foundation
import Testing
import TrellisCore
import TrellisTestSupport

@testable import ClusterGateway

/// The Kubernetes client against a real kube-apiserver with Argo's CRDs (scripts/with-kube.sh, started by `make test`).
@Suite struct KubernetesClientTests {
    static func workflow(run: String, namespace: String) throws -> JSONValue {
        let task = RunPlan.Task(
            name: "hello", id: "hello", template: "shell@1.0.0", dependsOn: [], command: ["sh", "-c", "echo hi"], environment: [:],
            image: "busybox:1.36", workingDirectory: nil, replicas: 1, timeoutMilliseconds: nil, retry: .none, skip: false)
        return try ArgoWorkflow.manifest(
            RunPlan(pipeline: "flow", version: 1, tasks: [task]),
            run: ArgoWorkflow.Run(id: run, project: "ml", runner: "ada", executionDate: 0, namespace: namespace))
    }

    @Test func workflowsAreCreatedOnceListedWatchedPatchedAndDeleted() async throws {
        let namespace = "trellis-\(UUID().uuidString.prefix(8).lowercased())"
        try await KubernetesClient.with(try TestKubernetes.fromEnvironment().cluster()) { client in
            try await client.ensureNamespace(namespace)
            try await client.ensureNamespace(namespace)  // again: no error
            let run = UUID().uuidString.lowercased()
            let name = ArgoWorkflow.name(ofRun: run)
            let created = try await client.create(.workflows, namespace: namespace, try Self.workflow(run: run, namespace: namespace))
            #expect(created["metadata"]?["name"] == .string(name))
            // The same run again: refused, so a restarted orchestrator never makes a second Workflow.
            do {
                _ = try await client.create(.workflows, namespace: namespace, try Self.workflow(run: run, namespace: namespace))
                Issue.record("a second Workflow of the same run was created")
            } catch let error as KubernetesError {
                #expect(error.status == 409 && error.reason == "AlreadyExists", "\(error)")
            }

            let listed = try await client.list(.workflows, namespace: namespace, labelSelector: "trellis/run=\(run)")
            #expect(listed.items.count == 1)
            #expect(try await client.list(.workflows, namespace: namespace, labelSelector: "trellis/run=other").items.isEmpty)

            // A watch from the list sees the status an Argo controller writes.
            let events = client.watch(.workflows, namespace: namespace, resourceVersion: listed.resourceVersion)
            let seen = Task { () -> KubernetesWatchEvent? in
                for try await event in events where event.type == "MODIFIED" { return event }
                return nil
            }
            _ = try await client.patch(
                .workflows, namespace: namespace, name: name, merge: .object(["status": .object(["phase": .string("Running")])]))
            let modified = try await Waiting.within(.seconds(60), "the watch to report the Workflow MODIFIED") { try await seen.value }
            #expect(modified?.object["status"]?["phase"] == .string("Running"))

            // Argo's way to stop a workflow.
            _ = try await client.patch(
                .workflows, namespace: namespace, name: name, merge: .object(["spec": .object(["shutdown": .string("Stop")])]))
            let stopped = try await client.get(.workflows, namespace: namespace, name: name)
            #expect(stopped?["spec"]?["shutdown"] == .string("Stop"))

            #expect(try await client.delete(.workflows, namespace: namespace, name: name))
            #expect(try await client.get(.workflows, namespace: namespace, name: name) == nil)
            #expect(try await client.delete(.workflows, namespace: namespace, name: name) == false)
            _ = try await client.delete(.namespaces, namespace: nil, name: namespace)
        }
    }

    @Test func aWrongTokenAndAnUntrustedCertificateAreRefused() async throws {
        let wrong = try KubernetesClient(cluster: try TestKubernetes.fromEnvironment().cluster(token: "not-the-token"))
        do {
            _ = try await wrong.list(.workflows, namespace: "default")
            Issue.record("a wrong token was let in")
        } catch let error as KubernetesError {
            #expect(error.status == 401, "\(error)")
        }
        try await wrong.shutdown()
        // The API server's certificate is self-signed: the system's CAs do not know it.
        let untrusting = try KubernetesClient(cluster: try TestKubernetes.fromEnvironment().cluster(trusted: false))
        await #expect(throws: (any Error).self) { _ = try await untrusting.list(.workflows, namespace: "default") }
        try await untrusting.shutdown()
    }

    @Test func aClientCertificateSignedByTheClusterCAIsAnIdentityAndAnotherIsNot() async throws {
        let kubernetes = try TestKubernetes.fromEnvironment()
        var cluster = kubernetes.cluster()
        let pair = try kubernetes.clientCertificate()
        cluster.credential = .clientCertificate(certificatePEM: pair.certificate, keyPEM: pair.key)
        try await KubernetesClient.with(cluster) { (client: KubernetesClient) async throws in
            #expect(try await client.version().hasPrefix("v1."))
            // system:masters may read Workflows (the version alone is open to any authenticated caller).
            #expect(try await client.list(.workflows, namespace: "default").items.isEmpty)
        }
        // The API server's own serving certificate is no client identity: its CA is not the client CA.
        let serving = URL(fileURLWithPath: kubernetes.caFile)
        cluster.credential = .clientCertificate(
            certificatePEM: try String(contentsOf: serving, encoding: .utf8),
            keyPEM: try String(contentsOf: serving.deletingPathExtension().appendingPathExtension("key"), encoding: .utf8))
        let stranger = try KubernetesClient(cluster: cluster)
        do {
            _ = try await stranger.list(.workflows, namespace: "default")
            Issue.record("a certificate the client CA did not sign was let in")
        } catch let error as KubernetesError {
            #expect(error.status == 401, "\(error)")
        }
        try await stranger.shutdown()
    }
}
