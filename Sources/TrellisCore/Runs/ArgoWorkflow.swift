/// A run compiled to an Argo `Workflow` (argoproj.io/v1alpha1): one DAG template `main` whose tasks are the run's
/// tasks, and one container template per task. What it writes, field by field, is in docs/kubernetes.md; the tests
/// validate every manifest they compile against Argo's JSON schema.
///
/// Argo's schema declares IntOrString fields (`retryStrategy.limit`, `backoff.factor`, a template's
/// `activeDeadlineSeconds`) as strings; they are written as strings, which Argo accepts too.
public enum ArgoWorkflow {
    /// The run a manifest is for.
    public struct Run: Sendable, Equatable {
        public var id: String
        public var project: String
        public var runner: String
        /// Milliseconds since 1970 (`TRELLIS_EXECUTION_DATE`).
        public var executionDate: Int64
        public var namespace: String
        /// Image pull secrets (from the project's image registry credentials).
        public var pullSecrets: [String]

        public init(id: String, project: String, runner: String, executionDate: Int64, namespace: String, pullSecrets: [String] = []) {
            self.id = id
            self.project = project
            self.runner = runner
            self.executionDate = executionDate
            self.namespace = namespace
            self.pullSecrets = pullSecrets
        }
    }

    /// How long a finished Workflow stays in the cluster (its pods' logs with it).
    public static let keptSeconds = 7 * 24 * 3600

    /// The user and group pods of restricted clusters run as (an image's own root user is refused there).
    public static let restrictedUser = 1000

    /// The Workflow's name for a run: the same for every submission of the run, so a second one is refused.
    public static func name(ofRun id: String) -> String { "trellis-\(id)" }

    /// The namespace of a project's Workflows in every cluster.
    public static func namespace(ofProject project: String) -> String { "trellis-\(project)" }

    public static func manifest(_ plan: RunPlan, run: Run) throws(ValidationError) -> JSONValue {
        var templates: [JSONValue] = [
            .object(["name": .string("main"), "dag": .object(["tasks": .array(plan.tasks.map(dagTask))])])
        ]
        for task in plan.tasks { templates.append(try template(task, plan: plan, run: run)) }
        var spec: [String: JSONValue] = [
            "entrypoint": .string("main"),
            "templates": .array(templates),
            "ttlStrategy": .object(["secondsAfterCompletion": .int(keptSeconds)]),
            "podMetadata": .object(["labels": .object(labels(plan, run: run))]),
        ]
        if let parallelism = plan.parallelism { spec["parallelism"] = .int(parallelism) }
        if let timeout = plan.timeoutMilliseconds { spec["activeDeadlineSeconds"] = .int(Int(seconds(timeout))) }
        for (key, value) in workflowPod(plan, run: run) { spec[key] = value }
        return .object([
            "apiVersion": .string("argoproj.io/v1alpha1"),
            "kind": .string("Workflow"),
            "metadata": .object([
                "name": .string(name(ofRun: run.id)), "namespace": .string(run.namespace), "labels": .object(labels(plan, run: run)),
            ]),
            "spec": .object(spec),
        ])
    }

    static func labels(_ plan: RunPlan, run: Run, task: String? = nil) -> [String: JSONValue] {
        var labels: [String: JSONValue] = [
            "trellis/project": .string(run.project), "trellis/pipeline": .string(plan.pipeline), "trellis/run": .string(run.id),
        ]
        if let task { labels["trellis/task"] = .string(task) }
        return labels
    }

    static func templateName(_ task: String) -> String { "task-\(task)" }

    /// The task in the DAG: its dependencies, `when: "false"` when skipped (Argo then counts it as done), and
    /// `withSequence` for replicas: N pods of the same template, each told its rank (a training framework's task is one
    /// step, whose operator makes the replicas).
    static func dagTask(_ task: RunPlan.Task) -> JSONValue {
        var node: [String: JSONValue] = ["name": .string(task.name), "template": .string(templateName(task.name))]
        if !task.dependsOn.isEmpty { node["dependencies"] = .array(task.dependsOn.map(JSONValue.string)) }
        if task.skip { node["when"] = .string("false") }
        if task.replicas > 1, task.framework == nil {
            node["withSequence"] = .object(["count": .string(String(task.replicas))])
            node["arguments"] = .object(["parameters": .array([.object(["name": .string("replica"), "value": .string("{{item}}")])])])
        }
        return .object(node)
    }

    /// The Secret in the project's namespace that holds the values of the project's secret env entries: pods read
    /// them from it (`valueFrom`), so no value is in the Workflow.
    public static let secretEnvironment = "trellis-env"

    /// One `env` entry: its value, or a reference into ``secretEnvironment`` for a secret one.
    static func environmentEntry(_ name: String, _ value: String, secrets: Set<String>) -> JSONValue {
        guard secrets.contains(name) else { return .object(["name": .string(name), "value": .string(value)]) }
        return .object([
            "name": .string(name),
            "valueFrom": .object(["secretKeyRef": .object(["name": .string(secretEnvironment), "key": .string(name)])]),
        ])
    }

