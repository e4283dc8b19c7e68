import Foundation
import Testing
import TrellisCore
import TrellisTestSupport

/// Distributed tasks of a training framework compiled for Kubernetes: an Argo `resource` step creating the operator's
/// job. The Workflows are kept for the schema check of `make test` (Tests/Argo/validate.py), which also checks each
/// job against its operator's schema.
@Suite struct TrainingJobTests {
    static func trainingTask(_ framework: TrainingFramework, replicas: Int, command: [String] = ["sh", "-c", "train"]) -> RunPlan.Task {
        ArgoWorkflowTests.task("train", command: command) {
            $0.framework = framework
            $0.replicas = replicas
            $0.retry = RetryRule(limit: 2, policy: .always, backoffMilliseconds: 0, factor: 1, maxBackoffMilliseconds: nil)
            $0.timeoutMilliseconds = 3_600_000
            $0.resources = TemplateSpec.Resources(cpu: "2", memory: "4Gi", gpu: 1, gpuType: "A100")
            $0.mounts = ["kubeflow-user(pvc):/mnt"]
            $0.serviceAccount = "pipeline-runner"
        }
    }

    /// The job a Workflow's step creates, parsed from the step's manifest.
    static func job(_ manifest: [String: Any], task: String = "train") throws -> [String: Any] {
        let resource = try #require(ArgoWorkflowTests.template(manifest, "task-\(task)")["resource"] as? [String: Any])
        let text = try #require(resource["manifest"] as? String)
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// The value at `path` (keys of objects, indexes of arrays).
    static func at(_ value: Any?, _ path: Any...) -> Any? {
        path.reduce(value) { value, step in
            if let key = step as? String { return (value as? [String: Any])?[key] }
            guard let index = step as? Int, let items = value as? [Any], items.indices.contains(index) else { return nil }
            return items[index]
        }
    }

    static func roles(_ job: [String: Any], _ field: String) -> [String: Int] {
        (at(job, "spec", field) as? [String: Any] ?? [:]).compactMapValues { at($0, "replicas") as? Int }
    }

    @Test func aPyTorchTaskIsAPyTorchJobCreatedAndFollowedByAResourceStep() throws {
        var plan = RunPlan(pipeline: "ddp", version: 1, tasks: [Self.trainingTask(.pytorch, replicas: 3)])
        plan.podSecurity = .restricted
        plan.nodeSelector = ["pool": "training"]
        plan.gpuLabel = "example.com/gpu"
        let manifest = try ArgoWorkflowTests.compile(plan, "training-pytorch")
        // One step, no withSequence: the operator makes the replicas.
        #expect(ArgoWorkflowTests.dagTasks(manifest)["train"]?["withSequence"] == nil)
        let step = ArgoWorkflowTests.template(manifest, "task-train")
        #expect(step["container"] == nil && step["retryStrategy"] != nil && step["activeDeadlineSeconds"] as? String == "3600")
        let resource = try #require(step["resource"] as? [String: Any])
        #expect(resource["action"] as? String == "create" && resource["setOwnerReference"] as? Bool == true)
        #expect(resource["successCondition"] as? String == #"status.conditions.#(type=="Succeeded").status == True"#)
        #expect(resource["failureCondition"] as? String == #"status.conditions.#(type=="Failed").status == True"#)

        let job = try Self.job(manifest)
        #expect(job["apiVersion"] as? String == "kubeflow.org/v1" && job["kind"] as? String == "PyTorchJob")
        #expect(Self.at(job, "metadata", "generateName") as? String == "train-")
        #expect(Self.at(job, "metadata", "namespace") as? String == "trellis-ml")
        #expect(Self.roles(job, "pytorchReplicaSpecs") == ["Master": 1, "Worker": 2])
        #expect(Self.at(job, "spec", "runPolicy", "activeDeadlineSeconds") as? Int == 3600)
        let worker = Self.at(job, "spec", "pytorchReplicaSpecs", "Worker")
        #expect(Self.at(worker, "restartPolicy") as? String == "Never")
        let labels = Self.at(worker, "template", "metadata", "labels") as? [String: String] ?? [:]
        #expect(labels["trellis/run"] == ArgoWorkflowTests.run.id && labels["trellis/task"] == "train", "\(labels)")
        #expect(labels["trellis/role"] == "worker" && labels["trellis/attempt"] == "{{=asInt(retries) + 1}}", "\(labels)")
        let pod = Self.at(worker, "template", "spec")
        // The Workflow's pod-wide settings, which a job's pods do not inherit, are in each replica's pod.
        // The project's node selector with the GPU type under the cluster's GPU label.
        #expect(Self.at(pod, "nodeSelector") as? [String: String] == ["pool": "training", "example.com/gpu": "A100"])
        #expect(Self.at(pod, "securityContext", "runAsNonRoot") as? Bool == true)
        #expect(Self.at(pod, "imagePullSecrets", 0, "name") as? String == "registry-ml")
        #expect(Self.at(pod, "serviceAccountName") as? String == "pipeline-runner")
        #expect(Self.at(pod, "volumes", 0, "persistentVolumeClaim", "claimName") as? String == "kubeflow-user")
        let container = Self.at(pod, "containers", 0)
        #expect(Self.at(container, "name") as? String == "pytorch" && Self.at(container, "image") as? String == "busybox:1.36")
        #expect(Self.at(container, "command") as? [String] == ["sh"] && Self.at(container, "args") as? [String] == ["-c", "train"])
        #expect(Self.at(container, "resources", "limits", "nvidia.com/gpu") as? String == "1")
        #expect(Self.at(container, "volumeMounts", 0, "mountPath") as? String == "/mnt/ada")
        let entries = Self.at(container, "env") as? [[String: Any]] ?? []
        let env = Dictionary(uniqueKeysWithValues: entries.map { ($0["name"] as? String ?? "", $0["value"] as? String) })
        // The operator says each replica's rank; Trellis the world size and the attempt.
        #expect(env["TRELLIS_REPLICAS"] == "3" && env["TRELLIS_REPLICA"] == nil, "\(env)")
        #expect(env["TRELLIS_TASK_ATTEMPT"] == "{{=asInt(retries) + 1}}", "\(env)")
    }

    @Test func tensorflowMPIAndXGBoostJobsHaveTheirFrameworksRoles() throws {
        let tensorflow = Self.trainingTask(.tensorflow, replicas: 4, command: ["python3", "-c", "run", "--script", "x", "--ps", "1"])
        let tf = try Self.job(
            try ArgoWorkflowTests.compile(RunPlan(pipeline: "tf", version: 1, tasks: [tensorflow]), "training-tensorflow"))
        #expect(tf["kind"] as? String == "TFJob" && Self.roles(tf, "tfReplicaSpecs") == ["Chief": 1, "Worker": 2, "PS": 1])
        #expect(Self.at(tf, "spec", "tfReplicaSpecs", "PS", "template", "spec", "containers", 0, "name") as? String == "tensorflow")

        let mpi = try Self.job(
            try ArgoWorkflowTests.compile(
                RunPlan(pipeline: "mpi", version: 1, tasks: [Self.trainingTask(.mpi, replicas: 2)]), "training-mpi"))
        // Two ranks on two workers, started by a launcher of their own; the workers only wait for it.
        #expect(mpi["kind"] as? String == "MPIJob" && Self.roles(mpi, "mpiReplicaSpecs") == ["Launcher": 1, "Worker": 2])
        let launcher = Self.at(mpi, "spec", "mpiReplicaSpecs", "Launcher", "template", "spec", "containers", 0)
        #expect(Self.at(launcher, "name") as? String == "mpi" && Self.at(launcher, "args") as? [String] == ["-c", "train"])
        let waiting = Self.at(mpi, "spec", "mpiReplicaSpecs", "Worker", "template", "spec", "containers", 0)
        #expect(Self.at(waiting, "args") == nil && (Self.at(waiting, "command", 2) as? String)?.contains("sleep") == true)

        let xgboost = try Self.job(
            try ArgoWorkflowTests.compile(
                RunPlan(pipeline: "xgb", version: 1, tasks: [Self.trainingTask(.xgboost, replicas: 1)]), "training-xgboost"))
        #expect(xgboost["kind"] as? String == "XGBoostJob" && Self.roles(xgboost, "xgbReplicaSpecs") == ["Master": 1])
    }

    @Test func aRayTaskIsARayJobWhoseSubmitterRunsTheCommandOnTheHead() throws {
        let command = ["python3", "-c", "print('it''s')", "--script", "import ray"]
        let manifest = try ArgoWorkflowTests.compile(
            RunPlan(pipeline: "ray", version: 1, tasks: [Self.trainingTask(.ray, replicas: 3, command: command)]), "training-ray")
        let resource = ArgoWorkflowTests.template(manifest, "task-train")["resource"] as? [String: Any]
        #expect(resource?["successCondition"] as? String == "status.jobStatus == SUCCEEDED")
        #expect(resource?["failureCondition"] as? String == "status.jobStatus == FAILED")
        let job = try Self.job(manifest)
        #expect(job["apiVersion"] as? String == "ray.io/v1" && job["kind"] as? String == "RayJob")
        // The command, quoted for the shell (a quote in it too), is the job's entrypoint.
        #expect(Self.at(job, "spec", "entrypoint") as? String == #"'python3' '-c' 'print('\''it'\'''\''s'\'')' '--script' 'import ray'"#)
        #expect(Self.at(job, "spec", "shutdownAfterJobFinishes") as? Bool == true)
        let head = Self.at(job, "spec", "rayClusterSpec", "headGroupSpec", "template")
        #expect(Self.at(head, "metadata", "labels", "trellis/role") as? String == "head")
        // KubeRay starts the nodes: their containers get no command.
        #expect(Self.at(head, "spec", "containers", 0, "command") == nil)
        #expect(Self.at(head, "spec", "containers", 0, "name") as? String == "ray")
        let workers = Self.at(job, "spec", "rayClusterSpec", "workerGroupSpecs", 0)
        #expect(Self.at(workers, "replicas") as? Int == 2 && Self.at(workers, "maxReplicas") as? Int == 2)
        #expect(Self.at(workers, "template", "metadata", "labels", "trellis/attempt") as? String == "{{=asInt(retries) + 1}}")
        let submitter = Self.at(job, "spec", "submitterPodTemplate")
        #expect(Self.at(submitter, "metadata", "labels", "trellis/role") as? String == "submitter")
        #expect(Self.at(submitter, "spec", "restartPolicy") as? String == "Never")
        #expect(Self.at(submitter, "spec", "containers", 0, "command") == nil)
    }

    @Test func parameterServersLeavingNoChiefAreRefusedNamingTheArgument() throws {
        let task = Self.trainingTask(.tensorflow, replicas: 2, command: ["python3", "--script", "x", "--ps", "2"])
        #expect {
            try ArgoWorkflow.manifest(RunPlan(pipeline: "tf", version: 1, tasks: [task]), run: ArgoWorkflowTests.run)
        } throws: { error in
            "\(error)".contains("spec.tasks[train].args.ps") && "\(error)".contains("must be 0 to 1 for 2 replicas")
        }
    }

