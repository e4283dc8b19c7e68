import Foundation
import Logging
import ServiceContracts
import ServiceLifecycle
import TrellisCore
import TrellisHTTP
import TrellisStore

/// Applies each project's `settings.retention` (``RunRetention``): deletes the runs it no longer keeps, with their
/// tasks, attempts and schedule records, noting each deletion in the same transaction; then has the cluster gateway
/// discard the deleted runs' executions (logs, samples, kept working directories). A crash between the two leaves the
/// deletion noted and undiscarded: the next pass discards it. Runs of another orchestrator are safe too: every
/// deletion checks again, in its transaction, that the run is finished and unpinned.
struct RunRetentionJob: Sendable {
    let repository: RunRepository
    let settings: @Sendable (String) async throws -> ProjectSettings?
    let executor: any ExecutorClient
    let logger: Logger
    let now: @Sendable () -> Date

    /// Runs read and deleted per transaction.
    static let batch = 200
    /// How long a discarded deletion stays in the metrics collector's feed.
    static let feedKept: Int64 = 7 * 86_400_000

    struct Outcome: Sendable, Equatable {
        var deleted = 0
        var discarded = 0
    }

    /// One look at every project with runs; what was deleted and discarded.
    @discardableResult
    func pass() async throws -> Outcome {
        var outcome = Outcome()
        for project in try await repository.projectsWithRuns() where !Task.isCancelled {
            guard let retention = try await settings(project)?.retention, retention.deletes else { continue }
            var deleted = 0
            while !Task.isCancelled {
                let expired = try await repository.expiredRuns(inProject: project, retention: retention, now: now(), limit: Self.batch)
                guard !expired.isEmpty else { break }
                let removed = try await repository.delete(expired: expired, now: now().milliseconds)
                deleted += removed.count
                // Those that changed since the read (resumed, pinned) stay; no progress then, so stop here.
                if removed.isEmpty { break }
            }
            if deleted > 0 {
                logger.notice(
                    "runs deleted by the project's retention", metadata: ["project": .string(project), "runs": .stringConvertible(deleted)])
            }
            outcome.deleted += deleted
        }
        outcome.discarded = try await discard()
        try await repository.forgetDeletions(before: now().milliseconds - Self.feedKept)
        return outcome
    }

    /// Discards the executions of deleted runs; a run whose execution cannot be discarded yet stays for the next pass.
    func discard() async throws -> Int {
        var total = 0
        while !Task.isCancelled {
            let pending = try await repository.undiscardedDeletions(limit: Self.batch)
            var done: [String] = []
            for deletion in pending {
                do {
                    for execution in deletion.executions { try await executor.discard(execution) }
                    done.append(deletion.run)
                } catch {
                    logger.warning(
                        "cannot discard a deleted run's executions yet; retried",
                        metadata: ["run": .string(deletion.run), "error": .string("\(error)")])
                }
            }
            try await repository.discarded(done)
            total += done.count
            guard done.count == Self.batch else { break }
        }
        return total
    }
}

/// Runs the retention job every `interval` once the tables are ready.
struct RetentionService: Service {
    let job: RunRetentionJob
    let ready: Gate
    let interval: Duration

    func run() async throws {
        await cancelWhenGracefulShutdown {
            guard await ready.wait() else { return }
            while !Task.isCancelled {
                do {
                    try await job.pass()
                } catch {
                    if Task.isCancelled { return }
                    job.logger.warning("cannot apply runs' retention; retried", metadata: ["error": .string("\(error)")])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
