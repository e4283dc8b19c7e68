/// A project's settings: the cluster its runs go to, defaults every task of it gets, and its quotas.
public struct ProjectSettings: Codable, Sendable, Equatable {
    /// A cluster's name; `local` (tasks as local processes) until clusters can be registered.
    public var cluster: String
    /// Environment every task gets, below the template's, the pipeline's and the task's.
    public var env: [String: String]
    /// Mounts every task gets (`source(kind):/path`), after the template's and the task's.
    public var mounts: [String]
    /// At most this many runs of the project running at once; more wait, `pending`.
    public var maxConcurrentRuns: Int?
    /// At most this many task attempts of the project running at once, over all its runs.
    public var maxConcurrentTasks: Int?
    /// Node labels every pod of the project's runs must match on Kubernetes (cube-studio's project
    /// `node_selector` and `org`), e.g. `{"org": "ml", "train": "true"}`.
    public var nodeSelector: [String: String]
    /// Whether tasks run as local processes reach the network (on by default); off, each attempt has only its own
    /// loopback.
    public var network: Bool?
    /// Host folders the project's local tasks may mount (`hostpath` mounts), each with what is below it; only a
    /// platform admin may change them. Absent when updating: unchanged.
    public var hostPaths: [String]?

    public init(
        cluster: String = "local", env: [String: String] = [:], mounts: [String] = [], maxConcurrentRuns: Int? = nil,
        maxConcurrentTasks: Int? = nil, nodeSelector: [String: String] = [:], network: Bool? = nil, hostPaths: [String]? = nil
    ) {
        self.cluster = cluster
        self.env = env
        self.mounts = mounts
        self.maxConcurrentRuns = maxConcurrentRuns
        self.maxConcurrentTasks = maxConcurrentTasks
        self.nodeSelector = nodeSelector
        self.network = network
        self.hostPaths = hostPaths
    }

    enum CodingKeys: String, CodingKey {
        case cluster, env, mounts, maxConcurrentRuns, maxConcurrentTasks, nodeSelector, network, hostPaths
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        cluster = try container.decodeIfPresent(String.self, forKey: .cluster) ?? "local"
        env = try container.decodeIfPresent([String: String].self, forKey: .env) ?? [:]
        mounts = try container.decodeIfPresent([String].self, forKey: .mounts) ?? []
        maxConcurrentRuns = try container.decodeIfPresent(Int.self, forKey: .maxConcurrentRuns)
        maxConcurrentTasks = try container.decodeIfPresent(Int.self, forKey: .maxConcurrentTasks)
        nodeSelector = try container.decodeIfPresent([String: String].self, forKey: .nodeSelector) ?? [:]
        network = try container.decodeIfPresent(Bool.self, forKey: .network)
        hostPaths = try container.decodeIfPresent([String].self, forKey: .hostPaths)
    }

    /// Every problem, each naming its field under `settings`.
    public func problems() -> [ValidationError] {
        var problems: [ValidationError] = []
        problems.record { () throws(ValidationError) in try Names.validateResourceName(cluster, field: "settings.cluster") }
        for key in env.keys.sorted() where !TemplateSpec.isEnvironmentName(key) {
            problems.append(ValidationError(field: "settings.env.\(key)", "is not a valid environment variable name"))
        }
        for (index, mount) in mounts.enumerated() {
            problems.record { () throws(ValidationError) in _ = try Mount(parsing: mount, field: "settings.mounts[\(index)]") }
        }
        if let maxConcurrentRuns, maxConcurrentRuns < 1 {
            problems.append(ValidationError(field: "settings.maxConcurrentRuns", "must be at least 1 (leave it out for no limit)"))
        }
        if let maxConcurrentTasks, maxConcurrentTasks < 1 {
            problems.append(ValidationError(field: "settings.maxConcurrentTasks", "must be at least 1 (leave it out for no limit)"))
        }
        for (key, value) in nodeSelector.sorted(by: { $0.key < $1.key }) {
            if !Self.isLabelKey(key) {
                problems.append(
                    ValidationError(
                        field: "settings.nodeSelector.\(key)", "is not a Kubernetes label key (such as gpu-type or example.com/pool)"))
            } else if !Self.isLabelValue(value) {
                problems.append(
                    ValidationError(
                        field: "settings.nodeSelector.\(key)", "\"\(value)\" is not a label value (at most 63 letters, digits, -, _ and .)")
                )
            }
        }
        for (index, path) in (hostPaths ?? []).enumerated() where !HostPath.isClean(path) {
            problems.append(
                ValidationError(
                    field: "settings.hostPaths[\(index)]", "\"\(path)\" must be an absolute path without . or .. parts or a trailing /"))
        }
        return problems
    }

    /// `[prefix/]name`: a DNS subdomain prefix, and a name of at most 63 characters.
    static func isLabelKey(_ key: String) -> Bool {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let name = parts.last, !name.isEmpty else { return false }
        let prefixIsValid =
            parts.count == 1
            || (parts[0].count <= 253
                && parts[0].split(separator: ".", omittingEmptySubsequences: false).allSatisfy {
                    !$0.isEmpty && $0.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
                })
        return prefixIsValid && isLabelValue(String(name))
    }

    /// At most 63 letters, digits, `-`, `_` and `.`, beginning and ending with a letter or digit (or empty).
    static func isLabelValue(_ value: String) -> Bool {
        guard !value.isEmpty else { return true }
        let alphanumeric: (Character) -> Bool = { $0.isASCII && ($0.isLetter || $0.isNumber) }
        return value.count <= 63 && alphanumeric(value.first!) && alphanumeric(value.last!)
            && value.allSatisfy { alphanumeric($0) || "-_.".contains($0) }
    }
}
