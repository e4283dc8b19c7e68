import Foundation
import Logging
import ServiceContracts
import ServiceLifecycle
import TrellisCore
import TrellisHTTP
import TrellisStore

/// Follows the orchestrator's attempts and collects their samples, every second, through the cluster gateway: local
/// attempts' as their supervisors wrote them, Kubernetes attempts' pods' from their cluster's Prometheus, until the
/// attempt ended and its last sample is in. Once a minute, ``UsageRetention`` applies. Everything it keeps is in its
/// tables, so a restart goes on from where it was.
struct UsageIngestion: Service {
    let repository: UsageRepository
    let attempts: any AttemptFeedClient
    let executor: any ExecutorClient
    let ready: Gate
    let logger: Logger
    let retention: UsageRetention
    let passes = Passes()

    static let interval = Duration.seconds(1)
    static let retentionInterval = Duration.seconds(60)
    /// Attempts written in a transaction that committed late carry an earlier instant: each pass reads this far back.
    static let overlap: Int64 = 5_000
    static let page = 1_000

    func run() async throws {
        await cancelWhenGracefulShutdown {
            guard await ready.wait() else { return }
            var lastRetention = ContinuousClock.now - Self.retentionInterval
            while !Task.isCancelled {
                await passes.start()
                do {
                    try await pass()
                    if ContinuousClock.now - lastRetention >= Self.retentionInterval {
                        try await retention.apply(now: Date())
                        lastRetention = .now
                    }
                } catch {
                    if Task.isCancelled { return }
                    logger.warning("cannot collect resource samples; retrying", metadata: ["error": .string("\(error)")])
                }
                await passes.end()
                try? await Task.sleep(for: Self.interval)
            }
        }
    }

    /// New and changed attempts from the feed, the runs deleted since (after the attempts: an attempt read before its
    /// run's deletion goes with it), then the samples of every attempt not yet done.
    func pass() async throws {
        try await follow()
        try await followDeletions()
        try await collect()
    }

    func follow() async throws {
        let position = try await repository.feedPosition()
        var since = Date.fromMilliseconds(max(0, position - Self.overlap))
        var after: String?
        while true {
            let changes = try await attempts.attemptChanges(since: since, after: after, limit: Self.page)
            guard let last = changes.last else { return }
            try await repository.record(changes, position: max(position, last.changedAt.milliseconds))
            guard changes.count == Self.page else { return }
            (since, after) = (last.changedAt, last.executionID)
        }
    }

    func followDeletions() async throws {
        let position = try await repository.feedPosition(.deletedRuns)
        var since = Date.fromMilliseconds(max(0, position - Self.overlap))
        var after: String?
        while true {
            let deleted = try await attempts.deletedRuns(since: since, after: after, limit: Self.page)
            guard let last = deleted.last else { return }
            try await repository.delete(deleted, position: max(position, last.deletedAt.milliseconds))
            guard deleted.count == Self.page else { return }
            (since, after) = (last.deletedAt, last.run)
        }
    }

    /// Every attempt not yet done, a page at a time (however many run at once, each is asked every pass).
    func collect() async throws {
        var after: String?
        while true {
            let open = try await repository.open(after: after, limit: Self.page)
            try await collect(open)
            guard open.count == Self.page, let last = open.last else { return }
            after = last.execution_id
        }
    }

    func collect(_ open: [UsageRepository.AttemptRow]) async throws {
        // Attempts that never started have nothing to sample: closed once they ended.
        for attempt in open where attempt.started_at == nil && attempt.finished_at != nil {
            try await repository.ingest([], finalCPUSeconds: nil, into: attempt, offset: attempt.sample_offset, done: true)
        }
        // Local processes' samples from their supervisors, Kubernetes pods' from their cluster's Prometheus: the cluster
        // gateway answers both, each from the position the last batch left it at.
        let started = open.filter { $0.started_at != nil }
        guard !started.isEmpty else { return }
        let batches = try await executor.samples(after: Dictionary(started.map { ($0.execution_id, $0.sample_offset) }) { $1 })
        for attempt in started {
            guard let batch = batches[attempt.execution_id] else { continue }
            // Done once the orchestrator saw it end and the supervisor's last sample (written before its status) is in.
            let done = attempt.finished_at != nil && batch.finished
            guard !batch.samples.isEmpty || done else { continue }
            let rows = batch.samples.map { sample in
                UsageRepository.SampleRow(
                    execution_id: attempt.execution_id, replica: sample.pod ?? String(sample.replica), at: sample.at.milliseconds,
                    cpu: sample.cpuPercent / 100, memory: sample.rssBytes, gpu: sample.gpuPercent, gpu_memory: sample.gpuMemoryBytes,
                    threads: sample.threads)
            }
            let final = batch.samples.compactMap(\.cpuSeconds)
            do {
                try await repository.ingest(
                    rows, finalCPUSeconds: final.isEmpty ? nil : final.reduce(0, +), into: attempt, offset: batch.next, done: done)
            } catch {
                // One attempt's trouble holds up no other's.
                logger.warning(
                    "cannot store an attempt's samples",
                    metadata: ["execution": .string(attempt.execution_id), "error": .string("\(error)")])
            }
        }
    }
}

/// Counts the ingestion's passes, so that a project's purge can wait until no pass that read its attempts before the
/// purge is still writing them.
actor Passes {
    private var started = 0
    private var ended = 0

    func start() { started += 1 }
    func end() { ended += 1 }

    /// Returns once a pass that started after this call has ended; false if none did within `limit`.
    func waitForNext(limit: Duration = .seconds(30)) async -> Bool {
        let target = started + 1
        let deadline = ContinuousClock.now + limit
        while ended < target {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return true
    }
}

/// Samples older than `rawAge` are downsampled to one row per minute; attempts that ended more than `retention` ago are
/// deleted with everything of them.
struct UsageRetention: Sendable {
    let repository: UsageRepository
    let rawAge: Duration
    let retention: Duration

    func apply(now: Date) async throws {
        let age = now.milliseconds - rawAge.milliseconds
        try await repository.downsample(before: age - age % 60_000)
        try await repository.deleteEnded(before: now.milliseconds - retention.milliseconds)
    }
}
