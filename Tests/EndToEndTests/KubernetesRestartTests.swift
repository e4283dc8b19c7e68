import AsyncHTTPClient
import ClusterGateway
import Foundation
import Testing
import TrellisCore
import TrellisTestSupport

/// `kill -9` of `trellis serve` with a run in flight on a Kubernetes cluster (the real kube-apiserver of
/// scripts/with-kube.sh; the test plays Argo's controller): the restarted server creates no second Workflow, watches
/// the namespace again and follows the run to its end.
@Suite(.aloneAmongDeployments) struct KubernetesRestartTests {
    static let adminPassword = "kube-admin-password"

    @Test func aRestartedServerFollowsTheSameWorkflow() async throws {
        let kubernetes = try TestKubernetes.fromEnvironment()
        try await KubernetesClient.with(kubernetes.cluster()) { client in
            try await Self.scenario(client: client, kubernetes: kubernetes)
        }
    }

    /// `trellis cluster add` from a kubeconfig (and one with a wrong token, which fails its health check), list,
    /// health and remove.
    static func registerWithTheCLI(dataDir: URL, base: String, admin: String, kubernetes: TestKubernetes) throws {
        func kubeconfig(_ token: String) -> String {
            """
            apiVersion: v1
            kind: Config
            clusters: [{name: c, cluster: {server: "\(kubernetes.server)", certificate-authority-data: \(Data(kubernetes.ca.utf8).base64EncodedString())}}]
            users: [{name: u, user: {token: \(token)}}]
            contexts: [{name: x, context: {cluster: c, user: u, namespace: trellis}}]
            current-context: x
            """
        }
        let file = dataDir.appendingPathComponent("kubeconfig")
        let cli = Processes.binDirectory.appendingPathComponent("trellis")
        let environment = ["TRELLIS_SERVER": base, "TRELLIS_HOME": dataDir.appendingPathComponent("cli").path, "TRELLIS_TOKEN": admin]
        for (name, secret) in [("lab", kubernetes.token), ("wrong", "not-the-token")] {
            try kubeconfig(secret).write(to: file, atomically: true, encoding: .utf8)
            let added = try Processes.run(cli, ["cluster", "add", name, "--kubeconfig", file.path], environment: environment)
            #expect(added.status == 0 && added.output.contains("cluster \(name) registered"), "\(added.output)")
        }
        let listed = try Processes.run(cli, ["cluster", "list"], environment: environment)
        #expect(listed.output.contains("lab  kubernetes  \(kubernetes.server)  namespace trellis"), "\(listed.output)")
        let healthy = try Processes.run(cli, ["cluster", "health", "lab"], environment: environment)
        #expect(healthy.status == 0 && healthy.output.hasPrefix("lab: ok: Kubernetes v1."), "\(healthy.output)")
        let failing = try Processes.run(cli, ["cluster", "health", "wrong"], environment: environment)
        #expect(failing.status != 0 && failing.output.contains("wrong: failing:") && failing.output.contains("401"), "\(failing.output)")
        #expect(try Processes.run(cli, ["cluster", "remove", "wrong"], environment: environment).status == 0)
        #expect(!(try Processes.run(cli, ["cluster", "list"], environment: environment).output.contains("wrong")))
    }

    static func scenario(client: KubernetesClient, kubernetes: TestKubernetes) async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-kube-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dataDir) }
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
        let port = try Processes.freePorts(1)
        let api = HTTPTransport(baseURL: "http://127.0.0.1:\(port)", client: HTTPClient.shared)
        let environment = ["TRELLIS_ADMIN_PASSWORD": Self.adminPassword]
        let first = try await Processes.serve(dataDir: dataDir, port: port, log: "first.log", environment: environment)
        defer { if first.isRunning { first.terminate() } }
        let admin = try await api.login("admin", Self.adminPassword)
        try Self.registerWithTheCLI(dataDir: dataDir, base: api.baseURL, admin: admin, kubernetes: kubernetes)
        let project = "restart-\(UUID().uuidString.prefix(6).lowercased())"
        #expect(try await api.call("POST", "/api/v1/projects", token: admin, json: ["name": project]).status == 201)
        let granted = try Processes.run(
            Processes.binDirectory.appendingPathComponent("trellis"),
            ["cluster", "policy", "lab", "--grant", project, "--gpu-label", "example.com/gpu"],
            environment: [
                "TRELLIS_SERVER": api.baseURL, "TRELLIS_HOME": dataDir.appendingPathComponent("cli").path, "TRELLIS_TOKEN": admin,
            ])
        #expect(
            granted.status == 0 && granted.output.contains(project) && granted.output.contains("restricted")
                && granted.output.contains("example.com"), "\(granted.output)")
        let bound = try await api.call("PATCH", "/api/v1/projects/\(project)", token: admin, json: ["settings": ["cluster": "lab"]])
        #expect(bound.status == 200, "\(bound.text)")
        try await api.applyPipeline(
            "flow", project: project, token: admin, tasks: [["name": "only", "template": "shell", "args": ["command": "echo hi"]]])
        let id = try await api.startRun("flow", project: project, token: admin)
        let namespace = ArgoWorkflow.namespace(ofProject: project)
        let argo = try await ArgoController.waitFor(run: id, client: client, namespace: namespace)
        let created = try #require(try await argo.workflow())

        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        // While it is down, the pod runs and succeeds.
        try await argo.report("Running", [argo.node("1", "only", phase: "Succeeded", exitCode: "0")])

        let second = try await Processes.serve(dataDir: dataDir, port: port, log: "second.log", environment: environment)
        defer { if second.isRunning { second.terminate() } }
        _ = try await api.waitForRun(id, project: project, token: admin) { RunJSON.state($0, "only") == "succeeded" }
        // Then the Workflow ends, and the restarted server follows it there.
        try await argo.report("Succeeded", [])
        let run = try await api.waitForRun(id, project: project, token: admin)
        #expect(run["state"] as? String == "succeeded", "\(run)")
        #expect(RunJSON.attempts(run, "only").count == 1)
        let listed = try await client.list(.workflows, namespace: namespace, labelSelector: "trellis/run=\(id)")
        #expect(listed.items.count == 1)
        #expect(listed.items.first?["metadata"]?["uid"] == created["metadata"]?["uid"])
        try await Processes.stop(second)
    }
}
