import Foundation
import Testing
import TrellisCore
import TrellisTestSupport

@testable import ClusterGateway

/// Runs of a project bound to a Kubernetes cluster, end to end against the real kube-apiserver of scripts/with-kube.sh
/// with Argo's CRDs: Trellis creates the Workflow, the test plays Argo's controller (it writes the Workflow's status
/// and the pods through the API server), and Trellis follows it — retries as attempts, failure, resume as `argo retry`,
/// cancel as shutdown — while a project bound to `local` runs its tasks as processes at the same time.
@Suite struct WorkflowRunTests {
    static var tasks: [[String: Any]] {
        [
            ["name": "prepare", "template": "shell", "args": ["command": "echo prepared"]],
            ["name": "train", "template": "shell", "args": ["command": "echo trained"], "dependsOn": ["prepare"], "retry": ["limit": 1]],
            ["name": "report", "template": "shell", "args": ["command": "echo reported"], "dependsOn": ["train"]],
        ]
    }

    /// Templates asking for a privileged container, the host's root, NFS and a service account nobody allowed: anyone
    /// may register them and only an admin may publish them. Before the project is bound to the restricted cluster, a
    /// pipeline without the host path is saved (this machine allows the rest).
    static func registerElevatedTemplates(_ api: TestClientTransport, project: String, owner: String) async throws {
        for (name, mounts) in [("host-tool", ["/(hostpath):/host", "/srv/nfs(nfs):/nfs"]), ("root-tool", [])] {
            let template: [String: Any] = [
                "name": "\(name)-\(project)", "version": "1.0.0", "image": "busybox:1", "command": ["sh", "-c", "id"], "privileged": true,
                "mounts": mounts, "serviceAccount": "cluster-admin",
            ]
            let registered = try await api.call("POST", "/api/v1/projects/\(project)/templates", token: owner, json: template)
            #expect(registered.status == 201, "\(registered.text)")
            let needs = registered.json["needs"] as? [String] ?? []
            #expect(needs.first == "a privileged container" && needs.last == "service account cluster-admin", "\(registered.text)")
            let publish = try await api.call("POST", "/api/v1/templates/\(name)-\(project)/versions/1.0.0/publish", token: owner)
            #expect(publish.status == 403 && publish.text.contains("needs a platform admin"), "\(publish.text)")
        }
        try await api.applyPipeline(
            "elevated", project: project, token: owner, tasks: [["name": "root", "template": "root-tool-\(project)"]])
    }

    /// Bound to the restricted cluster: the host path is refused at save, naming each field; the pipeline saved before
    /// is refused at run.
    static func refusesWhatTheClusterDoesNotAllow(_ api: TestClientTransport, project: String, owner: String) async throws {
        let pipeline: [String: Any] = [
            "apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": ["name": "escalate"],
            "spec": ["tasks": [["name": "root", "template": "host-tool-\(project)@1.0.0"]]],
        ]
        let unsaved = try await api.call("POST", "/api/v1/projects/\(project)/pipelines", token: owner, json: pipeline)
        #expect(unsaved.status == 400, "\(unsaved.text)")
        let fields = { (answer: APIResponse) in
            ((answer.json["error"] as? [String: Any])?["fields"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
        }
        #expect(
            fields(unsaved)
                == [
                    "spec.tasks[root].privileged", "spec.tasks[root].serviceAccount", "spec.tasks[root].mounts[0]",
                    "spec.tasks[root].mounts[1]",
                ],
            "\(unsaved.text)")
        #expect(unsaved.text.contains("template host-tool-\(project)@1.0.0") && unsaved.text.contains("cluster lab"), "\(unsaved.text)")
        let refused = try await api.call("POST", "/api/v1/projects/\(project)/pipelines/elevated/runs", token: owner)
        #expect(
            refused.status == 400 && fields(refused) == ["spec.tasks[root].privileged", "spec.tasks[root].serviceAccount"],
            "\(refused.text)")
    }

