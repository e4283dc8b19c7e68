import Foundation
import NIOCore
import TrellisCore

/// One attempt of one task, as the orchestrator asks the cluster gateway to run it.
public struct ExecutionRequest: Codable, Sendable, Equatable {
    /// Unique per attempt; launching the same id twice starts it once.
    public var id: String
    public var project: String
    public var pipeline: String
    public var run: String
    public var task: String
    public var attempt: Int
    /// The process: executable and arguments.
    public var command: [String]
    /// The task's whole environment, `TRELLIS_*` included (the replica variables are added per replica).
    public var environment: [String: String]
    public var image: String
    public var workingDirectory: String?
    public var replicas: Int
    public var timeoutMilliseconds: Int64?
    /// How long a stopped process gets between SIGTERM and SIGKILL.
    public var stopGraceMilliseconds: Int64
    /// Debug runs keep their working directory after the process ends.
    public var keepWorkingDirectory: Bool
    /// The task's mounts (`source(kind):/path`); a local sandbox binds `hostpath` and `memory` ones.
    public var mounts: [String]?
    /// The host folders `hostpath` mounts must lead into (the project's `settings.hostPaths`).
    public var hostPaths: [String]?
    /// False: the task has no network (its own loopback only). Absent: it has.
    public var network: Bool?
    /// The limits of the task's `resources` (`request~limit`): millicores and bytes, enforced locally where the
    /// machine lets the cluster gateway make control groups.
    public var cpuLimitMillicores: Int64?
    public var memoryLimitBytes: Int64?
    /// Values never to appear in the execution's logs (its secret env entries' values): each is written `***`.
    public var masked: [String]?

    public init(
        id: String, project: String, pipeline: String, run: String, task: String, attempt: Int, command: [String],
        environment: [String: String], image: String, workingDirectory: String?, replicas: Int, timeoutMilliseconds: Int64?,
        stopGraceMilliseconds: Int64, keepWorkingDirectory: Bool, mounts: [String]? = nil, hostPaths: [String]? = nil, network: Bool? = nil,
        cpuLimitMillicores: Int64? = nil, memoryLimitBytes: Int64? = nil
    ) {
        self.id = id
        self.project = project
        self.pipeline = pipeline
        self.run = run
        self.task = task
        self.attempt = attempt
        self.command = command
        self.environment = environment
        self.image = image
        self.workingDirectory = workingDirectory
        self.replicas = replicas
        self.timeoutMilliseconds = timeoutMilliseconds
        self.stopGraceMilliseconds = stopGraceMilliseconds
        self.keepWorkingDirectory = keepWorkingDirectory
        self.mounts = mounts
        self.hostPaths = hostPaths
        self.network = network
        self.cpuLimitMillicores = cpuLimitMillicores
        self.memoryLimitBytes = memoryLimitBytes
    }
}

/// Where an execution is, as the cluster gateway reports it.
public struct ExecutionStatus: Codable, Sendable, Equatable {
    public enum Phase: String, Codable, Sendable {
        /// Never launched (or launched so long ago that it is gone).
        case unknown
        case running, succeeded, failed, cancelled
        case timedOut = "timed_out"
        /// The platform failed it: the process could not start, or its supervisor died without a word.
        case lost

        public var isFinished: Bool { self != .unknown && self != .running }
    }

    /// One process of the execution (one per replica).
    public struct Replica: Codable, Sendable, Equatable {
        public var rank: Int
        public var pid: Int32?
        public var exitCode: Int?
        /// The signal that ended it, when one did.
        public var signal: Int32?

        public init(rank: Int, pid: Int32?, exitCode: Int? = nil, signal: Int32? = nil) {
            self.rank = rank
            self.pid = pid
            self.exitCode = exitCode
            self.signal = signal
        }
    }

    public var id: String
    public var phase: Phase
    public var exitCode: Int?
    public var reason: String?
    public var startedAt: Date?
    public var finishedAt: Date?
    public var workingDirectory: String?
    public var replicas: [Replica]
    /// On Kubernetes: the attempt's pods, one per replica.
    public var pods: [PodStatus]?
    /// Once it ended: what its logs and samples take on the cluster gateway, in bytes (nil on Kubernetes, where the
    /// cluster keeps them).
    public var storedBytes: Int64?

    public init(
        id: String, phase: Phase, exitCode: Int? = nil, reason: String? = nil, startedAt: Date? = nil, finishedAt: Date? = nil,
        workingDirectory: String? = nil, replicas: [Replica] = [], pods: [PodStatus]? = nil
    ) {
        self.id = id
        self.phase = phase
        self.exitCode = exitCode
        self.reason = reason
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.workingDirectory = workingDirectory
        self.replicas = replicas
        self.pods = pods
    }
}

