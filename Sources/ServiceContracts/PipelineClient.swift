import AsyncHTTPClient
import TrellisCore

/// What the orchestrator asks the pipeline store: in process in embedded mode, over HTTP in split mode, with what
/// the caller may see.
public protocol PipelineClient: Sendable {
    /// A version of a pipeline (the current one when `version` is nil); nil when there is no such pipeline or version.
    func pipeline(_ name: String, project: String, version: Int?, caller: Caller) async throws -> PipelineVersion?
    /// Schedule changes after `revision`, oldest first: what the scheduler follows, on nobody's behalf.
    func scheduleChanges(after revision: Int64, limit: Int) async throws -> [ScheduleChange]
    /// The alert rule of a pipeline's current version, on nobody's behalf; nil when there is no such pipeline.
    func alerts(ofPipeline name: String, project: String) async throws -> PipelineAlerts?
}

/// A pipeline's `spec.alerts` (nil: it says nothing, the project's defaults apply).
public struct PipelineAlerts: Codable, Sendable, Equatable {
    public var alerts: AlertRule?

    public init(alerts: AlertRule?) { self.alerts = alerts }
}

/// The internal routes of the pipeline store (service token only; never routed by the gateway).
public enum PipelineInternalPaths {
    public static let scheduleChanges = "/api/v1/internal/schedules"

    public static func alerts(ofPipeline name: String, project: String) -> String {
        "/api/v1/internal/pipelines/\(ServiceRequests.escaped(project))/\(ServiceRequests.escaped(name))/alerts"
    }
}

/// ``PipelineClient`` over HTTP, asking as the caller (the schedule feed with the service token).
public struct HTTPPipelineClient: PipelineClient {
    let requests: ServiceRequests
    let token: ServiceToken

    public init(baseURL: String, httpClient: HTTPClient, token: ServiceToken) {
        requests = ServiceRequests(service: .pipelines, baseURL: baseURL, httpClient: httpClient)
        self.token = token
    }

    public func scheduleChanges(after revision: Int64, limit: Int) async throws -> [ScheduleChange] {
        struct Changes: Decodable { let changes: [ScheduleChange] }
        return try await requests.get(
            "\(PipelineInternalPaths.scheduleChanges)?after=\(revision)&limit=\(limit)", as: Changes.self, token: token.value)?.changes
            ?? []
    }

    public func alerts(ofPipeline name: String, project: String) async throws -> PipelineAlerts? {
        try await requests.get(
            PipelineInternalPaths.alerts(ofPipeline: name, project: project), as: PipelineAlerts.self, token: token.value)
    }

    public func pipeline(_ name: String, project: String, version: Int?, caller: Caller) async throws -> PipelineVersion? {
        var path = "/api/v1/projects/\(ServiceRequests.escaped(project))/pipelines/\(ServiceRequests.escaped(name))"
        if let version { path += "/versions/\(version)" }
        return try await requests.get(path, as: PipelineVersion.self, caller: caller.token)
    }
}
