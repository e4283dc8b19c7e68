import AsyncHTTPClient
import Foundation

/// A task attempt as the orchestrator last wrote it, for the metrics collector: which execution it is, where it ran and
/// what it asked for. The feed is ordered by `changedAt`, the instant the orchestrator wrote the attempt.
public struct AttemptChange: Codable, Sendable, Equatable {
    public var executionID: String
    public var project: String
    public var pipeline: String
    public var run: String
    public var task: String
    public var attempt: Int
    /// The attempt's state (`running`, `succeeded`, …).
    public var state: String
    /// When it started (when it was launched, while it runs).
    public var startedAt: Date?
    public var finishedAt: Date?
    /// The Kubernetes cluster its run was sent to; nil: local processes.
    public var cluster: String?
    /// The task's `cpu` and `memory` (`request~limit`) and GPUs, as the run's plan has them.
    public var cpu: String?
    public var memory: String?
    public var gpu: Int?
    public var changedAt: Date

    public init(
        executionID: String, project: String, pipeline: String, run: String, task: String, attempt: Int, state: String,
        startedAt: Date?, finishedAt: Date?, cluster: String?, cpu: String?, memory: String?, gpu: Int?, changedAt: Date
    ) {
        self.executionID = executionID
        self.project = project
        self.pipeline = pipeline
        self.run = run
        self.task = task
        self.attempt = attempt
        self.state = state
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.cluster = cluster
        self.cpu = cpu
        self.memory = memory
        self.gpu = gpu
        self.changedAt = changedAt
    }
}

/// A run the orchestrator deleted (a project's retention): the metrics collector deletes its samples.
public struct DeletedRun: Codable, Sendable, Equatable {
    public var run: String
    public var project: String
    public var deletedAt: Date

    public init(run: String, project: String, deletedAt: Date) {
        self.run = run
        self.project = project
        self.deletedAt = deletedAt
    }
}

/// What the metrics collector asks the orchestrator: attempts written at or after an instant (after the execution
/// `after`, when given, among those written at that very instant), oldest first; and likewise the runs deleted (after
/// the run `after` among those deleted at that instant).
public protocol AttemptFeedClient: Sendable {
    func attemptChanges(since: Date, after: String?, limit: Int) async throws -> [AttemptChange]
    func deletedRuns(since: Date, after: String?, limit: Int) async throws -> [DeletedRun]
}

/// The orchestrator's internal routes (service token only; never routed by the gateway).
public enum OrchestratorInternalPaths {
    public static let attempts = "/api/v1/internal/runs/attempts"
    public static let deletions = "/api/v1/internal/runs/deletions"
}

/// ``AttemptFeedClient`` over HTTP, with the service token.
public struct HTTPAttemptFeedClient: AttemptFeedClient {
    let requests: ServiceRequests
    let token: ServiceToken

    public init(baseURL: String, httpClient: HTTPClient, token: ServiceToken) {
        requests = ServiceRequests(service: .orchestrator, baseURL: baseURL, httpClient: httpClient)
        self.token = token
    }

    public func attemptChanges(since: Date, after: String?, limit: Int) async throws -> [AttemptChange] {
        struct Changes: Decodable { let attempts: [AttemptChange] }
        var path = "\(OrchestratorInternalPaths.attempts)?since=\(since.millisecondsSince1970)&limit=\(limit)"
        if let after { path += "&after=\(after.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? after)" }
        return try await requests.get(path, as: Changes.self, token: token.value)?.attempts ?? []
    }

    public func deletedRuns(since: Date, after: String?, limit: Int) async throws -> [DeletedRun] {
        struct Deletions: Decodable { let runs: [DeletedRun] }
        var path = "\(OrchestratorInternalPaths.deletions)?since=\(since.millisecondsSince1970)&limit=\(limit)"
        if let after { path += "&after=\(after.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? after)" }
        return try await requests.get(path, as: Deletions.self, token: token.value)?.runs ?? []
    }
}

extension Date {
    fileprivate var millisecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
}
