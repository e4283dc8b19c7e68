import AsyncHTTPClient
import TrellisCore

/// What the orchestrator asks the pipeline store: in process in embedded mode, over HTTP in split mode, with what
/// the caller may see.
public protocol PipelineClient: Sendable {
    /// A version of a pipeline (the current one when `version` is nil); nil when there is no such pipeline or version.
    func pipeline(_ name: String, project: String, version: Int?, caller: Caller) async throws -> PipelineVersion?
}

/// ``PipelineClient`` over HTTP, asking as the caller.
public struct HTTPPipelineClient: PipelineClient {
    let requests: ServiceRequests

    public init(baseURL: String, httpClient: HTTPClient) {
        requests = ServiceRequests(service: .pipelines, baseURL: baseURL, httpClient: httpClient)
    }

    public func pipeline(_ name: String, project: String, version: Int?, caller: Caller) async throws -> PipelineVersion? {
        var path = "/api/v1/projects/\(ServiceRequests.escaped(project))/pipelines/\(ServiceRequests.escaped(name))"
        if let version { path += "/versions/\(version)" }
        return try await requests.get(path, as: PipelineVersion.self, token: caller.token)
    }
}