/// A pod of a Kubernetes attempt as its cluster reports it: phase, node, conditions, the main container's state and
/// the events about it (scheduling, image pulls, kills), oldest first.
public struct PodStatus: Codable, Sendable, Equatable {
    public struct Condition: Codable, Sendable, Equatable {
        public var type: String
        public var status: String
        public var reason: String?
        public var message: String?

        public init(type: String, status: String, reason: String?, message: String?) {
            self.type = type
            self.status = status
            self.reason = reason
            self.message = message
        }
    }

    public struct Event: Codable, Sendable, Equatable {
        public var type: String
        public var reason: String
        public var message: String
        public var count: Int
        public var at: Date?

        public init(type: String, reason: String, message: String, count: Int, at: Date?) {
            self.type = type
            self.reason = reason
            self.message = message
            self.count = count
            self.at = at
        }
    }

    public var name: String
    /// Pending, Running, Succeeded, Failed, Unknown; `Gone` when the pod no longer exists.
    public var phase: String
    public var node: String?
    /// The main container's state: `waiting: ImagePullBackOff`, `running`, `terminated: OOMKilled (exit 137)`.
    public var container: String?
    public var conditions: [Condition]
    public var events: [Event]

    public init(name: String, phase: String, node: String?, container: String?, conditions: [Condition], events: [Event]) {
        self.name = name
        self.phase = phase
        self.node = node
        self.container = container
        self.conditions = conditions
        self.events = events
    }
}

/// CPU and memory of an execution's processes at one instant (summed over each replica's process group). A replica's
/// last sample (`final`) is taken when it ended, from what the kernel counted: its peak memory (as `rssBytes` too) and
/// the CPU time it used, so a task shorter than the sampling interval has one. GPU fields only where a GPU was used.
public struct ResourceSample: Codable, Sendable, Equatable {
    public var at: Date
    public var replica: Int
    /// Percent of one core.
    public var cpuPercent: Double
    public var rssBytes: Int64
    /// Threads of the replica's processes (local processes).
    public var threads: Int?
    public var final: Bool?
    public var peakRssBytes: Int64?
    public var cpuSeconds: Double?
    /// Utilisation of the GPUs the replica's processes use (percent, their mean) and the GPU memory they hold.
    public var gpuPercent: Double?
    public var gpuMemoryBytes: Int64?
    /// On Kubernetes: the pod the sample is of (the replica is its index among the attempt's pods).
    public var pod: String?

    public init(
        at: Date, replica: Int, cpuPercent: Double, rssBytes: Int64, threads: Int? = nil, final: Bool? = nil, peakRssBytes: Int64? = nil,
        cpuSeconds: Double? = nil, gpuPercent: Double? = nil, gpuMemoryBytes: Int64? = nil, pod: String? = nil
    ) {
        self.at = at
        self.replica = replica
        self.cpuPercent = cpuPercent
        self.rssBytes = rssBytes
        self.threads = threads
        self.final = final
        self.peakRssBytes = peakRssBytes
        self.cpuSeconds = cpuSeconds
        self.gpuPercent = gpuPercent
        self.gpuMemoryBytes = gpuMemoryBytes
        self.pod = pod
    }
}

/// The samples of an execution written after a byte offset of its sample file: complete lines only, `next` the offset
/// to ask from next time, `finished` once the execution ended and everything it wrote has been read.
public struct SampleBatch: Codable, Sendable, Equatable {
    public var samples: [ResourceSample]
    public var next: Int64
    public var finished: Bool

    public init(samples: [ResourceSample], next: Int64, finished: Bool) {
        self.samples = samples
        self.next = next
        self.finished = finished
    }
}

/// Executions that ended and runs whose Workflow changed since a cursor. `reset`: the executor restarted and lost its
/// history; check everything.
public struct ExecutionChanges: Codable, Sendable, Equatable {
    public var cursor: UInt64
    public var ids: [String]
    /// Runs on Kubernetes whose Workflow changed.
    public var runs: [String]
    public var reset: Bool

    public init(cursor: UInt64, ids: [String], runs: [String] = [], reset: Bool) {
        self.cursor = cursor
        self.ids = ids
        self.runs = runs
        self.reset = reset
    }
}

/// What runs a cluster: this machine's processes, or Kubernetes through Argo Workflows.
public enum ClusterKind: String, Codable, Sendable {
    case local, kubernetes
}

/// A cluster as the orchestrator and the identity service see it: what runs it, and what its admins allow projects.
public struct ClusterAccess: Codable, Sendable, Equatable {
    public var kind: ClusterKind
    public var policy: ClusterPolicy

