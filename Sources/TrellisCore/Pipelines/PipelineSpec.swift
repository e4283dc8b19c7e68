/// A pipeline as written in a pipeline file (`trellis apply -f pipeline.yaml`) or sent to the API; see DESIGN.md.
public struct PipelineSpec: Codable, Sendable, Equatable {
    public var apiVersion: String
    public var kind: String
    public var metadata: Metadata
    public var spec: Body

    public struct Metadata: Codable, Sendable, Equatable {
        public var name: String
        public var project: String?
        public var description: String?
    }

    public struct Body: Codable, Sendable, Equatable {
        /// At most this many tasks of one run at once.
        public var parallelism: Int?
        /// Rendered and given to every task.
        public var env: [String: String]?
        /// A whole run ends failed after this long (Argo's workflow `activeDeadlineSeconds`).
        public var timeout: String?
        public var schedule: Schedule?
        /// Who hears of this pipeline's runs and ticks; fields left out take the project's `settings.alerts`.
        public var alerts: AlertRule?
        /// Run-time parameters (``Parameter``), `{{ params.NAME }}`.
        public var parameters: [Parameter]?
        public var tasks: [Task]
    }

    /// When runs start by themselves (validated with the scheduler).
    public struct Schedule: Codable, Sendable, Equatable {
        public var cron: String
        public var timezone: String?
        public var startTime: String?
        public var catchup: Bool?
        public var dependsOnPast: Bool?
        public var maxActiveRuns: Int?
        public var expiredLimit: Int?

        public init(
            cron: String, timezone: String? = nil, startTime: String? = nil, catchup: Bool? = nil, dependsOnPast: Bool? = nil,
            maxActiveRuns: Int? = nil, expiredLimit: Int? = nil
        ) {
            self.cron = cron
            self.timezone = timezone
            self.startTime = startTime
            self.catchup = catchup
            self.dependsOnPast = dependsOnPast
            self.maxActiveRuns = maxActiveRuns
            self.expiredLimit = expiredLimit
        }
    }

    public struct Task: Codable, Sendable, Equatable {
        public var name: String
        /// A template name, optionally `@version`.
        public var template: String
        public var args: [String: JSONValue]?
        public var dependsOn: [String]?
        public var retry: Retry?
        public var timeout: String?
        public var replicas: Int?
        public var resources: TemplateSpec.Resources?
        public var skip: Bool?
        public var env: [String: String]?
        public var mounts: [String]?
    }

    public struct Retry: Codable, Sendable, Equatable {
        public var limit: Int
        public var policy: RetryPolicy?
        public var backoff: Backoff?
    }

    /// Which failures are retried, as Argo names them.
    public enum RetryPolicy: String, Codable, Sendable, CaseIterable {
        /// Any failure, including the task being stopped by the platform.
        case always = "Always"
        /// A non-zero exit of the task's own process (the default).
        case onFailure = "OnFailure"
        /// Platform errors only: the process could not start or was lost.
        case onError = "OnError"
    }

    public struct Backoff: Codable, Sendable, Equatable {
        public var duration: String?
        public var factor: Double?
        public var maxDuration: String?
    }
}

/// `name` or `name@version`.
public struct TemplateReference: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let name: String
    public let version: String?

    public init(parsing text: String) {
        let parts = text.split(separator: "@", maxSplits: 1).map(String.init)
        name = parts.first ?? ""
        version = parts.count == 2 ? parts[1] : nil
    }

    public var description: String { version.map { "\(name)@\($0)" } ?? name }
}
