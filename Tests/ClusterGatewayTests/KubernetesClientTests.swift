import Foundation
import Testing
import TrellisCore

@testable import ClusterGateway

/// The Kubernetes client against a real kube-apiserver with Argo's CRDs (scripts/with-kube.sh, started by `make test`).
@Suite struct KubernetesClientTests {
    struct MissingCluster: Error, CustomStringConvertible {
        var description: String {
            "TRELLIS_TEST_KUBE_URL is not set: run the tests with `make test`, which starts a private kube-apiserver"
        }
    }

    static func cluster(token: String? = nil, trusted: Bool = true) throws -> KubernetesCluster {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["TRELLIS_TEST_KUBE_URL"], let secret = environment["TRELLIS_TEST_KUBE_TOKEN"],
            let ca = environment["TRELLIS_TEST_KUBE_CA"]
        else { throw MissingCluster() }
        return KubernetesCluster(
            server: url, caPEM: trusted ? try String(contentsOfFile: ca, encoding: .utf8) : nil, credential: .token(token ?? secret))
    }

    /// The token the test API server accepts.
    static func token() throws -> String {
        guard let token = ProcessInfo.processInfo.environment["TRELLIS_TEST_KUBE_TOKEN"] else { throw MissingCluster() }
        return token
    }

    static func workflow(run: String, namespace: String) throws -> JSONValue {
        let task = RunPlan.Task(
            name: "hello", id: "hello", template: "shell@1.0.0", dependsOn: [], command: ["sh", "-c", "echo hi"], environment: [:],
            image: "busybox:1.36", workingDirectory: nil, replicas: 1, timeoutMilliseconds: nil, retry: .none, skip: false)
        return try ArgoWorkflow.manifest(
            RunPlan(pipeline: "flow", version: 1, tasks: [task]),
            run: ArgoWorkflow.Run(id: run, project: "ml", runner: "ada", executionDate: 0, namespace: namespace))
    }

    static func field(_ value: JSONValue?, _ path: String...) -> JSONValue? {
        var current = value
        for key in path {
            guard case .object(let object)? = current else { return nil }
            current = object[key]
        }
        return current
    }

    @Test func workflowsAreCreatedOnceListedWatchedPatchedAndDeleted() async throws {
        let namespace = "trellis-\(UUID().uuidString.prefix(8).lowercased())"
        try await KubernetesClient.with(try Self.cluster()) { client in
            try await client.ensureNamespace(namespace)
            try await client.ensureNamespace(namespace)  // again: no error
            let run = UUID().uuidString.lowercased()
            let name = ArgoWorkflow.name(ofRun: run)
            let created = try await client.create(.workflows, namespace: namespace, try Self.workflow(run: run, namespace: namespace))
            #expect(Self.field(created, "metadata", "name") == .string(name))
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
            let modified = try await seen.value
            #expect(Self.field(modified?.object, "status", "phase") == .string("Running"))

            // Argo's way to stop a workflow.
            _ = try await client.patch(
                .workflows, namespace: namespace, name: name, merge: .object(["spec": .object(["shutdown": .string("Stop")])]))
            let stopped = try await client.get(.workflows, namespace: namespace, name: name)
            #expect(Self.field(stopped, "spec", "shutdown") == .string("Stop"))

            #expect(try await client.delete(.workflows, namespace: namespace, name: name))
            #expect(try await client.get(.workflows, namespace: namespace, name: name) == nil)
            #expect(try await client.delete(.workflows, namespace: namespace, name: name) == false)
            _ = try await client.delete(.namespaces, namespace: nil, name: namespace)
        }
    }

    @Test func aWrongTokenAndAnUntrustedCertificateAreRefused() async throws {
        let wrong = try KubernetesClient(cluster: try Self.cluster(token: "not-the-token"))
        do {
            _ = try await wrong.list(.workflows, namespace: "default")
            Issue.record("a wrong token was let in")
        } catch let error as KubernetesError {
            #expect(error.status == 401, "\(error)")
        }
        try await wrong.shutdown()
        // The API server's certificate is self-signed: the system's CAs do not know it.
        let untrusting = try KubernetesClient(cluster: try Self.cluster(trusted: false))
        await #expect(throws: (any Error).self) { _ = try await untrusting.list(.workflows, namespace: "default") }
        try await untrusting.shutdown()
    }

    /// The test API server's client certificate and key (system:masters), as PEM.
    static func clientCertificate() throws -> (certificate: String, key: String) {
        let environment = ProcessInfo.processInfo.environment
        guard let certificate = environment["TRELLIS_TEST_KUBE_CLIENT_CERT"], let key = environment["TRELLIS_TEST_KUBE_CLIENT_KEY"] else {
            throw MissingCluster()
        }
        return (try String(contentsOfFile: certificate, encoding: .utf8), try String(contentsOfFile: key, encoding: .utf8))
    }

    @Test func aClientCertificateSignedByTheClusterCAIsAnIdentityAndAnotherIsNot() async throws {
        var cluster = try Self.cluster()
        let pair = try Self.clientCertificate()
        cluster.credential = .clientCertificate(certificatePEM: pair.certificate, keyPEM: pair.key)
        try await KubernetesClient.with(cluster) { (client: KubernetesClient) async throws in
            #expect(try await client.version().hasPrefix("v1."))
            // system:masters may read Workflows (the version alone is open to any authenticated caller).
            #expect(try await client.list(.workflows, namespace: "default").items.isEmpty)
        }
        // The API server's own serving certificate is no client identity: its CA is not the client CA.
        let serving = URL(fileURLWithPath: try #require(ProcessInfo.processInfo.environment["TRELLIS_TEST_KUBE_CA"]))
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
