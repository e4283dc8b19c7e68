import ClusterGateway
import Foundation
import TrellisCore

/// The kube-apiserver of scripts/with-kube.sh, as its variables describe it.
public struct TestKubernetes: Sendable {
    public let server: String
    /// A token of the system:masters group.
    public let token: String
    /// The API server's certificate (PEM), and its file (the key is beside it).
    public let ca: String
    public let caFile: String

    public static func fromEnvironment() throws -> TestKubernetes {
        let environment = ProcessInfo.processInfo.environment
        guard let server = environment["TRELLIS_TEST_KUBE_URL"], let token = environment["TRELLIS_TEST_KUBE_TOKEN"],
            let caFile = environment["TRELLIS_TEST_KUBE_CA"]
        else {
            throw TransportError("TRELLIS_TEST_KUBE_URL is not set: run the tests with `make test`, which starts a private kube-apiserver")
        }
        return TestKubernetes(server: server, token: token, ca: try String(contentsOfFile: caFile, encoding: .utf8), caFile: caFile)
    }

    /// The cluster with the token (another token when given), trusting the API server's certificate unless told not to.
    public func cluster(token other: String? = nil, trusted: Bool = true) -> KubernetesCluster {
        KubernetesCluster(server: server, caPEM: trusted ? ca : nil, credential: .token(other ?? token))
    }

    /// Registers this API server on the platform as the cluster `name` (with its token), failing loudly when refused.
    public func register(as name: String, on api: some APITransport, admin: String?) async throws {
        let registered = try await api.call(
            "POST", "/api/v1/clusters", token: admin, json: ["name": name, "server": server, "ca": ca, "token": token])
        guard registered.status == 201 else { throw TransportError("register cluster \(name): \(registered.text)") }
    }

    /// A client certificate and key (PEM) of the system:masters group, signed by the API server's client CA.
    public func clientCertificate() throws -> (certificate: String, key: String) {
        let environment = ProcessInfo.processInfo.environment
        guard let certificate = environment["TRELLIS_TEST_KUBE_CLIENT_CERT"], let key = environment["TRELLIS_TEST_KUBE_CLIENT_KEY"] else {
            throw TransportError("TRELLIS_TEST_KUBE_CLIENT_CERT is not set: run the tests with `make test`")
        }
        return (try String(contentsOfFile: certificate, encoding: .utf8), try String(contentsOfFile: key, encoding: .utf8))
    }
}

/// Argo's controller, played by a test, for one Workflow: it writes the status, pods and events Argo and the kubelet
/// would, through the API server.
public struct ArgoController: Sendable {
    public let client: KubernetesClient
    public let namespace: String
    /// The Workflow's name.
    public let name: String

    public init(client: KubernetesClient, namespace: String, name: String) {
        self.client = client
        self.namespace = namespace
        self.name = name
    }

    /// Waits for Trellis to create the Workflow.
    public static func waitFor(run: String, client: KubernetesClient, namespace: String) async throws -> ArgoController {
        let controller = ArgoController(client: client, namespace: namespace, name: ArgoWorkflow.name(ofRun: run))
        _ = try await controller.waitUntil("the Workflow exists") { _ in true }
        return controller
    }

    public func workflow() async throws -> JSONValue? {
        try await client.get(.workflows, namespace: namespace, name: name)
    }