    /// The task's template: a container, or for a training framework's task a `resource` step creating its job.
    static func template(_ task: RunPlan.Task, plan: RunPlan, run: Run) throws(ValidationError) -> JSONValue {
        let field = "spec.tasks[\(task.name)]"
        // The attempt: Argo counts retries from 0; Trellis numbers attempts from 1.
        let attempt = task.retry.limit > 0 ? "{{=asInt(retries) + 1}}" : "1"
        var environment = plan.environment(
            of: task, project: run.project, run: run.id, attempt: attempt, executionDate: run.executionDate, runner: run.runner)
        if task.replicas > 1 || task.framework != nil {
            // A framework's operator tells each replica its rank in the framework's own terms (`RANK`, `TF_CONFIG`…).
            if task.framework == nil {
                environment["TRELLIS_REPLICA"] = "{{inputs.parameters.replica}}"
                environment["TRELLIS_MASTER_ADDR"] = ReplicaService.host(replica: 0, run: run.id, task: task.name, namespace: run.namespace)
                environment["TRELLIS_MASTER_PORT"] = String(ReplicaService.masterPort)
            }
            environment["TRELLIS_REPLICAS"] = String(task.replicas)
        }
        let secrets = Set(plan.secrets(in: environment))
        var container: [String: JSONValue] = [
            "image": .string(task.image),
            "command": .array(task.command.prefix(1).map(JSONValue.string)),
            "env": .array(environment.sorted { $0.key < $1.key }.map { Self.environmentEntry($0.key, $0.value, secrets: secrets) }),
        ]
        if task.command.count > 1 { container["args"] = .array(task.command.dropFirst().map(JSONValue.string)) }
        if let directory = task.workingDirectory { container["workingDir"] = .string(directory) }
        if let resources = try resources(task.resources, field: "\(field).resources") { container["resources"] = resources }
        if task.privileged == true {
            container["securityContext"] = .object(["privileged": .bool(true)])
        } else if plan.podSecurity == .restricted {
            container["securityContext"] = .object([
                "allowPrivilegeEscalation": .bool(false), "capabilities": .object(["drop": .array([.string("ALL")])]),
            ])
        }

        // What the template says of the pod besides its container (a job's pods have the Workflow's pod-wide fields too).
        var pod: [String: JSONValue] = [:]
        let mounts = try task.mounts.enumerated().map { item throws(ValidationError) in
            (name: "mount-\(item.offset)", mount: try Mount(parsing: item.element, field: "\(field).mounts[\(item.offset)]"))
        }
        if !mounts.isEmpty {
            container["volumeMounts"] = .array(mounts.map { volumeMount($0.mount, name: $0.name, user: run.runner) })
            pod["volumes"] = .array(mounts.map { volume($0.mount, name: $0.name) })
        }
        if let account = task.serviceAccount { pod["serviceAccountName"] = .string(account) }
        if let selector = nodeSelector(of: task, plan: plan) { pod["nodeSelector"] = selector }
        if let aliases = task.hostAliases, !aliases.isEmpty {
            pod["hostAliases"] = .array(
                aliases.map { line in
                    let parts = line.split(separator: " ").map(String.init)
                    return .object(["ip": .string(parts[0]), "hostnames": .array(parts.dropFirst().map(JSONValue.string))])
                })
        }

        let taskLabels = labels(plan, run: run, task: task.name)
        var template: [String: JSONValue] = [
            "name": .string(templateName(task.name)), "metadata": .object(["labels": .object(taskLabels)]),
        ]
        if let framework = task.framework {
            var jobLabels = taskLabels
            jobLabels[TrainingJob.attemptLabel] = .string(attempt)
            for (key, value) in workflowPod(plan, run: run) where pod[key] == nil { pod[key] = value }
            let job = try TrainingJob.manifest(
                framework, task: task, container: container, pod: pod, labels: jobLabels, namespace: run.namespace)
            template["resource"] = TrainingJob.resource(job, framework: framework)
        } else {
            for (key, value) in pod { template[key] = value }
            template["container"] = .object(container)
            if task.replicas > 1 {
                template["inputs"] = .object(["parameters": .array([.object(["name": .string("replica")])])])
                template["podSpecPatch"] = .string(ReplicaService.podSpecPatch(run: run.id, task: task.name))
            }
        }
        if task.retry.limit > 0 { template["retryStrategy"] = retryStrategy(task.retry) }
        if let timeout = task.timeoutMilliseconds { template["activeDeadlineSeconds"] = .string(String(seconds(timeout))) }
        return .object(template)
    }

    /// The task's own node selector when it asks for a GPU type: the project's with the cluster's GPU label (a
    /// template's `nodeSelector` replaces the Workflow's in Argo, so the project's is repeated).
    static func nodeSelector(of task: RunPlan.Task, plan: RunPlan) -> JSONValue? {
        guard let type = task.resources?.gpuType, (task.resources?.gpu ?? 0) > 0 else { return nil }
        var selector = plan.nodeSelector ?? [:]
        selector[plan.gpuLabel ?? ClusterPolicy.defaultGPULabel] = type
        return .object(selector.mapValues(JSONValue.string))
    }

