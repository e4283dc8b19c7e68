import Foundation
import Hummingbird
import ServiceContracts
import TrellisCore
import TrellisHTTP

/// The Workflow API the orchestrator uses in split mode (`/api/v1/internal/workflows`, service token only): cluster
/// kinds and policies, submission, progress, stop and retry of runs on Kubernetes.
struct WorkflowController: Sendable {
    let executor: any ExecutorClient

    func addRoutes(to routes: RouterGroup<TrellisRequestContext>) {
        routes.get("clusters/:cluster", use: kind)
        routes.post("/", use: submit)
        routes.get(":run", use: progress)
        routes.post(":run/stop", use: stop)
        routes.post(":run/retry", use: retry)
    }

    @Sendable func kind(_ request: Request, context: TrellisRequestContext) async throws -> ClusterAccess {
        let name = try context.parameters.require("cluster")
        guard let access = try await executor.cluster(named: name) else { throw APIError.notFound("no cluster named \"\(name)\"") }
        return access
    }

    @Sendable func submit(_ request: Request, context: TrellisRequestContext) async throws -> HTTPResponse.Status {
        try await executor.submit(try await request.decode(as: WorkflowSubmission.self, context: context))
        return .noContent
    }

    @Sendable func progress(_ request: Request, context: TrellisRequestContext) async throws -> WorkflowProgress {
        let run = try context.parameters.require("run")
        guard let progress = try await executor.workflow(ofRun: run) else { throw APIError.notFound("no Workflow of run \(run)") }
        return progress
    }

    @Sendable func stop(_ request: Request, context: TrellisRequestContext) async throws -> HTTPResponse.Status {
        try await executor.stopWorkflow(ofRun: try context.parameters.require("run"))
        return .noContent
    }

    @Sendable func retry(_ request: Request, context: TrellisRequestContext) async throws -> HTTPResponse.Status {
        let run = try context.parameters.require("run")
        let body = try await request.decodeIfPresent(as: WorkflowRetry.self, context: context)
        guard try await executor.retryWorkflow(ofRun: run, restarting: body?.restarting ?? []) else {
            throw APIError.notFound("no Workflow of run \(run)")
        }
        return .noContent
    }
}

extension ClusterAccess: ResponseEncodable {}
extension WorkflowProgress: ResponseEncodable {}