    /// Polls the Workflow until `done` holds.
    public func waitUntil(_ what: String, _ done: (JSONValue) -> Bool) async throws -> JSONValue {
        for _ in 0..<600 {
            if let workflow = try await workflow(), done(workflow) { return workflow }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TransportError("\(name): \(what) did not happen within 30 s: \(try await workflow()?.jsonText ?? "no Workflow")")
    }

    /// Writes the status as the controller does (on the object: the CRD has no status subresource).
    public func report(_ phase: String, message: String? = nil, _ nodes: [(String, JSONValue)]) async throws {
        _ = try await client.patch(
            .workflows, namespace: namespace, name: name,
            merge: .object(["status": ArgoFixture.status(phase: phase, message: message, nodes)]))
    }

    /// A pod of a node, labelled and annotated as Argo's are.
    /// On `host` (a Node's name) when given: the API server then reads its log from that node's kubelet.
    public func pod(_ node: String, on host: String? = nil) async throws {
        var spec: [String: JSONValue] = ["containers": .array([.object(["name": .string("main"), "image": .string("busybox:1.36")])])]
        if let host { spec["nodeName"] = .string(host) }
        let pod: JSONValue = .object([
            "metadata": .object([
                "name": .string("pod-\(node)"),
                "labels": .object(["workflows.argoproj.io/workflow": .string(name)]),
                "annotations": .object(["workflows.argoproj.io/node-id": .string(node)]),
            ]),
            "spec": .object(spec),
        ])
        _ = try await client.create(.pods, namespace: namespace, pod)
    }

    /// The scheduler's word on a pod it cannot place: the condition, the container waiting, and an event.
    public func unschedulable(_ node: String) async throws {
        let reason = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
        _ = try await client.patch(
            .pods, namespace: namespace, name: "pod-\(node)",
            merge: .object([
                "status": .object([
                    "phase": .string("Pending"),
                    "conditions": .array([
                        .object([
                            "type": .string("PodScheduled"), "status": .string("False"), "reason": .string("Unschedulable"),
                            "message": .string(reason),
                        ])
                    ]),
                    "containerStatuses": .array([
                        .object([
                            "name": .string("main"), "image": .string("busybox:1.36"), "imageID": .string(""), "ready": .bool(false),
                            "restartCount": .int(0), "state": .object(["waiting": .object(["reason": .string("ContainerCreating")])]),
                        ])
                    ]),
                ])
            ]), subresource: "status")
        let event: JSONValue = .object([
            "metadata": .object(["name": .string("pod-\(node).1")]),
            "involvedObject": .object(["kind": .string("Pod"), "name": .string("pod-\(node)"), "namespace": .string(namespace)]),
            "type": .string("Warning"), "reason": .string("FailedScheduling"), "message": .string(reason), "count": .int(3),
            "lastTimestamp": .string("2026-11-29T10:00:01Z"),
        ])
        _ = try await client.create(.events, namespace: namespace, event)
    }

    public func podExists(_ node: String) async throws -> Bool {
        try await client.get(.pods, namespace: namespace, name: "pod-\(node)") != nil
    }

    /// A pod node of a task (retry `n` when given), with the DAG root listing the tasks' nodes.
    public func node(_ id: String, _ task: String, retry: Int? = nil, phase: String, exitCode: String? = nil, message: String? = nil) -> (
        String, JSONValue
    ) {
        ArgoFixture.node(
            "\(name)-\(id)", "\(name).\(task)\(retry.map { "(\($0))" } ?? "")", type: "Pod", phase: phase, exitCode: exitCode,
            message: message, finished: ["Succeeded", "Failed", "Error"].contains(phase) ? "2026-11-29T10:00:09Z" : nil)
    }

    /// The pod node of replica `replica` of a task (`withSequence`).
    public func replicaNode(_ id: String, _ task: String, replica: Int, phase: String, exitCode: String? = nil) -> (String, JSONValue) {
        ArgoFixture.node(
            "\(name)-\(id)", "\(name).\(task)(\(replica):\(replica))", type: "Pod", phase: phase, exitCode: exitCode,
            finished: ["Succeeded", "Failed", "Error"].contains(phase) ? "2026-11-29T10:00:09Z" : nil)
    }

    public func retryNode(_ id: String, _ task: String, phase: String, children: [String]) -> (String, JSONValue) {
        ArgoFixture.node("\(name)-\(id)", "\(name).\(task)", type: "Retry", phase: phase, children: children.map { "\(name)-\($0)" })
    }

    public func root(_ phase: String) -> (String, JSONValue) {
        ArgoFixture.node(name, name, type: "DAG", phase: phase)
    }
}