    /// The pod-wide fields the Workflow gives its own pods, which a job's pods need in their own spec: the node
    /// selector, the restricted security context and the pull secrets.
    static func workflowPod(_ plan: RunPlan, run: Run) -> [String: JSONValue] {
        var pod: [String: JSONValue] = [:]
        if let selector = plan.nodeSelector { pod["nodeSelector"] = .object(selector.mapValues(JSONValue.string)) }
        if plan.podSecurity == .restricted { pod["securityContext"] = restrictedPod }
        if !run.pullSecrets.isEmpty { pod["imagePullSecrets"] = .array(run.pullSecrets.map { .object(["name": .string($0)]) }) }
        return pod
    }

    /// Pod Security's restricted level: a non-root user (and group, owning mounted volumes) and the runtime's default
    /// seccomp profile for every pod.
    static let restrictedPod: JSONValue = .object([
        "runAsNonRoot": .bool(true), "runAsUser": .int(restrictedUser), "runAsGroup": .int(restrictedUser),
        "fsGroup": .int(restrictedUser), "seccompProfile": .object(["type": .string("RuntimeDefault")]),
    ])

    /// `limit`, the policy, and the backoff (Argo's factor multiplies the duration after each retry, as Trellis's does).
    static func retryStrategy(_ retry: RetryRule) -> JSONValue {
        var strategy: [String: JSONValue] = ["limit": .string(String(retry.limit)), "retryPolicy": .string(retry.policy.rawValue)]
        if retry.backoffMilliseconds > 0 {
            var backoff: [String: JSONValue] = [
                "duration": .string("\(seconds(retry.backoffMilliseconds))s"), "factor": .string(formatted(retry.factor)),
            ]
            if let maximum = retry.maxBackoffMilliseconds { backoff["maxDuration"] = .string("\(seconds(maximum))s") }
            strategy["backoff"] = .object(backoff)
        }
        return .object(strategy)
    }

    /// `cpu` and `memory` as `request~limit` (or one value for both); GPUs as a limit of `nvidia.com/gpu`.
    static func resources(_ resources: TemplateSpec.Resources?, field: String) throws(ValidationError) -> JSONValue? {
        guard let resources else { return nil }
        var requests: [String: JSONValue] = [:]
        var limits: [String: JSONValue] = [:]
        for (name, value) in [("cpu", resources.cpu), ("memory", resources.memory)] {
            guard let value, !value.isEmpty else { continue }
            let parts = value.split(separator: "~", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty && !$0.contains(" ") }) else {
                throw ValidationError(field: "\(field).\(name)", "\"\(value)\" must be a quantity or request~limit, such as 1~2 or 2Gi")
            }
            requests[name] = .string(parts[0])
            limits[name] = .string(parts.last!)
        }
        if let gpu = resources.gpu, gpu > 0 { limits["nvidia.com/gpu"] = .string(String(gpu)) }
        var result: [String: JSONValue] = [:]
        if !requests.isEmpty { result["requests"] = .object(requests) }
        if !limits.isEmpty { result["limits"] = .object(limits) }
        return result.isEmpty ? nil : .object(result)
    }

    /// Where a mount appears in the container: a `pvc` mount shows each user their own folder (`path/<user>`, from
    /// the sub-path `<user>`), as cube-studio does.
    static func volumeMount(_ mount: Mount, name: String, user: String) -> JSONValue {
        switch mount.kind {
        case .pvc:
            .object(["name": .string(name), "mountPath": .string("\(mount.path)/\(user)"), "subPath": .string(user)])
        default:
            .object(["name": .string(name), "mountPath": .string(mount.path)])
        }
    }

    static func volume(_ mount: Mount, name: String) -> JSONValue {
        let source: (String, JSONValue) =
            switch mount.kind {
            case .pvc, .pvcShare: ("persistentVolumeClaim", .object(["claimName": .string(mount.source)]))
            case .hostpath: ("hostPath", .object(["path": .string(mount.source)]))
            case .nfs:
                ("nfs", .object(["server": .string(nfsServer(mount.source)), "path": .string(nfsPath(mount.source))]))
            case .configmap: ("configMap", .object(["name": .string(mount.source)]))
            case .secret: ("secret", .object(["secretName": .string(mount.source)]))
            case .memory: ("emptyDir", .object(["medium": .string("Memory"), "sizeLimit": .string(mount.source)]))
            }
        return .object(["name": .string(name), source.0: source.1])
    }

    /// `server/export/path` → the server and `/export/path`.
    static func nfsServer(_ source: String) -> String { String(source.split(separator: "/", maxSplits: 1).first ?? "") }
    static func nfsPath(_ source: String) -> String {
        let parts = source.split(separator: "/", maxSplits: 1)
        return parts.count == 2 ? "/\(parts[1])" : "/"
    }

    static func seconds(_ milliseconds: Int64) -> Int64 { max(1, (milliseconds + 999) / 1000) }

    static func formatted(_ number: Double) -> String {
        number == number.rounded() ? String(Int64(number)) : String(number)
    }
}
