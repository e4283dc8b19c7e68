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

    public init(
        cluster: String = "local", env: [String: String] = [:], mounts: [String] = [], maxConcurrentRuns: Int? = nil,
        maxConcurrentTasks: Int? = nil
    ) {
        self.cluster = cluster
        self.env = env
        self.mounts = mounts
        self.maxConcurrentRuns = maxConcurrentRuns
        self.maxConcurrentTasks = maxConcurrentTasks
    }

    enum CodingKeys: String, CodingKey {
        case cluster, env, mounts, maxConcurrentRuns, maxConcurrentTasks
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        cluster = try container.decodeIfPresent(String.self, forKey: .cluster) ?? "local"
        env = try container.decodeIfPresent([String: String].self, forKey: .env) ?? [:]
        mounts = try container.decodeIfPresent([String].self, forKey: .mounts) ?? []
        maxConcurrentRuns = try container.decodeIfPresent(Int.self, forKey: .maxConcurrentRuns)
        maxConcurrentTasks = try container.decodeIfPresent(Int.self, forKey: .maxConcurrentTasks)
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
        return problems
    }
}
