import Configuration
import Foundation
import Logging
import ServiceContracts
import SystemPackage
import TrellisCore
import TrellisStore

/// Settings shared by every executable, read from (highest first) flags, `TRELLIS_*` environment variables and an
/// optional YAML file (`--config FILE` / `TRELLIS_CONFIG`), and validated at start.
///
/// | key | flag | environment | default |
/// |---|---|---|---|
/// | host | --host | TRELLIS_HOST | 127.0.0.1 |
/// | port | --port | TRELLIS_PORT | the executable's own |
/// | data.dir | --data-dir | TRELLIS_DATA_DIR | ./.trellis |
/// | database.url | --database-url | TRELLIS_DATABASE_URL | sqlite in data.dir |
/// | admin.password | | TRELLIS_ADMIN_PASSWORD | generated at first start |
/// | services.NAME.url | --services-NAME-url | TRELLIS_SERVICES_NAME_URL | http://127.0.0.1:default port |
/// | secrets.key | --secrets-key | TRELLIS_SECRETS_KEY | `<data dir>/secrets.key`, created |
/// | token.lifetime | --token-lifetime | TRELLIS_TOKEN_LIFETIME | 43200 (seconds) |
/// | log.level | --log-level | TRELLIS_LOG_LEVEL | info |
/// | task.stop.grace | --task-stop-grace | TRELLIS_TASK_STOP_GRACE | 10s (SIGTERM → SIGKILL on cancel, timeout) |
/// | schedule.min.interval | --schedule-min-interval | TRELLIS_SCHEDULE_MIN_INTERVAL | 10m (closer cron ticks are skipped) |
/// | local.executor | --local-executor | TRELLIS_LOCAL_EXECUTOR | sandboxed (bubblewrap); unsandboxed runs tasks bare |
/// | task.uids | --task-uids | TRELLIS_TASK_UIDS | 2000000-2999999 (a user per project when run as root) |
/// | task.max.processes | --task-max-processes | TRELLIS_TASK_MAX_PROCESSES | 2048 (per project user; per attempt with resources) |
/// | task.max.files | --task-max-files | TRELLIS_TASK_MAX_FILES | 4096 open files per process |
/// | task.gpu.probe | --task-gpu-probe | TRELLIS_TASK_GPU_PROBE | nvidia-smi on PATH, if any ("none": no GPU sampling) |
/// | metrics.raw.age | --metrics-raw-age | TRELLIS_METRICS_RAW_AGE | 6h (older samples are kept per minute: min/avg/max) |
/// | metrics.retention | --metrics-retention | TRELLIS_METRICS_RETENTION | 30d (usage of attempts that ended before is deleted) |
/// | runs.retention.interval | --runs-retention-interval | TRELLIS_RUNS_RETENTION_INTERVAL | 10m (how often projects' `settings.retention` applies) |
/// | alerts.attempts | --alerts-attempts | TRELLIS_ALERTS_ATTEMPTS | 8 (tries of a webhook before its delivery is dead) |
/// | alerts.backoff | --alerts-backoff | TRELLIS_ALERTS_BACKOFF | 2s (before the second try; doubling, at most 10m) |
/// | ldap.* | --ldap-… | TRELLIS_LDAP_… | directory logins, off unless ldap.url is set (``LDAPSettings``) |
public struct TrellisConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var dataDirectory: String
    public var databaseURL: DatabaseURL
    public var adminPassword: String?
    /// Base64 of the 32-byte key that encrypts stored secrets; nil: `<data dir>/secrets.key`.
    public var secretsKey: String?
    /// Where split mode's services reach each other (`services.NAME.url`), validated at start.
    public var serviceURLs: [ServiceName: String]
    public var tokenLifetime: Duration
    public var logLevel: Logger.Level
    /// How long a stopped task's processes get between SIGTERM and SIGKILL.
    public var taskStopGrace: Duration
    /// The shortest gap between two ticks of one schedule (cube-studio's PIPELINE_TASK_CRON_RESOLUTION); closer ticks
    /// are recorded skipped.
    public var scheduleMinimumInterval: Duration
    /// Directory logins; nil when `ldap.url` is not set.
    public var ldap: LDAPSettings?
    /// Whether local tasks run in a bubblewrap sandbox (the default) or as bare processes of the server's user.
    public var localExecutor: LocalExecutorMode
    /// The users local tasks run as, one per project, when the server runs as root.
    public var taskUsers: ClosedRange<Int>
    /// Processes (and threads) a project's user may have at once (RLIMIT_NPROC); and one attempt, when it has resource
    /// limits and so control groups.
    public var taskMaxProcesses: Int
    /// Open files per task process (RLIMIT_NOFILE).
    public var taskMaxFiles: Int
    /// `nvidia-smi`, absolute, which local attempts' samples ask for their processes' GPU use; nil: none.
    public var taskGPUProbe: String?
    /// Resource samples older than this are downsampled to one row per minute (min, mean, max).
    public var metricsRawAge: Duration
    /// The resource use of attempts that ended longer ago than this is deleted.
    public var metricsRetention: Duration
    /// How often the orchestrator deletes the runs projects' `settings.retention` no longer keeps.
    public var runsRetentionInterval: Duration
    /// How often a webhook is tried before its delivery is dead (shown in the portal, retried by hand).
    public var alertAttempts: Int
    /// The wait before a webhook's second try; each next wait doubles, up to 10 minutes.
    public var alertBackoff: Duration
    let reader: ConfigReader

    /// Every key Trellis reads (`services.NAME.url` aside).
    static let knownKeys =
        [
            "host", "port", "data.dir", "database.url", "admin.password", "secrets.key", "token.lifetime", "log.level", "config",
            "task.stop.grace", "schedule.min.interval", "local.executor", "task.uids", "task.max.processes", "task.max.files",
            "task.gpu.probe", "metrics.raw.age", "metrics.retention", "runs.retention.interval", "alerts.attempts", "alerts.backoff",
        ] + LDAPSettings.keys

    /// Reads and validates. `flags` are values already parsed from a command line (keys as in the table);
    /// `arguments` is a whole command line (program name first) whose `--flags` are read here.
    public static func load(
        defaultPort: Int,
        flags: [String: String] = [:],
        arguments: [String]? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> TrellisConfiguration {
        var providers: [any ConfigProvider] = []
        if !flags.isEmpty {
            providers.append(
                InMemoryProvider(
                    name: "flags",
                    values: Dictionary(
                        uniqueKeysWithValues: flags.map {
                            (
                                AbsoluteConfigKey($0.key.split(separator: ".").map(String.init)),
                                ConfigValue(.string($0.value), isSecret: false)
                            )
                        })
                )
            )
        }
        if let arguments {
            try checkFlags(arguments)
            providers.append(CommandLineArgumentsProvider(arguments: arguments))
        }
        let secrets: SecretsSpecifier<String, String> = .specific([
            "TRELLIS_ADMIN_PASSWORD", "TRELLIS_DATABASE_URL", "TRELLIS_SECRETS_KEY", "TRELLIS_LDAP_BIND_PASSWORD",
        ])
        providers.append(
            EnvironmentVariablesProvider(environmentVariables: environment, secretsSpecifier: secrets).prefixKeys(with: "trellis"))
        let early = ConfigReader(providers: providers)
        if let file = early.string(forKey: "config") {
            guard FileManager.default.fileExists(atPath: file) else {
                throw ConfigurationError(key: "config", value: file, reason: "the configuration file does not exist")
            }
            do {
                providers.append(try await FileProvider<YAMLSnapshot>(filePath: FilePath(file)))
            } catch {
                throw ConfigurationError(key: "config", value: file, reason: "cannot read it as YAML: \(error)")
            }
        }
        return try TrellisConfiguration(reader: ConfigReader(providers: providers), defaultPort: defaultPort)
    }

    /// A mistyped flag is an error, not silently ignored.
    static func checkFlags(_ arguments: [String]) throws(ConfigurationError) {
        let known = Set(knownKeys.map { "--" + $0.replacingOccurrences(of: ".", with: "-") })
        for argument in arguments.dropFirst() where argument.hasPrefix("--") {
            let flag = String(argument.split(separator: "=", maxSplits: 1)[0])
            let isServiceURL = flag.hasPrefix("--services-") && flag.hasSuffix("-url")
            guard known.contains(flag) || isServiceURL else {
                throw ConfigurationError(
                    key: String(flag.dropFirst(2)).replacingOccurrences(of: "-", with: "."), value: argument,
                    reason: "unknown flag; known flags: " + known.sorted().joined(separator: ", ") + ", --services-NAME-url"
                )
            }
        }
    }

    init(reader: ConfigReader, defaultPort: Int) throws(ConfigurationError) {
        self.reader = reader
        host = reader.string(forKey: "host") ?? "127.0.0.1"
        port = try Self.integer(reader, "port", default: defaultPort, range: 0...65535)
        dataDirectory = reader.string(forKey: "data.dir") ?? ".trellis"
        if let text = reader.string(forKey: "database.url", isSecret: true) {
            do {
                databaseURL = try DatabaseURL(text)
            } catch {
                throw ConfigurationError(key: "database.url", value: "(hidden)", reason: error.description)
            }
        } else {
            databaseURL = .sqlite(inDataDirectory: dataDirectory)
        }
        adminPassword = reader.string(forKey: "admin.password", isSecret: true)
        secretsKey = reader.string(forKey: "secrets.key", isSecret: true)
        var serviceURLs: [ServiceName: String] = [:]
        for service in ServiceName.allCases {
            serviceURLs[service] = try Self.url(reader, "services.\(service.rawValue).url") ?? "http://127.0.0.1:\(service.defaultPort)"
        }
        self.serviceURLs = serviceURLs
        tokenLifetime = .seconds(try Self.integer(reader, "token.lifetime", default: 12 * 3600, range: 60...(90 * 86400)))
        let level = reader.string(forKey: "log.level") ?? "info"
        guard let logLevel = Logger.Level(rawValue: level) else {
            let accepted = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigurationError(key: "log.level", value: level, reason: "must be one of \(accepted)")
        }
        self.logLevel = logLevel
        taskStopGrace = try Self.duration(reader, "task.stop.grace", default: "10s")
        scheduleMinimumInterval = try Self.duration(reader, "schedule.min.interval", default: "10m")
        metricsRawAge = try Self.duration(reader, "metrics.raw.age", default: "6h")
        metricsRetention = try Self.duration(reader, "metrics.retention", default: "30d")
        runsRetentionInterval = try Self.duration(reader, "runs.retention.interval", default: "10m")
        alertAttempts = try Self.integer(reader, "alerts.attempts", default: 8, range: 1...30)
        alertBackoff = try Self.duration(reader, "alerts.backoff", default: "2s")
        ldap = try LDAPSettings(reader: reader)
        let executor = reader.string(forKey: "local.executor") ?? LocalExecutorMode.sandboxed.rawValue
        guard let localExecutor = LocalExecutorMode(rawValue: executor) else {
            throw ConfigurationError(key: "local.executor", value: executor, reason: "must be sandboxed or unsandboxed")
        }
        self.localExecutor = localExecutor
        let users = reader.string(forKey: "task.uids") ?? "2000000-2999999"
        let bounds = users.split(separator: "-").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard bounds.count == 2, bounds[0] >= 1000, bounds[0] <= bounds[1], bounds[1] < Int(Int32.max) else {
            throw ConfigurationError(
                key: "task.uids", value: users, reason: "must be FIRST-LAST, two user ids from 1000 up (2000000-2999999)")
        }
        taskUsers = bounds[0]...bounds[1]
        taskMaxProcesses = try Self.integer(reader, "task.max.processes", default: 2048, range: 16...1_000_000)
        taskMaxFiles = try Self.integer(reader, "task.max.files", default: 4096, range: 64...1_048_576)
        taskGPUProbe = try Self.gpuProbe(reader)
    }

    /// The base URL of another service in split mode.
    public func serviceURL(_ service: ServiceName) -> String {
        serviceURLs[service] ?? "http://127.0.0.1:\(service.defaultPort)"
    }

    static func integer(_ reader: ConfigReader, _ key: String, default value: Int, range: ClosedRange<Int>) throws(ConfigurationError)
        -> Int
    {
        guard let text = reader.string(forKey: ConfigKey(key.split(separator: ".").map(String.init))) else { return value }
        guard let number = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw ConfigurationError(key: key, value: text, reason: "must be a whole number")
        }
        guard range.contains(number) else {
            throw ConfigurationError(key: key, value: text, reason: "must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return number
    }

    /// `task.gpu.probe`: an absolute path, `none`, or (unset) `nvidia-smi` where the server's PATH has it.
    static func gpuProbe(_ reader: ConfigReader) throws(ConfigurationError) -> String? {
        guard let text = reader.string(forKey: "task.gpu.probe") else {
            let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
            return path.split(separator: ":").map { "\($0)/nvidia-smi" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        }
        if text == "none" { return nil }
        guard text.hasPrefix("/"), FileManager.default.isExecutableFile(atPath: text) else {
            throw ConfigurationError(key: "task.gpu.probe", value: text, reason: "must be the absolute path of nvidia-smi, or none")
        }
        return text
    }

    /// A duration (`90s`, `10m`, `6h`, `30d`).
    static func duration(_ reader: ConfigReader, _ key: String, default fallback: String) throws(ConfigurationError) -> Duration {
        let text = reader.string(forKey: ConfigKey(key.split(separator: ".").map(String.init))) ?? fallback
        do {
            return try DurationText.parse(text, field: key)
        } catch {
            throw ConfigurationError(key: key, value: text, reason: error.message)
        }
    }

    static func url(_ reader: ConfigReader, _ key: String) throws(ConfigurationError) -> String? {
        guard let text = reader.string(forKey: ConfigKey(key.split(separator: ".").map(String.init))) else { return nil }
        guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw ConfigurationError(key: key, value: text, reason: "must be an http:// or https:// URL")
        }
        return text
    }
}

/// How local tasks run (`local.executor`).
public enum LocalExecutorMode: String, Sendable {
    /// Each attempt in a bubblewrap sandbox: its own namespaces, the system read-only, only its folder writable.
    case sandboxed
    /// As bare processes of the server's user: for machines without user namespaces, by an admin's choice.
    case unsandboxed
}

/// A bad setting, named by key with the flag and environment variable that set it.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let key: String
    public let value: String
    public let reason: String

    public init(key: String, value: String, reason: String) {
        self.key = key
        self.value = value
        self.reason = reason
    }

    public var description: String {
        let flag = "--" + key.replacingOccurrences(of: ".", with: "-")
        let variable = "TRELLIS_" + key.uppercased().replacingOccurrences(of: ".", with: "_").replacingOccurrences(of: "-", with: "_")
        return "configuration \(key) (\(flag) / \(variable)) = \"\(value)\": \(reason)"
    }
}
