/// The distributed-training framework a template is for: on Kubernetes its task becomes the framework operator's
/// resource (Kubeflow's training operator, kubeflow.org/v1; KubeRay, ray.io/v1), whose replicas have the roles below;
/// locally its replicas are processes told their rank as every replicated task's are.
public enum TrainingFramework: String, Codable, Sendable, CaseIterable {
    case pytorch, tensorflow, mpi, xgboost, ray

    /// A kind of replica and how many of the task's replicas have it.
    public struct Role: Sendable, Equatable {
        /// As the operator names it: `Master`, `Worker`, `Chief`, `PS`, `Launcher`, `Head`.
        public var name: String
        public var replicas: Int

        public init(_ name: String, replicas: Int) {
            self.name = name
            self.replicas = replicas
        }
    }

    /// The roles of a task of `replicas` replicas in rank order (replica 0 has the first). TensorFlow's last
    /// `parameterServers` replicas are parameter servers; an MPI job's replicas are its ranks, started by a launcher of
    /// their own.
    public func roles(replicas: Int, parameterServers: Int = 0) -> [Role] {
        let counts: [Int] =
            switch self {
            case .pytorch, .xgboost, .ray: [1, replicas - 1]
            case .tensorflow: [1, replicas - 1 - parameterServers, parameterServers]
            case .mpi: [1, replicas]
            }
        return zip(roleNames, counts).map { Role($0, replicas: $1) }.filter { $0.replicas > 0 }
    }

    /// Its roles' names in rank order.
    public var roleNames: [String] {
        switch self {
        case .pytorch, .xgboost: ["Master", "Worker"]
        case .tensorflow: ["Chief", "Worker", "PS"]
        case .mpi: ["Launcher", "Worker"]
        case .ray: ["Head", "Worker"]
        }
    }

    /// The roles of the pods of a job in rank order: its replicas', then a RayJob's submitter (which runs the driver).
    public var podRoles: [String] { self == .ray ? roleNames + ["Submitter"] : roleNames }

    /// The operator's resource kind.
    public var kind: String {
        switch self {
        case .pytorch: "PyTorchJob"
        case .tensorflow: "TFJob"
        case .mpi: "MPIJob"
        case .xgboost: "XGBoostJob"
        case .ray: "RayJob"
        }
    }

    public var apiVersion: String { self == .ray ? "ray.io/v1" : "kubeflow.org/v1" }

    /// Its plural, as the API server serves it.
    public var plural: String { kind.lowercased() + "s" }

    public init?(kind: String) {
        guard let found = Self.allCases.first(where: { $0.kind == kind }) else { return nil }
        self = found
    }

    /// The field of the spec holding the replica specs.
    var replicaSpecsField: String {
        switch self {
        case .pytorch: "pytorchReplicaSpecs"
        case .tensorflow: "tfReplicaSpecs"
        case .mpi: "mpiReplicaSpecs"
        case .xgboost: "xgbReplicaSpecs"
        case .ray: "rayClusterSpec"
        }
    }

    /// The container the operator looks for in each replica's pod (its default container name; KubeRay takes the first).
    public var container: String {
        switch self {
        case .pytorch: "pytorch"
        case .tensorflow: "tensorflow"
        case .mpi: "mpi"
        case .xgboost: "xgboost"
        case .ray: "ray"
        }
    }
}

/// A distributed task compiled to its framework operator's resource, which an Argo `resource` step creates (owned by
/// the Workflow, so it goes with it) and follows to its end. What it writes is in docs/kubernetes.md; the tests
/// validate every one against the operator's JSON schema.
public enum TrainingJob {
    /// The label of each replica pod naming its role; with `trellis/run`, `trellis/task` and ``attemptLabel``, the
    /// pods of one attempt are found by their labels (the operator copies a replica's pod labels onto its pods).
    public static let roleLabel = "trellis/role"
    public static let attemptLabel = "trellis/attempt"

