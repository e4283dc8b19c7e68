import Foundation
import Hummingbird
import ServiceContracts
import TrellisHTTP

/// The executor API the orchestrator uses in split mode (`/api/v1/internal/executions`, service token only; the
/// gateway never forwards it). In embedded mode the orchestrator calls the backend in process instead.
struct ExecutionController: Sendable {
    let executor: any ExecutorClient

    func addRoutes(to routes: RouterGroup<TrellisRequestContext>) {
        routes.post("/", use: launch)
        routes.post("status", use: status)
        routes.get("changes", use: changes)
        routes.post(":id/stop", use: stop)
        routes.delete(":id", use: discard)
        routes.get(":id/logs", use: logs)
        routes.get(":id/samples", use: samples)
        routes.post("samples", use: sampleBatches)
    }

    @Sendable func launch(_ request: Request, context: TrellisRequestContext) async throws -> HTTPResponse.Status {
        try await executor.launch(try await request.decode(as: ExecutionRequest.self, context: context))
        return .noContent
    }

    struct Statuses: ResponseEncodable {
        let statuses: [ExecutionStatus]
        func encode(to encoder: any Encoder) throws { try statuses.encode(to: encoder) }
    }

    @Sendable func status(_ request: Request, context: TrellisRequestContext) async throws -> Statuses {
        Statuses(statuses: try await executor.status(of: try await request.decode(as: ExecutionIDs.self, context: context).ids))
    }

    /// `DELETE /internal/executions/{id}`: 204 once its files are gone; 409 while it still stops.
    @Sendable func discard(_ request: Request, context: TrellisRequestContext) async throws -> HTTPResponse.Status {
        do {
            try await executor.discard(try context.parameters.require("id"))
        } catch let waiting as PurgeNotDone {
            throw APIError(.conflict, code: "still_running", waiting.description)
        }
        return .noContent
    }

    @Sendable func changes(_ request: Request, context: TrellisRequestContext) async throws -> ExecutionChanges {
        let query = request.uri.queryParameters
        guard let cursor = query.get("after").flatMap(UInt64.init) else { throw APIError.invalidField("after", "must be a cursor") }
        let wait = min(query.get("waitMilliseconds").flatMap(Int64.init) ?? 0, 30_000)
        return try await executor.changes(after: cursor, wait: .milliseconds(max(wait, 0)))
    }

    @Sendable func stop(_ request: Request, context: TrellisRequestContext) async throws -> HTTPResponse.Status {
        try await executor.stop(try context.parameters.require("id"))
        return .noContent
    }

    @Sendable func logs(_ request: Request, context: TrellisRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let replica = try query.get("replica").map { text -> Int in
            guard let rank = Int(text) else { throw APIError.invalidField("replica", "must be a whole number") }
            return rank
        }
        guard
            let stream = try await executor.logs(
                of: try context.parameters.require("id"), replica: replica, follow: query.get("follow") == "true")
        else { throw APIError.notFound("no such execution") }
        return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(asyncSequence: stream))
    }

    struct Samples: ResponseEncodable {
        let samples: [ResourceSample]
        func encode(to encoder: any Encoder) throws { try samples.encode(to: encoder) }
    }

    @Sendable func samples(_ request: Request, context: TrellisRequestContext) async throws -> Samples {
        Samples(samples: try await executor.samples(of: try context.parameters.require("id")))
    }

    struct Batches: ResponseEncodable {
        let batches: [String: SampleBatch]
        func encode(to encoder: any Encoder) throws { try batches.encode(to: encoder) }
    }

    /// `POST /internal/executions/samples` `{"offsets": {id: bytes}}`: what each execution sampled since (at most 1,000).
    @Sendable func sampleBatches(_ request: Request, context: TrellisRequestContext) async throws -> Batches {
        let offsets = try await request.decode(as: SampleOffsets.self, context: context).offsets
        guard offsets.count <= 1_000 else { throw APIError.invalidField("offsets", "at most 1000 executions at a time") }
        return Batches(batches: try await executor.samples(after: offsets))
    }
}

extension ExecutionChanges: ResponseEncodable {}
