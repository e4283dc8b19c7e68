import Foundation
import Testing
import TrellisCore
import TrellisTestSupport

/// Runs compiled to Argo Workflows. Every manifest compiled here is also written to `TRELLIS_ARGO_MANIFESTS` (set by
/// `make test`), where Tests/Argo/validate.py checks it against Argo's JSON schema.
@Suite struct ArgoWorkflowTests {
    static func task(
        _ name: String, after: [String] = [], command: [String] = ["sh", "-c", "echo hi"],
        configure: (inout RunPlan.Task) -> Void = { _ in }
    ) -> RunPlan.Task {
        var task = RunPlan.Task(
            name: name, id: "id-\(name)", template: "shell@1.0.0", dependsOn: after, command: command, environment: ["A": "1"],
            image: "busybox:1.36", workingDirectory: nil, replicas: 1, timeoutMilliseconds: nil, retry: .none, skip: false)
        configure(&task)
        return task
    }

    static let run = ArgoWorkflow.Run(
        id: "0b7f8c2e-1111-4d5e-9a3b-2c4d5e6f7a8b", project: "ml", runner: "ada", executionDate: 1_764_381_600_000, namespace: "trellis-ml",
        pullSecrets: ["registry-ml"])

    /// Compiles and keeps the manifest for the schema check.
    static func compile(_ plan: RunPlan, _ name: String) throws -> [String: Any] {
        let manifest = try ArgoWorkflow.manifest(plan, run: run)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data = try encoder.encode(manifest)
        try ArgoManifests.save(data, name: name)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func template(_ manifest: [String: Any], _ name: String) -> [String: Any] {
        let templates = (manifest["spec"] as? [String: Any])?["templates"] as? [[String: Any]] ?? []
        return templates.first { $0["name"] as? String == name } ?? [:]
    }

    static func dagTasks(_ manifest: [String: Any]) -> [String: [String: Any]] {
        let tasks = (template(manifest, "main")["dag"] as? [String: Any])?["tasks"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: tasks.map { ($0["name"] as? String ?? "", $0) })
    }

    static func env(_ template: [String: Any]) -> [String: String] {
        let list = (template["container"] as? [String: Any])?["env"] as? [[String: String]] ?? []
        return Dictionary(uniqueKeysWithValues: list.map { ($0["name"] ?? "", $0["value"] ?? "") })
    }

    @Test func aDiamondWithRetriesTimeoutsAndASkippedTask() throws {
        var plan = RunPlan(
            pipeline: "daily-train", version: 3, parallelism: 2, timeoutMilliseconds: 3_600_000,
            tasks: [
                Self.task("prepare") {
                    $0.retry = RetryRule(limit: 3, policy: .always, backoffMilliseconds: 1000, factor: 2, maxBackoffMilliseconds: 60_000)
                    $0.timeoutMilliseconds = 600_000
                },
                Self.task("left", after: ["prepare"]) { $0.skip = true },
                Self.task("right", after: ["prepare"]),
                Self.task("join", after: ["left", "right"], command: ["true"]),
            ])
        plan.creator = "olga"
        plan.nodeSelector = ["org": "ml", "train": "true"]
        let manifest = try Self.compile(plan, "diamond")
        #expect(manifest["apiVersion"] as? String == "argoproj.io/v1alpha1" && manifest["kind"] as? String == "Workflow")
        let metadata = try #require(manifest["metadata"] as? [String: Any])
        #expect(metadata["name"] as? String == "trellis-\(Self.run.id)" && metadata["namespace"] as? String == "trellis-ml")
        #expect(
            metadata["labels"] as? [String: String]
                == ["trellis/project": "ml", "trellis/pipeline": "daily-train", "trellis/run": Self.run.id])
        let spec = try #require(manifest["spec"] as? [String: Any])
        #expect(spec["entrypoint"] as? String == "main")
        #expect(spec["parallelism"] as? Int == 2 && spec["activeDeadlineSeconds"] as? Int == 3600)
        #expect(spec["nodeSelector"] as? [String: String] == ["org": "ml", "train": "true"])
        #expect((spec["ttlStrategy"] as? [String: Int])?["secondsAfterCompletion"] == ArgoWorkflow.keptSeconds)
        #expect(spec["imagePullSecrets"] as? [[String: String]] == [["name": "registry-ml"]])

        let dag = Self.dagTasks(manifest)
        #expect(dag["join"]?["dependencies"] as? [String] == ["left", "right"])
        #expect(dag["prepare"]?["dependencies"] == nil)
        #expect(dag["left"]?["when"] as? String == "false" && dag["right"]?["when"] == nil)

        let prepare = Self.template(manifest, "task-prepare")
        let retry = try #require(prepare["retryStrategy"] as? [String: Any])
        #expect(retry["limit"] as? String == "3" && retry["retryPolicy"] as? String == "Always")
        #expect(retry["backoff"] as? [String: String] == ["duration": "1s", "factor": "2", "maxDuration": "60s"])
        #expect(prepare["activeDeadlineSeconds"] as? String == "600")
        #expect(((prepare["metadata"] as? [String: Any])?["labels"] as? [String: String])?["trellis/task"] == "prepare")
        let container = try #require(prepare["container"] as? [String: Any])
        #expect(container["command"] as? [String] == ["sh"] && container["args"] as? [String] == ["-c", "echo hi"])
        #expect(container["image"] as? String == "busybox:1.36")
        let environment = Self.env(prepare)
        #expect(environment["A"] == "1" && environment["TRELLIS_RUN_ID"] == Self.run.id && environment["TRELLIS_PROJECT"] == "ml")
        #expect(environment["TRELLIS_TASK_ATTEMPT"] == "{{=asInt(retries) + 1}}", "Argo counts retries from 0")
        #expect(environment["TRELLIS_EXECUTION_DATE"] == "2025-11-29 02:00:00")
        #expect(environment["TRELLIS_CREATOR"] == "olga" && environment["TRELLIS_RUNNER"] == "ada")
        #expect(Self.env(Self.template(manifest, "task-right"))["TRELLIS_TASK_ATTEMPT"] == "1")
        #expect((Self.template(manifest, "task-join")["container"] as? [String: Any])?["args"] == nil)
    }

