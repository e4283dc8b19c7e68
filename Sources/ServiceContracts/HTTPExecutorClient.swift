import AsyncHTTPClient
import Foundation
import NIOCore
import TrellisCore

/// ``ExecutorClient`` over HTTP: the cluster gateway's internal routes (`/api/v1/internal/executions`), with the
/// service token.
public struct HTTPExecutorClient: ExecutorClient {
    let requests: ServiceRequests
    let token: ServiceToken

    public init(baseURL: String, httpClient: HTTPClient, token: ServiceToken) {
        requests = ServiceRequests(service: .clusterGateway, baseURL: baseURL, httpClient: httpClient)
        self.token = token
    }

    static let root = "/api/v1/internal/executions"

    public func launch(_ request: ExecutionRequest) async throws {
        try await requests.send("POST", Self.root, body: try APICoding.encoder().encode(request), token: token.value)
    }

    public func status(of ids: [String]) async throws -> [ExecutionStatus] {
        try await requests.post("\(Self.root)/status", json: ExecutionIDs(ids: ids), as: [ExecutionStatus].self, token: token.value) ?? []
    }

    public func stop(_ id: String) async throws {
        try await requests.send("POST", "\(Self.root)/\(ServiceRequests.escaped(id))/stop", body: nil, token: token.value)
    }

    /// A 409 (still stopping) comes back as an error too: the purge is asked again on its next pass.
    public func discard(_ id: String) async throws {
        try await requests.send("DELETE", "\(Self.root)/\(ServiceRequests.escaped(id))", body: nil, token: token.value)
    }

    public func changes(after cursor: UInt64, wait: Duration) async throws -> ExecutionChanges {
        let path = "\(Self.root)/changes?after=\(cursor)&waitMilliseconds=\(wait.milliseconds)"
        guard
            let changes = try await requests.get(
                path, as: ExecutionChanges.self, token: token.value, timeout: .seconds(wait.components.seconds + 10))
        else { throw APIError.unavailable("the cluster-gateway service does not offer execution changes") }
        return changes
    }

    public func logs(of id: String, replica: Int?, follow: Bool) async throws -> LogStream? {
        var path = "\(Self.root)/\(ServiceRequests.escaped(id))/logs?follow=\(follow)"
        if let replica { path += "&replica=\(replica)" }
        // A followed log may stay open for as long as the task runs.
        let response = try await requests.open("GET", path, body: nil, token: token.value, timeout: .hours(24 * 7))
        guard response.status == .ok else {
            if response.status == .notFound { return nil }
            throw APIError.unavailable("the cluster-gateway service answered \(response.status.code) for the log of \(id)")
        }
        let chunks = ChunkReader(response.body.makeAsyncIterator())
        return LogStream(unfolding: { try await chunks.next() })
    }

    public func samples(of id: String) async throws -> [ResourceSample] {
        try await requests.get("\(Self.root)/\(ServiceRequests.escaped(id))/samples", as: [ResourceSample].self, token: token.value) ?? []
    }

    public func samples(after offsets: [String: Int64]) async throws -> [String: SampleBatch] {
        try await requests.post(
            "\(Self.root)/samples", json: SampleOffsets(offsets: offsets), as: [String: SampleBatch].self, token: token.value)
            ?? [:]
    }

    static let workflows = "/api/v1/internal/workflows"

    public func cluster(named name: String) async throws -> ClusterAccess? {
        try await requests.get("\(Self.workflows)/clusters/\(ServiceRequests.escaped(name))", as: ClusterAccess.self, token: token.value)
    }

    public func submit(_ submission: WorkflowSubmission) async throws {
        try await requests.send(
            "POST", Self.workflows, body: try APICoding.encoder().encode(submission), token: token.value, timeout: .seconds(60))
    }

    public func workflow(ofRun run: String) async throws -> WorkflowProgress? {
        try await requests.get("\(Self.workflows)/\(ServiceRequests.escaped(run))", as: WorkflowProgress.self, token: token.value)
    }

    public func stopWorkflow(ofRun run: String) async throws {
        try await requests.send("POST", "\(Self.workflows)/\(ServiceRequests.escaped(run))/stop", body: nil, token: token.value)
    }

    public func retryWorkflow(ofRun run: String, restarting tasks: [String]) async throws -> Bool {
        try await requests.send(
            "POST", "\(Self.workflows)/\(ServiceRequests.escaped(run))/retry",
            body: try APICoding.encoder().encode(WorkflowRetry(restarting: tasks)),
            token: token.value, timeout: .seconds(60)) != nil
    }
}

/// What a Workflow retry restarts besides its failed nodes: these tasks' nodes, succeeded or not.
public struct WorkflowRetry: Codable, Sendable {
    public let restarting: [String]

    public init(restarting: [String]) {
        self.restarting = restarting
    }
}

/// The ids a status request asks about.
public struct ExecutionIDs: Codable, Sendable {
    public let ids: [String]

    public init(ids: [String]) {
        self.ids = ids
    }
}

/// The body of `POST /internal/executions/samples`: byte offsets by execution id.
public struct SampleOffsets: Codable, Sendable {
    public let offsets: [String: Int64]

    public init(offsets: [String: Int64]) {
        self.offsets = offsets
    }
}

/// Pulls a response body one chunk at a time; a stream's consumer asks for one chunk at a time.
final class ChunkReader: @unchecked Sendable {
    private var iterator: HTTPClientResponse.Body.AsyncIterator

    init(_ iterator: HTTPClientResponse.Body.AsyncIterator) {
        self.iterator = iterator
    }

    func next() async throws -> ByteBuffer? {
        try await iterator.next()
    }
}
