import Foundation
import Hummingbird
import ServiceContracts
import TrellisHTTP

/// The attempt feed the metrics collector follows: in process in embedded mode, `GET /api/v1/internal/runs/attempts`
/// (service token only) in split mode.
struct InProcessAttemptFeed: AttemptFeedClient {
    let repository: RunRepository

    func attemptChanges(since: Date, after: String?, limit: Int) async throws -> [AttemptChange] {
        try await repository.attemptChanges(since: since.milliseconds, after: after, limit: limit)
    }

    func deletedRuns(since: Date, after: String?, limit: Int) async throws -> [DeletedRun] {
        try await repository.deletedRuns(since: since.milliseconds, after: after, limit: limit)
    }
}

struct AttemptFeedController: Sendable {
    let feed: InProcessAttemptFeed

    struct Changes: ResponseEncodable {
        let attempts: [AttemptChange]
    }

    struct Deletions: ResponseEncodable {
        let runs: [DeletedRun]
    }

    /// `?since=MS&after=EXECUTION&limit=N` (1 to 5,000, default 500).
    @Sendable func changes(_ request: Request, context: TrellisRequestContext) async throws -> Changes {
        let (since, limit) = try Self.page(request)
        return Changes(attempts: try await feed.attemptChanges(since: since, after: request.uri.queryParameters.get("after"), limit: limit))
    }

    /// `?since=MS&after=RUN&limit=N`: runs deleted by projects' retention.
    @Sendable func deletions(_ request: Request, context: TrellisRequestContext) async throws -> Deletions {
        let (since, limit) = try Self.page(request)
        return Deletions(runs: try await feed.deletedRuns(since: since, after: request.uri.queryParameters.get("after"), limit: limit))
    }

    static func page(_ request: Request) throws -> (since: Date, limit: Int) {
        let query = request.uri.queryParameters
        guard let since = Int64(query.get("since") ?? "0"), since >= 0 else {
            throw APIError.invalidField("since", "must be an instant in milliseconds ≥ 0")
        }
        guard let limit = Int(query.get("limit") ?? "500"), (1...5000).contains(limit) else {
            throw APIError.invalidField("limit", "must be 1 to 5000")
        }
        return (.fromMilliseconds(since), limit)
    }
}