    /// The Argo conditions on the job's status that end the step: the training operator's `Succeeded` or `Failed`
    /// condition (a replica that fails fails the job: its restart policy is `Never`); a RayJob's `jobStatus`.
    static func conditions(_ framework: TrainingFramework) -> (success: String, failure: String) {
        if framework == .ray { return ("status.jobStatus == SUCCEEDED", "status.jobStatus == FAILED") }
        let condition = { (type: String) in #"status.conditions.#(type=="\#(type)").status == True"# }
        return (condition("Succeeded"), condition("Failed"))
    }

    /// The label selector of an attempt's replica pods.
    public static func selector(run: String, task: String, attempt: Int) -> String {
        "\(selector(run: run, task: task)),\(attemptLabel)=\(attempt)"
    }

    /// The label selector of every attempt's jobs and pods of a task in a run.
    public static func selector(run: String, task: String) -> String {
        "trellis/run=\(run),trellis/task=\(task)"
    }

    /// The tensorflow template's `ps` argument, from its flag in the task's command (0 without one).
    static func parameterServers(_ task: RunPlan.Task) -> Int {
        guard task.framework == .tensorflow, let flag = task.command.firstIndex(of: "--ps"), flag + 1 < task.command.count else { return 0 }
        return Int(task.command[flag + 1]) ?? 0
    }

    /// The resource: one replica spec per role, each a pod of the task's `container` (named as the operator wants it)
    /// with `pod`'s fields (volumes, service account, security context…) and `labels`. The MPI launcher runs the
    /// command, its workers only wait for it to start their ranks. Pods are kept once the job ended, so that their
    /// logs can be read and kept; the job itself goes with the Workflow.
    static func manifest(
        _ framework: TrainingFramework, task: RunPlan.Task, container: [String: JSONValue], pod: [String: JSONValue],
        labels: [String: JSONValue], namespace: String
    ) throws(ValidationError) -> JSONValue {
        if framework == .ray { return rayJob(task: task, container: container, pod: pod, labels: labels, namespace: namespace) }
        let parameterServers = parameterServers(task)
        guard parameterServers >= 0, parameterServers < task.replicas else {
            throw ValidationError(
                field: "spec.tasks[\(task.name)].args.ps",
                "must be 0 to \(task.replicas - 1) for \(task.replicas) replicas (the chief is replica 0), not \(parameterServers)")
        }
        var specs: [String: JSONValue] = [:]
        for role in framework.roles(replicas: task.replicas, parameterServers: parameterServers) {
            var main = container
            main["name"] = .string(framework.container)
            if framework == .mpi, role.name == "Worker" {
                main["command"] = .array(["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"].map(JSONValue.string))
                main["args"] = nil
            }
            var podLabels = labels
            podLabels[roleLabel] = .string(role.name.lowercased())
            var spec = pod
            spec["containers"] = .array([.object(main)])
            specs[role.name] = .object([
                "replicas": .int(role.replicas), "restartPolicy": .string("Never"),
                "template": .object(["metadata": .object(["labels": .object(podLabels)]), "spec": .object(spec)]),
            ])
        }
        var runPolicy: [String: JSONValue] = ["cleanPodPolicy": .string("None"), "backoffLimit": .int(0)]
        if let timeout = task.timeoutMilliseconds { runPolicy["activeDeadlineSeconds"] = .int(Int(ArgoWorkflow.seconds(timeout))) }
        return .object([
            "apiVersion": .string(framework.apiVersion),
            "kind": .string(framework.kind),
            "metadata": .object([
                "generateName": .string("\(task.name.prefix(40))-"), "namespace": .string(namespace), "labels": .object(labels),
            ]),
            "spec": .object([framework.replicaSpecsField: .object(specs), "runPolicy": .object(runPolicy)]),
        ])
    }

    /// The Argo template's `resource`: create the job, owned by the Workflow, and wait for its end.
    static func resource(_ manifest: JSONValue, framework: TrainingFramework) -> JSONValue {
        let conditions = conditions(framework)
        return .object([
            "action": .string("create"), "setOwnerReference": .bool(true), "manifest": .string(manifest.jsonText),
            "successCondition": .string(conditions.success), "failureCondition": .string(conditions.failure),
        ])
    }

    /// `words` as one POSIX shell command: each word single-quoted (a quote in it as `'\''`).
    static func shellCommand(_ words: [String]) -> String {
        words.map { word in "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: #"'\''"#) + "'" }
            .joined(separator: " ")
    }

    /// A RayJob: KubeRay starts the head and the worker group (their containers run its `ray start`, so they get no
    /// command), and its submitter runs the task's command on the head as the job's driver. The cluster is shut down
    /// five minutes after the job ended, time for the cluster gateway to keep the pods' logs.
    static func rayJob(
        task: RunPlan.Task, container: [String: JSONValue], pod: [String: JSONValue], labels: [String: JSONValue], namespace: String
    ) -> JSONValue {
        var node = container
        node["name"] = .string(TrainingFramework.ray.container)
        node["command"] = nil
        node["args"] = nil
        func template(_ role: String, _ main: [String: JSONValue], extra: [String: JSONValue] = [:]) -> JSONValue {
            var podLabels = labels
            podLabels[roleLabel] = .string(role)
            var spec = pod.merging(extra) { $1 }
            spec["containers"] = .array([.object(main)])
            return .object(["metadata": .object(["labels": .object(podLabels)]), "spec": .object(spec)])
        }
        var cluster: [String: JSONValue] = [
            "headGroupSpec": .object(["rayStartParams": .object([:]), "template": template("head", node)])
        ]
        if task.replicas > 1 {
            cluster["workerGroupSpecs"] = .array([
                .object([
                    "groupName": .string("workers"), "replicas": .int(task.replicas - 1), "minReplicas": .int(task.replicas - 1),
                    "maxReplicas": .int(task.replicas - 1), "rayStartParams": .object([:]), "template": template("worker", node),
                ])
            ])
        }
        // The submitter's command is KubeRay's own (`ray job submit`), which it sets when the template has none.
        let submitter: [String: JSONValue] = ["name": .string(TrainingFramework.ray.container), "image": container["image"] ?? .null]
        var spec: [String: JSONValue] = [
            "entrypoint": .string(shellCommand(task.command)), "rayClusterSpec": .object(cluster),
            "submitterPodTemplate": template("submitter", submitter, extra: ["restartPolicy": .string("Never")]),
            "shutdownAfterJobFinishes": .bool(true), "ttlSecondsAfterFinished": .int(300), "backoffLimit": .int(0),
        ]
        if let timeout = task.timeoutMilliseconds { spec["activeDeadlineSeconds"] = .int(Int(ArgoWorkflow.seconds(timeout))) }
        return .object([
            "apiVersion": .string(TrainingFramework.ray.apiVersion), "kind": .string(TrainingFramework.ray.kind),
            "metadata": .object([
                "generateName": .string("\(task.name.prefix(40))-"), "namespace": .string(namespace), "labels": .object(labels),
            ]),
            "spec": .object(spec),
        ])
    }
}