    @Test func theStepsAttemptsSayWhoseJobTheirReplicasAre() throws {
        let plan = RunPlan(
            pipeline: "ddp", version: 1, tasks: [Self.trainingTask(.pytorch, replicas: 2), ArgoWorkflowTests.task("report")])
        var workflow = try ArgoWorkflow.manifest(plan, run: ArgoWorkflowTests.run)
        let name = ArgoWorkflow.name(ofRun: ArgoWorkflowTests.run.id)
        guard case .object(var fields) = workflow else { return }
        fields["status"] = ArgoFixture.status(
            phase: "Running",
            [
                ArgoFixture.node(name, name, type: "DAG", phase: "Running"),
                ArgoFixture.node("\(name)-1", "\(name).train", type: "Retry", phase: "Running"),
                ArgoFixture.node("\(name)-2", "\(name).train(0)", type: "Pod", phase: "Running"),
                ArgoFixture.node("\(name)-3", "\(name).report", type: "Pod", phase: "Pending"),
            ])
        workflow = .object(fields)
        let attempts = ArgoStatus.progress(of: workflow).attempts
        #expect(attempts.map(\.task) == ["report", "train"])
        #expect(attempts.map(\.framework) == [nil, .pytorch])
        #expect(
            TrainingJob.selector(run: ArgoWorkflowTests.run.id, task: "train", attempt: 1)
                == "trellis/run=\(ArgoWorkflowTests.run.id),trellis/task=train,trellis/attempt=1")
        // Every attempt's (a retry deletes the jobs of all of them).
        #expect(TrainingJob.selector(run: "r", task: "train") == "trellis/run=r,trellis/task=train")
    }

    @Test func rolesInRankOrder() {
        #expect(TrainingFramework.pytorch.roles(replicas: 1) == [.init("Master", replicas: 1)])
        #expect(
            TrainingFramework.tensorflow.roles(replicas: 3, parameterServers: 2) == [.init("Chief", replicas: 1), .init("PS", replicas: 2)])
        #expect(TrainingFramework(kind: "MPIJob") == .mpi && TrainingFramework(kind: "RayJob") == .ray)
        #expect(TrainingFramework(kind: "PaddleJob") == nil && TrainingFramework.ray.podRoles == ["Head", "Worker", "Submitter"])
    }
}
