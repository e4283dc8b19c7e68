import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import TrellisCore
import TrellisHTTP
import TrellisStore

/// The orchestrator's platform metrics on `/metrics` (docs/metrics.md): how long attempts waited to start and ran, how
/// late the scheduler decided due schedules, and — counted from the tables every few seconds — runs by state, the
/// tasks of unfinished runs by state, executions in flight and the queue.
struct RunMetrics: Sendable {
    let registry: PrometheusCollectorRegistry

    static let startBuckets: [Duration] = [
        .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
    ]
    static let durationBuckets: [Duration] = [
        .seconds(1), .seconds(5), .seconds(15), .seconds(60), .seconds(300), .seconds(900), .seconds(3600), .seconds(4 * 3600),
        .seconds(12 * 3600), .seconds(24 * 3600),
    ]
    static let lagBuckets: [Duration] = [
        .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5),
        .seconds(5), .seconds(10), .seconds(60),
    ]

    static func descriptor(_ name: String, unit: String? = nil, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "trellis", metricName: name, unitName: unit, helpText: help)
    }

    /// Attempts that ended: from launch to start (when known), and from start to end by how they ended.
    func attemptsEnded(_ attempts: [AttemptRecord], startLatency: Bool = true) {
        let latency = registry.makeDurationHistogram(
            descriptor: Self.descriptor("task_start_latency", unit: "seconds", "From an attempt's launch to its processes' start."),
            buckets: Self.startBuckets)
        for attempt in attempts {
            guard let started = attempt.startedAt, let finished = attempt.finishedAt else { continue }
            if startLatency { latency.recordNanoseconds(max(0, started - attempt.createdAt) * 1_000_000) }
            registry.makeDurationHistogram(
                descriptor: Self.descriptor("task_duration", unit: "seconds", "How long attempts ran, by how they ended."),
                labels: [("state", attempt.state.rawValue)], buckets: Self.durationBuckets
            ).recordNanoseconds(max(0, finished - started) * 1_000_000)
        }
    }

    /// How late the scheduler decided each due schedule (milliseconds).
    func schedulesDecided(lateBy lags: [Int64]) {
        let histogram = registry.makeDurationHistogram(
            descriptor: Self.descriptor("scheduler_lag", unit: "seconds", "From a schedule's due instant to the scheduler's decision."),
            buckets: Self.lagBuckets)
        for lag in lags { histogram.recordNanoseconds(max(0, lag) * 1_000_000) }
    }

    func record(_ counts: RunRepository.PlatformCounts) {
        for state in RunState.allCases {
            registry.makeGauge(descriptor: Self.descriptor("runs", "Runs by state."), labels: [("state", state.rawValue)])
                .set(Double(counts.runs[state.rawValue] ?? 0))
        }
        for state in TaskState.allCases {
            registry.makeGauge(
                descriptor: Self.descriptor("active_tasks", "Tasks of pending and running runs, by state."),
                labels: [("state", state.rawValue)]
            ).set(Double(counts.activeTasks[state.rawValue] ?? 0))
        }
        registry.makeGauge(descriptor: Self.descriptor("executions_in_flight", "Task attempts running now.")).set(Double(counts.inFlight))
        registry.makeGauge(
            descriptor: Self.descriptor("queue_depth", "Runs waiting to start plus pending tasks of running runs.")
        ).set(Double((counts.runs[RunState.pending.rawValue] ?? 0) + (counts.activeTasks[TaskState.pending.rawValue] ?? 0)))
    }
}

/// Counts runs, tasks and executions for ``RunMetrics`` every few seconds, once the tables are ready.
struct PlatformGaugeService: Service {
    let repository: RunRepository
    let metrics: RunMetrics
    let ready: Gate
    let logger: Logger

    static let interval = Duration.seconds(5)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            guard await ready.wait() else { return }
            while !Task.isCancelled {
                do {
                    metrics.record(try await repository.platformCounts())
                } catch {
                    if Task.isCancelled { return }
                    logger.warning("cannot count runs for /metrics", metadata: ["error": .string("\(error)")])
                }
                try? await Task.sleep(for: Self.interval)
            }
        }
    }
}
