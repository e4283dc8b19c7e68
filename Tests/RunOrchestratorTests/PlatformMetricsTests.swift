import Foundation
import Testing
import TrellisTestSupport

/// The orchestrator's platform metrics on `/metrics`, as Prometheus reads them.
@Suite struct PlatformMetricsTests {
    /// The value of the series `name{labels}` (labels as written, sorted by swift-prometheus), nil when absent.
    static func value(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test(arguments: DatabaseKind.allCases)
    func runsTasksAndTheSchedulerShowOnMetrics(_ kind: DatabaseKind) async throws {
        try await RunEngineTests.withTeam(kind) { api, token, scratch in
            let gate = scratch.appendingPathComponent("go").path
            try await api.applyPipeline(
                "mixed", project: "ml", token: token,
                tasks: [
                    RunEngineTests.shell("fine", [], "true"), RunEngineTests.shell("broken", [], "exit 3"),
                    RunEngineTests.shell("held", [], "until [ -f \(gate) ]; do sleep 0.05; done"),
                ])
            let run = try await api.startRun("mixed", project: "ml", token: token)
            // While one task is held: one execution in flight, one running task of an active run.
            try await Waiting.until("the held task in flight on /metrics") {
                let text = try await api.call("GET", "/metrics").text
                return Self.value(text, "trellis_executions_in_flight") == 1
                    && Self.value(text, #"trellis_active_tasks{state="running"}"#) == 1
                    && Self.value(text, #"trellis_runs{state="running"}"#) == 1
                    && Self.value(text, #"trellis_task_duration_seconds_count{state="failed"}"#) == 1
            }
            FileManager.default.createFile(atPath: gate, contents: Data())
            _ = try await api.waitForRun(run, project: "ml", token: token)
            try await Waiting.until("the run's end on /metrics") {
                let text = try await api.call("GET", "/metrics").text
                return Self.value(text, #"trellis_runs{state="failed"}"#) == 1 && Self.value(text, #"trellis_runs{state="running"}"#) == 0
                    && Self.value(text, "trellis_executions_in_flight") == 0 && Self.value(text, "trellis_queue_depth") == 0
                    && Self.value(text, #"trellis_task_duration_seconds_count{state="succeeded"}"#) == 2
                    && Self.value(text, "trellis_task_start_latency_seconds_count") == 3
            }

            // A schedule due now is decided, and how late shows as the scheduler's lag.
            try await api.applyPipeline(
                "every-minute", project: "ml", token: token, tasks: [RunEngineTests.shell("tick", [], "true")],
                spec: SchedulerTests.schedule("* * * * *", start: SchedulerTests.minute(5), extra: ["catchup": false]))
            try await Waiting.until("the scheduler's lag on /metrics") {
                (Self.value(try await api.call("GET", "/metrics").text, "trellis_scheduler_lag_seconds_count") ?? 0) >= 1
            }

            // Every series deploy/grafana/trellis.json queries is one the platform exposes.
            let exposed = try await api.call("GET", "/metrics").text
            for name in try Self.dashboardSeries() {
                #expect(
                    exposed.contains("\n\(name){") || exposed.contains("\n\(name) "), "the dashboard queries \(name), which /metrics lacks")
            }
        }
    }

    /// The `trellis_…` series names in the dashboard's queries.
    static func dashboardSeries() throws -> Set<String> {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy/grafana/trellis.json")
        let dashboard = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        let expressions = (dashboard["panels"] as? [[String: Any]] ?? []).flatMap {
            ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String }
        }
        let names = expressions.flatMap { expression in
            expression.matches(of: /trellis_[a-z_]+/).map { String($0.output) }
        }
        #expect(names.count > 10)
        return Set(names)
    }
}