    public init(kind: ClusterKind, policy: ClusterPolicy) {
        self.kind = kind
        self.policy = policy
    }
    /// What `plan` asks of this cluster beyond what its admins allow, as a project's pipeline is checked at save and
    /// at run: on this machine its host folders outside the project's `settings.hostPaths`, on Kubernetes everything
    /// beyond the cluster's policy.
    public func problems(of plan: RunPlan, project: String, settings: ProjectSettings) -> [ValidationError] {
        switch kind {
        case .local: HostPath.problems(of: plan, project: project, allowed: settings.hostPaths ?? [])
        case .kubernetes: policy.problems(of: plan, cluster: settings.cluster)
        }
    }
}

/// A run bound for a Kubernetes cluster: its Workflow, compiled by the orchestrator (``ArgoWorkflow``), with the
/// namespace it goes to.
public struct WorkflowSubmission: Codable, Sendable, Equatable {
    /// The Secret in the project's namespace that holds the project's registry logins (`imagePullSecrets`).
    public static let pullSecret = "trellis-registries"

    public var run: String
    public var project: String
    public var cluster: String
    public var workflow: JSONValue
    /// The project's registry logins, written to ``pullSecret`` before the Workflow is created.
    public var registries: [RegistryCredential]
    /// The values of the project's secret env entries, written to `ArgoWorkflow.secretEnvironment` before the
    /// Workflow is created (its pods read them from there).
    public var secretEnvironment: [String: String]

    public init(
        run: String, project: String, cluster: String, workflow: JSONValue, registries: [RegistryCredential] = [],
        secretEnvironment: [String: String] = [:]
    ) {
        self.run = run
        self.project = project
        self.cluster = cluster
        self.workflow = workflow
        self.registries = registries
        self.secretEnvironment = secretEnvironment
    }

    enum CodingKeys: String, CodingKey {
        case run, project, cluster, workflow, registries, secretEnvironment
    }

    /// `registries` and `secretEnvironment` may be left out (a project without logins or secrets).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            run: try container.decode(String.self, forKey: .run), project: try container.decode(String.self, forKey: .project),
            cluster: try container.decode(String.self, forKey: .cluster), workflow: try container.decode(JSONValue.self, forKey: .workflow),
            registries: try container.decodeIfPresent([RegistryCredential].self, forKey: .registries) ?? [],
            secretEnvironment: try container.decodeIfPresent([String: String].self, forKey: .secretEnvironment) ?? [:])
    }
}

/// A log as chunks of bytes, read as they are asked for (a large log is never held in memory).
public typealias LogStream = AsyncThrowingStream<ByteBuffer, any Error>

/// What the orchestrator asks the cluster gateway: in process in embedded mode, over HTTP in split mode.
public protocol ExecutorClient: Sendable {
    /// Starts an execution; a second launch of the same id does nothing.
    func launch(_ request: ExecutionRequest) async throws
    /// The status of each id, in order.
    func status(of ids: [String]) async throws -> [ExecutionStatus]
    /// Stops an execution: SIGTERM, then SIGKILL after its grace period. It then ends `cancelled`.
    func stop(_ id: String) async throws
    /// Removes an ended execution and everything it left (logs, samples, kept working directory): its project was
    /// deleted. Throws ``PurgeNotDone`` while it still runs (it is asked to stop).
    func discard(_ id: String) async throws
    /// Waits up to `wait` for executions to end after `cursor`.
    func changes(after cursor: UInt64, wait: Duration) async throws -> ExecutionChanges
    /// The combined log (every replica, prefixed) or one replica's; with `follow`, until the execution ends.
    /// Nil when the execution is unknown.
    func logs(of id: String, replica: Int?, follow: Bool) async throws -> LogStream?
    /// The resource samples taken while it ran.
    func samples(of id: String) async throws -> [ResourceSample]
    /// For each execution, the samples after the position given (0: from the start; what the last batch's `next` said
    /// after that): a local one's from its supervisor, a Kubernetes attempt's pods' from its cluster's Prometheus.
    /// Executions unknown here come back empty and finished.
    func samples(after offsets: [String: Int64]) async throws -> [String: SampleBatch]

    /// The kind and policy of the cluster named `name` (`local` is always there); nil when none is registered.
    func cluster(named name: String) async throws -> ClusterAccess?
    /// Creates the run's Workflow in its cluster unless it is there already (a second submission does nothing).
    func submit(_ submission: WorkflowSubmission) async throws
    /// What the run's Workflow says now; nil when the cluster has none.
    func workflow(ofRun run: String) async throws -> WorkflowProgress?
    /// Shuts the run's Workflow down (Argo's `spec.shutdown: Stop`).
    func stopWorkflow(ofRun run: String) async throws
    /// Runs the failed nodes of the run's Workflow again, as `argo retry` does, and every node of `restarting` even if
    /// it succeeded; false when the cluster has no Workflow of the run.
    func retryWorkflow(ofRun run: String, restarting tasks: [String]) async throws -> Bool
}