    @Test(arguments: DatabaseKind.allCases)
    func runsOfAProjectBoundToAClusterAreWorkflowsTrellisFollows(_ kind: DatabaseKind) async throws {
        let kubernetes = try TestKubernetes.fromEnvironment()
        // Each database's platform its own project, so that their namespaces do not meet.
        let project = "wf-\(kind.rawValue)"
        let namespace = ArgoWorkflow.namespace(ofProject: project)
        try await KubernetesClient.with(kubernetes.cluster()) { client in
            try await Self.scenario(kind, client: client, kubernetes: kubernetes, project: project, namespace: namespace)
        }
    }

    static func scenario(
        _ kind: DatabaseKind, client: KubernetesClient, kubernetes: TestKubernetes, project: String, namespace: String
    ) async throws {
        try await EmbeddedHarness.with(kind) { api, _ in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            try await kubernetes.register(as: "lab", on: api, admin: admin)
            let token = try #require(try await api.team(project: project, owner: "olga", members: [], admin: admin)["olga"])
            _ = try await api.team(project: "home", owner: "hal", members: [], admin: admin)
            let hal = try await api.login("hal", "hal-password")

            // A cluster nobody registered is refused at save, naming the setting; one removed after the binding
            // refuses the project's runs.
            let unknown = try await api.call(
                "PATCH", "/api/v1/projects/\(project)", token: token, json: ["settings": ["cluster": "nowhere"]])
            #expect(
                unknown.status == 400 && unknown.errorMessage?.hasPrefix("settings.cluster: no cluster named \"nowhere\"") == true,
                "\(unknown.text)")
            #expect(
                try await api.call("POST", "/api/v1/clusters", token: admin, json: ["name": "gone", "kind": "local"]).status == 201)
            let bound = try await api.call("PATCH", "/api/v1/projects/\(project)", token: token, json: ["settings": ["cluster": "gone"]])
            #expect(bound.status == 200, "\(bound.text)")
            #expect(try await api.call("DELETE", "/api/v1/clusters/gone", token: admin).status == 204)
            try await api.applyPipeline("flow", project: project, token: token, tasks: Self.tasks)
            let refused = try await api.call("POST", "/api/v1/projects/\(project)/pipelines/flow/runs", token: token)
            #expect(refused.status == 409 && refused.text.contains("settings.cluster") && refused.text.contains("gone"), "\(refused.text)")
            try await Self.registerElevatedTemplates(api, project: project, owner: token)
            // A Kubernetes cluster is no project's until an admin grants it; the owner chooses among the granted.
            let ungranted = try await api.call("PATCH", "/api/v1/projects/\(project)", token: token, json: ["settings": ["cluster": "lab"]])
            #expect(ungranted.status == 400 && ungranted.text.contains("settings.cluster: cluster lab is not granted"), "\(ungranted.text)")
            let granted = try await api.call(
                "PUT", "/api/v1/clusters/lab/policy", token: admin, json: ["projects": [project], "serviceAccounts": ["pipeline-runner"]])
            #expect(granted.status == 200 && granted.json["level"] as? String == "restricted", "\(granted.text)")
            #expect(try await api.call("PUT", "/api/v1/clusters/lab/policy", token: token, json: ["projects": ["*"]]).status == 403)
            #expect(
                try await api.call("PATCH", "/api/v1/projects/\(project)", token: token, json: ["settings": ["cluster": "lab"]]).status
                    == 200)
            #expect(
                try await api.call("PATCH", "/api/v1/projects/home", token: hal, json: ["settings": ["cluster": "lab"]]).status == 400,
                "granted to one project, not to every one")
            try await Self.refusesWhatTheClusterDoesNotAllow(api, project: project, owner: token)
            // A registry login of the project's images: Workflows pull with it.
            let image = try await api.call(
                "POST", "/api/v1/projects/\(project)/images", token: token,
                json: ["name": "trainer", "reference": "registry.example.com/ml/trainer:1", "username": "robot", "password": "pull-s3cret"])
            #expect(image.status == 201, "\(image.text)")
            // A secret env entry: pods read it from the namespace's Secret, the Workflow holds no value.
            let secretEntry = try await api.call(
                "PATCH", "/api/v1/projects/\(project)", token: token,
                json: ["settings": ["cluster": "lab", "env": ["TOKEN": ["secret": true, "value": "wf-secret-value"]]]])
            #expect(secretEntry.status == 200, "\(secretEntry.text)")
            try await api.applyPipeline(
                "flow", project: "home", token: hal,
                tasks: [["name": "here", "template": "shell", "args": ["command": "echo on $(hostname) {{cluster_name}}"]]])

            // 1. Submitted in the project's namespace; a retry is the next attempt; the run succeeds with the Workflow.
            let first = try await api.startRun("flow", project: project, token: token)
            let local = try await api.startRun("flow", project: "home", token: hal)
            let started = try await api.waitForRun(first, project: project, token: token) { $0["state"] as? String != "pending" }
            #expect(started["state"] as? String == "running", "\(started)")
            let argo = try await ArgoController.waitFor(run: first, client: client, namespace: namespace)
            let submitted = try #require(try await argo.workflow())
            #expect(!submitted.jsonText.contains("wf-secret-value"))
            func items(_ value: JSONValue?) -> [JSONValue] { if case .array(let items)? = value { items } else { [] } }
            let references = items(submitted["spec"]?["templates"]).flatMap { items($0["container"]?["env"]) }
                .filter { $0["name"]?.string == "TOKEN" }
            #expect(
                !references.isEmpty
                    && references.allSatisfy { $0["valueFrom"]?["secretKeyRef"]?["name"]?.string == "trellis-env" && $0["value"] == nil },
                "\(references)")
            let stored = try #require(try await client.get(.secrets, namespace: namespace, name: "trellis-env"))
            #expect(stored["data"]?["TOKEN"]?.string == Data("wf-secret-value".utf8).base64EncodedString(), "\(stored)")
            let created = try #require(try await argo.workflow())
            // What Trellis submitted, for the schema check of `make test` (the API server adds only metadata).
            guard case .object(var submitted) = created else { throw TransportError("not an object: \(created)") }
            submitted["status"] = nil
            try ArgoManifests.save(Data(JSONValue.object(submitted).jsonText.utf8), name: "submitted-\(kind)")
            #expect(created["metadata"]?["labels"]?["trellis/run"] == .string(first))
            // Restricted: the namespace says so to the cluster's Pod Security admission, and the pods fit it.
            let labels = try await client.get(.namespaces, namespace: nil, name: namespace)?["metadata"]?["labels"]
            #expect(labels?["pod-security.kubernetes.io/enforce"] == .string("restricted"), "\(labels ?? .null)")
            #expect(created["spec"]?["securityContext"]?["runAsNonRoot"] == .bool(true))
            #expect(created["spec"]?["securityContext"]?["seccompProfile"]?["type"] == .string("RuntimeDefault"))
            guard case .array(let templates)? = created["spec"]?["templates"] else { throw TransportError("no templates: \(created)") }
            let container = templates.first { $0["name"] == .string("task-prepare") }?["container"]?["securityContext"]
            #expect(
                container?["allowPrivilegeEscalation"] == .bool(false) && container?["capabilities"]?["drop"] == .array([.string("ALL")]))
            #expect(created["metadata"]?["labels"]?["trellis/project"] == .string(project))
            #expect(RunJSON.state(started, "prepare") == "pending")
            #expect(created["spec"]?["imagePullSecrets"] == .array([.object(["name": .string("trellis-registries")])]))
            let secret = try #require(try await client.get(.secrets, namespace: namespace, name: "trellis-registries"))
            #expect(secret["type"] == .string("kubernetes.io/dockerconfigjson"))
            let config = try #require(secret["data"]?[".dockerconfigjson"]?.string.flatMap { Data(base64Encoded: $0) })
            let login = try JSONDecoder().decode(JSONValue.self, from: config)["auths"]?["registry.example.com"]
            #expect(
                login?["auth"] == .string(Data("robot:pull-s3cret".utf8).base64EncodedString()),
                "\(String(decoding: config, as: UTF8.self))")
            // Submitted again (an orchestrator restarted before it knew the first went through): nothing new.
            var manifest = submitted
            manifest["metadata"] = .object(["name": .string(argo.name), "namespace": .string(namespace)])
            let again = try await api.call(
                "POST", "/api/v1/internal/workflows", token: try await EmbeddedHarness.serviceToken(),
                json: [
                    "run": first, "project": project, "cluster": "lab",
                    "workflow": try JSONSerialization.jsonObject(with: Data(JSONValue.object(manifest).jsonText.utf8)),
                ])
            #expect(again.status == 204, "\(again.text)")

            try await argo.report(
                "Running",
                [
                    argo.root("Running"), argo.node("1", "prepare", phase: "Succeeded", exitCode: "0"),
                    argo.retryNode("2", "train", phase: "Running", children: ["3"]),
                    argo.node("3", "train", retry: 0, phase: "Failed", exitCode: "1", message: "Error (exit code 1)"),
                ])
            let retrying = try await api.waitForRun(first, project: project, token: token) { RunJSON.attempts($0, "train").count == 1 }
            #expect(RunJSON.state(retrying, "prepare") == "succeeded" && RunJSON.state(retrying, "train") == "running", "\(retrying)")
            let failedAttempt = RunJSON.attempts(retrying, "train")[0]
            #expect(failedAttempt["state"] as? String == "failed" && failedAttempt["exitCode"] as? Int == 1, "\(failedAttempt)")
            #expect(failedAttempt["reason"] as? String == "Error (exit code 1)")
            // The pod's attempt is in the platform's duration histogram.
            let metrics = try await api.call("GET", "/metrics").text
            #expect(metrics.contains(#"trellis_task_duration_seconds_count{state="failed"} 1"#), "\(metrics.prefix(3000))")

            try await argo.report(
                "Succeeded",
                [
                    argo.root("Succeeded"), argo.retryNode("2", "train", phase: "Succeeded", children: ["3", "4"]),
                    argo.node("4", "train", retry: 1, phase: "Succeeded", exitCode: "0"),
                    argo.node("5", "report", phase: "Succeeded", exitCode: "0"),
                ])
            let succeeded = try await api.waitForRun(first, project: project, token: token)
            #expect(succeeded["state"] as? String == "succeeded", "\(succeeded)")
            #expect(RunJSON.attempts(succeeded, "train").map { $0["state"] as? String } == ["failed", "succeeded"])
            #expect(RunJSON.attempts(succeeded, "report").count == 1 && RunJSON.state(succeeded, "report") == "succeeded")

            // The pods through the run API: phase, conditions, events; no log from a pod that is on no node.
            try await argo.pod("\(argo.name)-1")
            try await argo.unschedulable("\(argo.name)-1")
            let detail = try await api.call("GET", "/api/v1/projects/\(project)/runs/\(first)/tasks/prepare/attempts/1", token: token)
            let pod = try #require(((detail.json["process"] as? [String: Any])?["pods"] as? [[String: Any]])?.first, "\(detail.text)")
            #expect(pod["name"] as? String == "pod-\(argo.name)-1" && pod["phase"] as? String == "Pending", "\(pod)")
            #expect((pod["conditions"] as? [[String: Any]])?.first?["reason"] as? String == "Unschedulable", "\(pod)")
            let event = (pod["events"] as? [[String: Any]])?.first
            #expect(event?["reason"] as? String == "FailedScheduling" && event?["count"] as? Int == 3, "\(pod)")
            #expect(pod["container"] as? String == "waiting: ContainerCreating", "\(pod)")
            let noLog = try await api.call("GET", "/api/v1/projects/\(project)/runs/\(first)/tasks/prepare/logs", token: token)
            #expect(
                noLog.status == 409 && noLog.text.contains("pod-\(argo.name)-1") && noLog.text.contains("FailedScheduling"), "\(noLog.text)"
            )
            let gone = try await api.call("GET", "/api/v1/projects/\(project)/runs/\(first)/tasks/report/logs", token: token)
            #expect(gone.status == 404 && gone.text.contains("gone"), "\(gone.text)")

            // The local project ran its task as a process meanwhile.
            let home = try await api.waitForRun(local, project: "home", token: hal)
            #expect(home["state"] as? String == "succeeded", "\(home)")
            let homeLog = try await api.call("GET", "/api/v1/projects/home/runs/\(local)/tasks/here/logs", token: hal).text
            #expect(homeLog.contains("on \(ProcessInfo.processInfo.hostName)") && homeLog.contains("local"), "\(homeLog)")

            // 2. A failure; resume is argo retry on the object: failed pods and nodes go, succeeded ones stay.
            let second = try await api.startRun("flow", project: project, token: token)
            let argo2 = try await ArgoController.waitFor(run: second, client: client, namespace: namespace)
            for node in ["1", "3", "4"] { try await argo2.pod("\(argo2.name)-\(node)") }
            try await argo2.report(
                "Failed", message: "child '\(argo2.name)-2' failed",
                [
                    argo2.root("Failed"), argo2.node("1", "prepare", phase: "Succeeded", exitCode: "0"),
                    argo2.retryNode("2", "train", phase: "Failed", children: ["3", "4"]),
                    argo2.node("3", "train", retry: 0, phase: "Failed", exitCode: "2"),
                    argo2.node("4", "train", retry: 1, phase: "Error", exitCode: "137", message: "OOMKilled"),
                    ArgoFixture.node("\(argo2.name)-5", "\(argo2.name).report", type: "Skipped", phase: "Omitted"),
                ])
            let failed = try await api.waitForRun(second, project: project, token: token)
            #expect(failed["state"] as? String == "failed" && (failed["reason"] as? String)?.contains("failed") == true, "\(failed)")
            #expect(RunJSON.state(failed, "report") == "upstream_failed" && RunJSON.attempts(failed, "train").count == 2)

            let resumed = try await api.call("POST", "/api/v1/projects/\(project)/runs/\(second)/resume", token: token)
            #expect(resumed.status == 200 || resumed.status == 202, "\(resumed.text)")
            let retried = try await argo2.waitUntil("argo retry") { $0["status"]?["phase"] == .string("Running") }
            let nodes = retried["status"]?["nodes"]
            #expect(nodes?["\(argo2.name)-1"]?["phase"] == .string("Succeeded"))
            #expect(nodes?["\(argo2.name)-3"] == nil && nodes?["\(argo2.name)-4"] == nil && nodes?["\(argo2.name)-5"] == nil)
            #expect(nodes?["\(argo2.name)-2"]?["phase"] == .string("Running") && nodes?["\(argo2.name)-2"]?["children"] == .array([]))
            #expect(retried["metadata"]?["labels"]?["workflows.argoproj.io/completed"] == .string("false"))
            #expect(try await argo2.podExists("\(argo2.name)-1"))
            let failedPods = [try await argo2.podExists("\(argo2.name)-3"), try await argo2.podExists("\(argo2.name)-4")]
            #expect(failedPods == [false, false])

            try await argo2.report(
                "Succeeded",
                [
                    argo2.root("Succeeded"), argo2.retryNode("2", "train", phase: "Succeeded", children: ["6"]),
                    argo2.node("6", "train", retry: 0, phase: "Succeeded", exitCode: "0"),
                    argo2.node("7", "report", phase: "Succeeded", exitCode: "0"),
                ])
            let recovered = try await api.waitForRun(second, project: project, token: token) { $0["state"] as? String == "succeeded" }
            // The first round's two attempts are kept; the retry's pod is the third.
            #expect(RunJSON.attempts(recovered, "train").map { $0["state"] as? String } == ["failed", "failed", "succeeded"])
            #expect(RunJSON.attempts(recovered, "prepare").count == 1)

            // Re-run from a task of the succeeded run: argo retry --restart-successful of it and what follows.
            let rerun = try await api.call(
                "POST", "/api/v1/projects/\(project)/runs/\(second)/resume", token: token, json: ["task": "train"])
            #expect(rerun.status == 200 || rerun.status == 202, "\(rerun.text)")
            let restarted = try await argo2.waitUntil("the restart") { $0["status"]?["phase"] == .string("Running") }
            let kept = restarted["status"]?["nodes"]
            #expect(kept?["\(argo2.name)-1"]?["phase"] == .string("Succeeded") && kept?[argo2.name]?["phase"] == .string("Running"))
            #expect(kept?["\(argo2.name)-2"] == nil && kept?["\(argo2.name)-6"] == nil && kept?["\(argo2.name)-7"] == nil)
            try await argo2.report(
                "Succeeded",
                [
                    argo2.root("Succeeded"), argo2.retryNode("8", "train", phase: "Succeeded", children: ["9"]),
                    argo2.node("9", "train", retry: 0, phase: "Succeeded", exitCode: "0"),
                    argo2.node("10", "report", phase: "Succeeded", exitCode: "0"),
                ])
            let rerunDone = try await api.waitForRun(second, project: project, token: token) {
                $0["state"] as? String == "succeeded" && RunJSON.attempts($0, "report").count == 2
            }
            #expect(RunJSON.attempts(rerunDone, "train").map { $0["state"] as? String } == ["failed", "failed", "succeeded", "succeeded"])
            #expect(RunJSON.attempts(rerunDone, "prepare").count == 1)

            // 3. Cancel shuts the Workflow down; the controller stops it and the run ends cancelled.
            let third = try await api.startRun("flow", project: project, token: token)
            let argo3 = try await ArgoController.waitFor(run: third, client: client, namespace: namespace)
            try await argo3.report("Running", [argo3.root("Running"), argo3.node("1", "prepare", phase: "Running")])
            _ = try await api.waitForRun(third, project: project, token: token) { RunJSON.attempts($0, "prepare").count == 1 }
            let cancel = try await api.call("POST", "/api/v1/projects/\(project)/runs/\(third)/cancel", token: token)
            #expect(cancel.status == 200 || cancel.status == 202, "\(cancel.text)")
            _ = try await argo3.waitUntil("shutdown") { $0["spec"]?["shutdown"] == .string("Stop") }
            try await argo3.report(
                "Failed", message: "Stopped with strategy 'Stop'",
                [argo3.root("Failed"), argo3.node("1", "prepare", phase: "Failed", message: "Stopped with strategy 'Stop'")])
            let cancelled = try await api.waitForRun(third, project: project, token: token)
            #expect(cancelled["state"] as? String == "cancelled", "\(cancelled)")
            #expect(["prepare", "train", "report"].map { RunJSON.state(cancelled, $0) } == ["cancelled", "cancelled", "cancelled"])

            // One Workflow per run, whatever was submitted.
            for run in [first, second, third] {
                let listed = try await client.list(.workflows, namespace: namespace, labelSelector: "trellis/run=\(run)")
                #expect(listed.items.count == 1)
            }

            // Deleting the project deletes its namespace — Workflows, pods and the pull secret with it. (The test API
            // server runs no namespace controller: the namespace stays Terminating, where a cluster empties it.)
            #expect(try await api.call("DELETE", "/api/v1/projects/\(project)", token: token).status == 202)
            try await Waiting.until("the deletion of \(project) to finish") {
                let under = try await api.call("GET", "/api/v1/project-deletions", token: admin)
                return (under.json["deletions"] as? [[String: Any]])?.isEmpty == true
            }
            let terminating = try #require(try await client.get(.namespaces, namespace: nil, name: namespace))
            #expect(terminating["metadata"]?["deletionTimestamp"]?.string != nil, "\(terminating)")
            #expect(terminating["status"]?["phase"]?.string == "Terminating")
        }
    }
}