    @Test func mountsOfEveryKindResourcesAndTheTemplatesPodSettings() throws {
        let plan = RunPlan(
            pipeline: "train", version: 1,
            tasks: [
                Self.task("train") {
                    $0.mounts = [
                        "workspace(pvc):/mnt", "datasets(pvc-share):/data", "/var/log(hostpath):/host-logs",
                        "nfs.example.org/exports/ml(nfs):/nfs",
                        "settings(configmap):/etc/app", "credentials(secret):/secrets", "10G(memory):/dev/shm",
                    ]
                    $0.resources = TemplateSpec.Resources(cpu: "1~2", memory: "4Gi", gpu: 1)
                    $0.serviceAccount = "pipeline-runner"
                    $0.hostAliases = ["10.0.0.5 registry.internal mirror.internal"]
                    $0.privileged = true
                    $0.workingDirectory = "/app"
                }
            ])
        let manifest = try Self.compile(plan, "mounts-and-resources")
        let train = Self.template(manifest, "task-train")
        let volumes = train["volumes"] as? [[String: Any]] ?? []
        #expect(volumes.count == 7)
        #expect((volumes[0]["persistentVolumeClaim"] as? [String: String])?["claimName"] == "workspace")
        #expect((volumes[1]["persistentVolumeClaim"] as? [String: String])?["claimName"] == "datasets")
        #expect((volumes[2]["hostPath"] as? [String: String])?["path"] == "/var/log")
        #expect(volumes[3]["nfs"] as? [String: String] == ["server": "nfs.example.org", "path": "/exports/ml"])
        #expect((volumes[4]["configMap"] as? [String: String])?["name"] == "settings")
        #expect((volumes[5]["secret"] as? [String: String])?["secretName"] == "credentials")
        #expect(volumes[6]["emptyDir"] as? [String: String] == ["medium": "Memory", "sizeLimit": "10G"])
        let container = try #require(train["container"] as? [String: Any])
        let mounts = container["volumeMounts"] as? [[String: String]] ?? []
        #expect(mounts[0] == ["name": "mount-0", "mountPath": "/mnt/ada", "subPath": "ada"], "a pvc shows each user their folder")
        #expect(mounts[1] == ["name": "mount-1", "mountPath": "/data"])
        #expect(
            container["resources"] as? [String: [String: String]]
                == ["requests": ["cpu": "1", "memory": "4Gi"], "limits": ["cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"]])
        #expect((container["securityContext"] as? [String: Bool])?["privileged"] == true)
        #expect(container["workingDir"] as? String == "/app")
        #expect(train["serviceAccountName"] as? String == "pipeline-runner")
        let alias = try #require((train["hostAliases"] as? [[String: Any]])?.first)
        #expect(alias["ip"] as? String == "10.0.0.5" && alias["hostnames"] as? [String] == ["registry.internal", "mirror.internal"])
    }

    /// Replicas: N pods of one template (`withSequence`), each told its rank and the world size. Argo does not
    /// start them together or give them an address for replica 0, so `TRELLIS_MASTER_ADDR` is not set there.
    @Test func replicasAreASequenceOfPodsThatKnowTheirRank() throws {
        let plan = RunPlan(pipeline: "dist", version: 1, tasks: [Self.task("workers") { $0.replicas = 3 }])
        let manifest = try Self.compile(plan, "replicas")
        let node = try #require(Self.dagTasks(manifest)["workers"])
        #expect(node["withSequence"] as? [String: String] == ["count": "3"])
        #expect((node["arguments"] as? [String: Any])?["parameters"] as? [[String: String]] == [["name": "replica", "value": "{{item}}"]])
        let workers = Self.template(manifest, "task-workers")
        #expect((workers["inputs"] as? [String: Any])?["parameters"] as? [[String: String]] == [["name": "replica"]])
        let environment = Self.env(workers)
        #expect(environment["TRELLIS_REPLICA"] == "{{inputs.parameters.replica}}" && environment["TRELLIS_REPLICAS"] == "3")
        // Replica 0 by its stable name: each pod's host name under the run's headless Service of the task.
        let service = "workers-\(Self.run.id.filter { $0 != "-" })"
        #expect(
            environment["TRELLIS_MASTER_ADDR"] == "replica-0.\(service).trellis-ml.svc" && environment["TRELLIS_MASTER_PORT"] == "29500")
        let patch = try JSONSerialization.jsonObject(with: Data((workers["podSpecPatch"] as? String ?? "").utf8)) as? [String: String]
        #expect(patch == ["hostname": "replica-{{inputs.parameters.replica}}", "subdomain": service])
        let services = ReplicaService.services(of: try ArgoWorkflow.manifest(plan, run: Self.run))
        #expect(services.count == 1 && services.first?["metadata"]?["name"]?.string == service && service.count <= 63)
        #expect(services.first?["spec"]?["clusterIP"]?.string == "None")
        #expect(services.first?["spec"]?["selector"]?["trellis/task"]?.string == "workers")
        #expect(services.first?["spec"]?["selector"]?["trellis/run"]?.string == Self.run.id)
    }

    @Test func aGPUTypeSelectsNodesByTheClustersGPULabelBesideTheProjectsSelector() throws {
        var plan = RunPlan(
            pipeline: "gpu", version: 1,
            tasks: [
                Self.task("train") { $0.resources = TemplateSpec.Resources(gpu: 2, gpuType: "NVIDIA-A100-SXM4-80GB") },
                Self.task("report", after: ["train"]),
            ])
        plan.nodeSelector = ["pool": "ml"]
        let manifest = try Self.compile(plan, "gpu-type")
        // Argo's template node selector replaces the Workflow's: the project's is repeated there.
        #expect(
            Self.template(manifest, "task-train")["nodeSelector"] as? [String: String]
                == ["pool": "ml", "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"])
        #expect(Self.template(manifest, "task-report")["nodeSelector"] == nil)
        #expect((manifest["spec"] as? [String: Any])?["nodeSelector"] as? [String: String] == ["pool": "ml"])
    }

    @Test func aMalformedResourceNamesTheField() throws {
        let plan = RunPlan(pipeline: "p", version: 1, tasks: [Self.task("t") { $0.resources = TemplateSpec.Resources(cpu: "1~2~3") }])
        #expect(
            throws: ValidationError(
                field: "spec.tasks[t].resources.cpu", "\"1~2~3\" must be a quantity or request~limit, such as 1~2 or 2Gi")
        ) {
            try ArgoWorkflow.manifest(plan, run: Self.run)
        }
        #expect(ArgoWorkflow.name(ofRun: "abc") == "trellis-abc", "one name per run: a second submission is refused")
    }
}
