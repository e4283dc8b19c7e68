/// A project's settings: the cluster its runs go to, defaults every task of it gets, and its quotas.
public struct ProjectSettings: Codable, Sendable, Equatable {
    /// A cluster's name; `local` (tasks as local processes) until clusters can be registered.
    public var cluster: String
    /// Environment every task gets, below the template's, the pipeline's and the task's.
    public var env: [String: String]
    /// Secret entries of the env (`NAME: {secret: true, value: …}` in a document): only their names are here and
    /// shown; their values are kept sealed by the identity service and given to a task's process at launch.
    public var secretEnv: [String]
    /// Values of secret entries sent in an update (write-only: never encoded).
    public var newSecretValues: [String: String] = [:]
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
    /// Who hears of the ends of the project's runs and ticks, for every pipeline that does not say otherwise.
    public var alerts: AlertRule?
    /// Webhooks alerts may call, by name.
    public var webhooks: [String: Webhook]
    /// How long the project keeps its runs; absent: for ever.
    public var retention: RunRetention?

    public init(
        cluster: String = "local", env: [String: String] = [:], mounts: [String] = [], maxConcurrentRuns: Int? = nil,
        maxConcurrentTasks: Int? = nil, nodeSelector: [String: String] = [:], network: Bool? = nil, hostPaths: [String]? = nil
    ) {
        self.cluster = cluster
        self.env = env
        self.secretEnv = []
        self.mounts = mounts
        self.maxConcurrentRuns = maxConcurrentRuns
        self.maxConcurrentTasks = maxConcurrentTasks
        self.nodeSelector = nodeSelector
        self.network = network
        self.hostPaths = hostPaths
        self.alerts = nil
        self.webhooks = [:]
        self.retention = nil
    }

    enum CodingKeys: String, CodingKey {
        case cluster, env, mounts, maxConcurrentRuns, maxConcurrentTasks, nodeSelector, network, hostPaths, alerts, webhooks, retention
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        cluster = try container.decodeIfPresent(String.self, forKey: .cluster) ?? "local"
        env = [:]
        secretEnv = []
        for (name, entry) in try container.decodeIfPresent([String: EnvEntry].self, forKey: .env) ?? [:] {
            switch entry {
            case .plain(let value): env[name] = value
            case .secret(let value):
                secretEnv.append(name)
                if let value { newSecretValues[name] = value }
            }
        }
        secretEnv.sort()
        mounts = try container.decodeIfPresent([String].self, forKey: .mounts) ?? []
        maxConcurrentRuns = try container.decodeIfPresent(Int.self, forKey: .maxConcurrentRuns)
        maxConcurrentTasks = try container.decodeIfPresent(Int.self, forKey: .maxConcurrentTasks)
        nodeSelector = try container.decodeIfPresent([String: String].self, forKey: .nodeSelector) ?? [:]
        network = try container.decodeIfPresent(Bool.self, forKey: .network)
        hostPaths = try container.decodeIfPresent([String].self, forKey: .hostPaths)
        alerts = try container.decodeIfPresent(AlertRule.self, forKey: .alerts)
        webhooks = try container.decodeIfPresent([String: Webhook].self, forKey: .webhooks) ?? [:]
        retention = try container.decodeIfPresent(RunRetention.self, forKey: .retention)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(cluster, forKey: .cluster)
        var entries = env.mapValues(EnvEntry.plain)
        for name in secretEnv { entries[name] = .secret(nil) }
        try container.encode(entries, forKey: .env)
        try container.encode(mounts, forKey: .mounts)
        try container.encodeIfPresent(maxConcurrentRuns, forKey: .maxConcurrentRuns)
        try container.encodeIfPresent(maxConcurrentTasks, forKey: .maxConcurrentTasks)
        try container.encode(nodeSelector, forKey: .nodeSelector)
        try container.encodeIfPresent(network, forKey: .network)
        try container.encodeIfPresent(hostPaths, forKey: .hostPaths)
        try container.encodeIfPresent(alerts, forKey: .alerts)
        try container.encode(webhooks, forKey: .webhooks)
        try container.encodeIfPresent(retention, forKey: .retention)
    }

    /// The names of every sealed value the settings refer to: secret env entries, webhooks' URLs and signing keys.
    public var sealedNames: [String] {
        secretEnv + webhooks.keys.map(Webhook.urlSecretName) + webhooks.filter(\.value.signed).keys.map(Webhook.keySecretName)
    }

