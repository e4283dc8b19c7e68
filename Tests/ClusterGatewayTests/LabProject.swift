import Foundation
import Testing
import TrellisCore
import TrellisTestSupport

@testable import ClusterGateway

/// A project of an embedded Trellis bound to the test API server's cluster `lab` (registered, granted to the project),
/// with scripts/kubelet-logs.py serving pods' logs as a Node's kubelet (``PodLogTests/withKubelet(client:root:_:)``):
/// what the Kubernetes tests that follow a run back through its pods start from. Its data directory and the kubelet's
/// log folder are removed afterwards.
struct LabProject: Sendable {
    let api: TestClientTransport
    let client: KubernetesClient
    let project: String
    /// The Node whose kubelet serves the logs (a pod on it has a log).
    let node: String
    /// The project owner's.
    let token: String
    let namespace: String
    /// Trellis's data directory (where the cluster gateway keeps pods' logs).
    let data: URL
    /// The kubelet's: `<namespace>/<pod>/<container>.log`.
    let logs: URL

    static func with(_ project: String, _ body: @escaping @Sendable (LabProject) async throws -> Void) async throws {
        let kubernetes = try TestKubernetes.fromEnvironment()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-data-\(UUID().uuidString)")
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-kubelet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        defer {
            try? FileManager.default.removeItem(at: data)
            try? FileManager.default.removeItem(at: logs)
        }
        try await KubernetesClient.with(kubernetes.cluster()) { client in
            try await PodLogTests.withKubelet(client: client, root: logs) { node in
                try await EmbeddedHarness.with(.sqlite, flags: ["data.dir": data.path]) { api, _ in
                    let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
                    try await kubernetes.register(as: "lab", on: api, admin: admin)
                    let token = try #require(try await api.team(project: project, owner: "olga", members: [], admin: admin)["olga"])
                    let granted = try await api.call("PUT", "/api/v1/clusters/lab/policy", token: admin, json: ["projects": [project]])
                    #expect(granted.status == 200, "\(granted.text)")
                    let bound = try await api.call(
                        "PATCH", "/api/v1/projects/\(project)", token: token, json: ["settings": ["cluster": "lab"]])
                    #expect(bound.status == 200, "\(bound.text)")
                    try await body(
                        LabProject(
                            api: api, client: client, project: project, node: node, token: token,
                            namespace: ArgoWorkflow.namespace(ofProject: project),
                            data: data, logs: logs))
                }
            }
        }
    }
}
