/// What projects may ask of a cluster, set by platform admins per cluster: which projects may use it, and how much
/// of its nodes their pods may reach, modelled on Kubernetes' Pod Security Standards (`restricted`, `baseline`,
/// `privileged`) with allow-lists for host paths, service accounts and Secrets. A run's plan that asks for more is
/// refused, naming the task, its template and the field; the project's namespace is labelled with the level so the
/// cluster enforces it too.
public struct ClusterPolicy: Codable, Sendable, Equatable {
    public enum Level: String, Codable, Sendable, CaseIterable, Comparable {
        /// No privilege, no host paths or NFS; pods run as a non-root user with every capability dropped, no privilege
        /// escalation and the runtime's default seccomp profile.
        case restricted
        /// No privilege, no host paths; NFS volumes allowed.
        case baseline
        /// Anything the template asks for, host paths within `hostPaths`.
        case privileged

        public static func < (lhs: Level, rhs: Level) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    /// The projects that may bind to the cluster and run on it; `*`: every project.
    public var projects: [String]
    public var level: Level
    /// Host folders pods may mount (`hostpath` mounts, at level `privileged` only), each with what is below it.
    public var hostPaths: [String]
    /// Service accounts pods may run as (a template's `serviceAccount`).
    public var serviceAccounts: [String]
    /// Secrets pods may mount (`secret` mounts).
    public var secrets: [String]
    /// The node label whose value is a GPU's type (a task's `resources.gpuType` selects nodes by it).
    public var gpuLabel: String

    /// The label NVIDIA's GPU feature discovery puts on nodes.
    public static let defaultGPULabel = "nvidia.com/gpu.product"

    public init(
        projects: [String] = [], level: Level = .restricted, hostPaths: [String] = [], serviceAccounts: [String] = [],
        secrets: [String] = [], gpuLabel: String = ClusterPolicy.defaultGPULabel
    ) {
        self.projects = projects
        self.level = level
        self.hostPaths = hostPaths
        self.serviceAccounts = serviceAccounts
        self.secrets = secrets
        self.gpuLabel = gpuLabel
    }

    /// A Kubernetes cluster until an admin says otherwise: no project, restricted.
    public static let kubernetesDefault = ClusterPolicy()
    /// This machine (and clusters of kind local): every project; what a local task may mount is the project's
    /// `settings.hostPaths`, and the sandbox confines it whatever the level.
    public static let localDefault = ClusterPolicy(projects: ["*"], level: .privileged)

    enum CodingKeys: String, CodingKey {
        case projects, level, hostPaths, serviceAccounts, secrets, gpuLabel
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        projects = try container.decodeIfPresent([String].self, forKey: .projects) ?? []
        level = try container.decodeIfPresent(Level.self, forKey: .level) ?? .restricted
        hostPaths = try container.decodeIfPresent([String].self, forKey: .hostPaths) ?? []
        serviceAccounts = try container.decodeIfPresent([String].self, forKey: .serviceAccounts) ?? []
        secrets = try container.decodeIfPresent([String].self, forKey: .secrets) ?? []
        gpuLabel = try container.decodeIfPresent(String.self, forKey: .gpuLabel) ?? Self.defaultGPULabel
    }

    public func grants(_ project: String) -> Bool { projects.contains(project) || projects.contains("*") }

    /// The label Kubernetes' Pod Security admission enforces on a namespace.
    public var namespaceLabels: [String: String] {
        ["pod-security.kubernetes.io/enforce": level.rawValue, "pod-security.kubernetes.io/enforce-version": "latest"]
    }

    /// Every problem of the policy itself, each naming its field under `policy`.
    public func problems() -> [ValidationError] {
        var problems: [ValidationError] = []
        for (index, project) in projects.enumerated() where project != "*" {
            problems.record { () throws(ValidationError) in try Names.validateResourceName(project, field: "policy.projects[\(index)]") }
        }
        for (index, path) in hostPaths.enumerated() where !HostPath.isClean(path) {
            problems.append(
                ValidationError(field: "policy.hostPaths[\(index)]", "\"\(path)\" must be an absolute path without . or .. parts"))
        }
        for (index, account) in serviceAccounts.enumerated() {
            problems.record { () throws(ValidationError) in
                try Names.validateResourceName(account, field: "policy.serviceAccounts[\(index)]")
            }
        }
        for (index, secret) in secrets.enumerated() {
            problems.record { () throws(ValidationError) in try Names.validateResourceName(secret, field: "policy.secrets[\(index)]") }
        }
        if !Names.isLabelKey(gpuLabel) {
            problems.append(
                ValidationError(field: "policy.gpuLabel", "\"\(gpuLabel)\" is not a Kubernetes label key (such as nvidia.com/gpu.product)"))
        }
        return problems
    }

    /// What the plan asks of the cluster beyond this policy: each task's privilege, host paths, NFS volumes, service
    /// account and Secrets, naming the task, its template and the field.
    public func problems(of plan: RunPlan, cluster: String) -> [ValidationError] {
        var problems: [ValidationError] = []
        for task in plan.tasks {
            let field = "spec.tasks[\(task.name)]"
            func refuse(_ suffix: String, _ what: String, _ remedy: String) {
                problems.append(
                    ValidationError(
                        field: field + suffix,
                        "task \(task.name) (template \(task.template)) asks for \(what), which cluster \(cluster) does not allow "
                            + "(its policy is \(level.rawValue)); \(remedy)"))
            }
            if task.privileged == true, level < .privileged {
                refuse(".privileged", "a privileged container", "only a privileged cluster runs it")
            }
            if let account = task.serviceAccount, !serviceAccounts.contains(account) {
                refuse(".serviceAccount", "service account \(account)", "a platform admin can allow it in the cluster's serviceAccounts")
            }
            for (index, text) in task.mounts.enumerated() {
                guard let mount = try? Mount(parsing: text, field: field) else { continue }
                let mountField = ".mounts[\(index)]"
                switch mount.kind {
                case .hostpath where level < .privileged:
                    refuse(mountField, "host path \(mount.source)", "only a privileged cluster mounts host paths")
                case .hostpath where !HostPath.isClean(mount.source) || !hostPaths.contains(where: { HostPath.isWithin(mount.source, $0) }):
                    refuse(mountField, "host path \(mount.source)", "a platform admin can allow it in the cluster's hostPaths")
                case .nfs where level < .baseline:
                    refuse(mountField, "NFS volume \(mount.source)", "a baseline or privileged cluster mounts NFS")
                case .secret where !secrets.contains(mount.source):
                    refuse(mountField, "Secret \(mount.source)", "a platform admin can allow it in the cluster's secrets")
                default:
                    continue
                }
            }
        }
        return problems
    }
}