    /// The values to seal that an update sends (secret env values, webhooks' new URLs and keys), by sealed name.
    public var newSealedValues: [String: String] {
        var values = newSecretValues
        for (name, webhook) in webhooks {
            if let url = webhook.newURL { values[Webhook.urlSecretName(name)] = url }
            if let key = webhook.newSecret { values[Webhook.keySecretName(name)] = key }
        }
        return values
    }

    /// The settings as stored: write-only values dropped.
    public var withoutNewValues: ProjectSettings {
        var settings = self
        settings.newSecretValues = [:]
        for name in settings.webhooks.keys {
            settings.webhooks[name]?.newURL = nil
            settings.webhooks[name]?.newSecret = nil
        }
        return settings
    }

    /// Sealed values an update leaves missing (a new secret without its value, a new webhook without its URL, a
    /// signed webhook without a key), each naming its field; `stored` are the names sealed already.
    public func missingSealedValues(stored: Set<String>) -> [ValidationError] {
        let new = newSealedValues
        var missing = secretEnv.filter { stored.contains($0) == false && new[$0] == nil }.map {
            ValidationError(field: "settings.env.\($0).value", "a new secret needs its value")
        }
        for name in webhooks.keys.sorted() {
            for (sealed, field, what) in [
                (Webhook.urlSecretName(name), "url", "a new webhook needs its url"),
                (Webhook.keySecretName(name), "secret", "a signed webhook needs its secret"),
            ] where sealedNames.contains(sealed) && !stored.contains(sealed) && new[sealed] == nil {
                missing.append(ValidationError(field: "settings.webhooks.\(name).\(field)", what))
            }
        }
        return missing
    }

    /// An env entry as documents write it: a value, or `{secret: true, value: …}` (the value left out to keep the
    /// stored one; never written back).
    enum EnvEntry: Codable, Equatable {
        case plain(String)
        case secret(String?)

        enum Keys: String, CodingKey { case value, secret }

        init(from decoder: any Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                self = .plain(text)
                return
            }
            let container = try decoder.container(keyedBy: Keys.self)
            let value = try container.decodeIfPresent(String.self, forKey: .value)
            if try container.decodeIfPresent(Bool.self, forKey: .secret) == true {
                self = .secret(value)
            } else if let value {
                self = .plain(value)
            } else {
                throw DecodingError.dataCorruptedError(
                    forKey: .value, in: container, debugDescription: "an env entry is a string or {value, secret}")
            }
        }

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .plain(let value):
                var container = encoder.singleValueContainer()
                try container.encode(value)
            case .secret:
                var container = encoder.container(keyedBy: Keys.self)
                try container.encode(true, forKey: .secret)
            }
        }
    }

    /// Every problem, each naming its field under `settings`.
    public func problems() -> [ValidationError] {
        var problems: [ValidationError] = []
        problems.record { () throws(ValidationError) in try Names.validateResourceName(cluster, field: "settings.cluster") }
        for key in (Array(env.keys) + secretEnv).sorted() where !TemplateSpec.isEnvironmentName(key) {
            problems.append(ValidationError(field: "settings.env.\(key)", "is not a valid environment variable name"))
        }
        // At least 4 bytes: every line of a value is masked in logs, and masking shorter ones would garble them.
        for (name, value) in newSecretValues.sorted(by: { $0.key < $1.key }) where value.utf8.count < 4 || value.utf8.count > 16_384 {
            problems.append(ValidationError(field: "settings.env.\(name).value", "a secret is 4 to 16,384 bytes"))
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
            if !Names.isLabelKey(key) {
                problems.append(
                    ValidationError(
                        field: "settings.nodeSelector.\(key)", "is not a Kubernetes label key (such as gpu-type or example.com/pool)"))
            } else if !Names.isLabelValue(value) {
                problems.append(
                    ValidationError(
                        field: "settings.nodeSelector.\(key)", "\"\(value)\" is not a label value (at most 63 letters, digits, -, _ and .)")
                )
            }
        }
        if webhooks.count > 20 { problems.append(ValidationError(field: "settings.webhooks", "at most 20 webhooks")) }
        for (name, webhook) in webhooks.sorted(by: { $0.key < $1.key }) {
            problems += webhook.problems(name: name, at: "settings.webhooks.\(name)")
        }
        problems += alerts?.problems(at: "settings.alerts", webhooks: Set(webhooks.keys)) ?? []
        problems += retention?.problems(at: "settings.retention") ?? []
        for (index, path) in (hostPaths ?? []).enumerated() where !HostPath.isClean(path) {
            problems.append(
                ValidationError(
                    field: "settings.hostPaths[\(index)]", "\"\(path)\" must be an absolute path without . or .. parts or a trailing /"))
        }
        return problems
    }
}
