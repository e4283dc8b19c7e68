import Foundation
import Logging
import ServiceContracts
import Testing
import TrellisCore
import TrellisStore
import TrellisTestSupport

@testable import MetricsCollector

/// Downsampling and retention on the collector's own tables, both databases.
@Suite struct UsageRetentionTests {
    static let hour: Int64 = 3_600_000

    static func withRepository(_ kind: DatabaseKind, _ body: @escaping @Sendable (UsageRepository) async throws -> Void) async throws {
        try await TestDatabases.withFresh(kind) { url in
            try await Database.withOpened(url, logger: Logger(label: "test")) { database in
                try await Migrator(database: database).apply(try #require(try MetricsCollectorModule.migrations()))
                try await body(UsageRepository(database: database))
            }
        }
    }

    static func attempt(_ id: String, project: String = "ml", finishedAt: Date?) -> AttemptChange {
        AttemptChange(
            executionID: id, project: project, pipeline: "p", run: "run-\(id)", task: "t", attempt: 1,
            state: finishedAt == nil ? "running" : "succeeded", startedAt: Date(timeIntervalSince1970: 0), finishedAt: finishedAt,
            cluster: nil, cpu: "500m~1", memory: "1Gi", gpu: nil, changedAt: Date())
    }

    /// Open attempts are read a page at a time, each once, however many run at once.
    @Test(arguments: DatabaseKind.allCases)
    func openAttemptsPageThroughEachOnce(_ kind: DatabaseKind) async throws {
        try await Self.withRepository(kind) { repository in
            let ids = (0..<5).map { "attempt-\($0)" }
            try await repository.record(ids.map { Self.attempt($0, finishedAt: nil) }, position: 1)
            var seen: [String] = []
            var after: String?
            while true {
                let page = try await repository.open(after: after, limit: 2)
                seen += page.map(\.execution_id)
                guard page.count == 2 else { break }
                after = page.last?.execution_id
            }
            #expect(seen == ids)
        }
    }

    /// Samples older than the raw age become one row per minute (mean CPU, peak memory); newer ones stay as taken.
    /// Attempts that ended before the retention period go with all their rows; a deleted project's go at once.
    @Test(arguments: DatabaseKind.allCases)
    func oldSamplesAreKeptPerMinuteAndOldAttemptsGo(_ kind: DatabaseKind) async throws {
        try await Self.withRepository(kind) { repository in
            let now = Date(timeIntervalSince1970: 100 * 86_400)
            let long = Self.attempt("long", finishedAt: nil)
            let old = Self.attempt("old", finishedAt: now.addingTimeInterval(-40 * 86_400))
            let other = Self.attempt("other", project: "gone", finishedAt: nil)
            try await repository.record([long, old, other], position: 1)
            let start = now.milliseconds - 7 * Self.hour
            // Two minutes of samples seven hours ago (one per second), and one a minute ago.
            var samples = (0..<120).map { second in
                UsageRepository.SampleRow(
                    execution_id: "long", replica: "0", at: start + Int64(second) * 1000, cpu: second < 60 ? 0.5 : 1.0,
                    memory: Int64(second) << 20, gpu: nil, gpu_memory: nil, threads: second == 10 ? 7 : 2)
            }
            samples.append(
                .init(
                    execution_id: "long", replica: "0", at: now.milliseconds - 60_000, cpu: 0.25, memory: 1 << 20, gpu: nil, gpu_memory: nil
                ))
            let rows = try await repository.open(after: nil, limit: 10)
            let row = try #require(rows.first { $0.execution_id == "long" })
            try await repository.ingest(samples, finalCPUSeconds: nil, into: row, offset: 10, done: false)
            for id in ["old", "other"] {
                let row = try #require(rows.first { $0.execution_id == id })
                try await repository.ingest(
                    [samples[0]].map {
                        var s = $0; s.execution_id = id; return s
                    }, finalCPUSeconds: nil, into: row, offset: 1, done: true)
            }

            let retention = UsageRetention(repository: repository, rawAge: .seconds(6 * 3600), retention: .seconds(30 * 86_400))
            try await retention.apply(now: now)
            let series = try await repository.series(of: "long")
            let points = try #require(series.first).points
            #expect(points.count == 3, "two minutes, then the recent sample")
            #expect(points.map(\.cpuCores) == [0.5, 1.0, 0.25])
            #expect(points.map(\.memoryBytes) == [59 << 20, 119 << 20, 1 << 20])
            #expect(points.map(\.threads) == [7, 2, nil])
            // The summary was kept whole.
            let summary = try #require(try await repository.attempt(project: "ml", run: "run-long", task: "t", number: 1)).summary
            #expect(summary.samples == 121 && summary.peakMemoryBytes == 119 << 20 && summary.peakCpuCores == 1.0)
            // In steps of an hour, averaged by the database: the two minutes are one point (mean CPU, peak memory).
            let hourly = try #require(try await repository.series(of: "long", step: .seconds(3600)).first).points
            #expect(hourly.map(\.cpuCores) == [0.75, 0.25])
            #expect(hourly.map(\.memoryBytes) == [119 << 20, 1 << 20])
            let extent = try await repository.extent(of: "long")
            #expect(extent.points == 3 && extent.replicas == 1 && extent.span > 6 * Self.hour)
            // Downsampling again changes nothing.
            try await retention.apply(now: now)
            #expect(try await repository.series(of: "long") == series)

            #expect(try await repository.attempt(project: "ml", run: "run-old", task: "t", number: 1) == nil)
            #expect(try await repository.series(of: "old").isEmpty)
            try await repository.deleteAll(ofProject: "gone")
            #expect(try await repository.attempt(project: "gone", run: "run-other", task: "t", number: 1) == nil)
            #expect(try await repository.series(of: "other").isEmpty)
            #expect(try await repository.attempt(project: "ml", run: "run-long", task: "t", number: 1) != nil)
        }
    }
}
