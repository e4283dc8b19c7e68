import Foundation
import Hummingbird
import ServiceContracts
import TrellisCore
import TrellisHTTP

/// Resource use, for members of the project: an attempt's series per replica with its summary and the task's requests
/// and limits; a run's attempts' summaries; and requests suggested for a pipeline's tasks from what they used.
struct UsageController: Sendable {
    let repository: UsageRepository
    let access: ProjectAccess

    /// Points an attempt's series may have before they are averaged into steps of their own accord.
    static let maximumPoints = 10_000

    func addRoutes(to routes: RouterGroup<TrellisRequestContext>) {
        routes.get("projects/:project/runs/:run/tasks/:task/attempts/:number/usage", use: attempt)
        routes.get("projects/:project/runs/:run/usage", use: run)
        routes.get("projects/:project/pipelines/:pipeline/usage", use: pipeline)
    }

    struct Resources: Codable {
        var cpuCores: Double?
        var memoryBytes: Double?
        var gpu: Int?
    }

    struct AttemptUsage: ResponseEncodable {
        let run: String
        let task: String
        let attempt: Int
        let state: String
        let startedAt: Date?
        let finishedAt: Date?
        /// False while samples may still come (the attempt runs, or its last sample is not in yet).
        let complete: Bool
        let requests: Resources
        let limits: Resources
        let summary: UsageSummary
        /// Seconds per point when the series are averaged into steps (`?step=`, or on their own past 10,000 points).
        let step: Int64?
        let series: [UsageSeries]
    }

    /// `GET …/runs/{run}/tasks/{task}/attempts/{n}/usage?step=`: `step` a duration (`10s`, `1m`) from 1s to 1d.
    @Sendable func attempt(_ request: Request, context: TrellisRequestContext) async throws -> AttemptUsage {
        let project = try context.parameters.require("project")
        try await access.require(.read, in: project, context: context)
        let (run, task) = (try context.parameters.require("run"), try context.parameters.require("task"))
        let text = try context.parameters.require("number")
        guard let number = Int(text), number > 0 else { throw APIError.invalidField("number", "must be an attempt number from 1") }
        let asked = try Self.step(request.uri.queryParameters.get("step"))
        guard let row = try await repository.attempt(project: project, run: run, task: task, number: number) else {
            throw APIError.notFound("no resource use is recorded for attempt \(number) of task \(task) in run \(run) (yet)")
        }
        var step = asked
        let extent = try await repository.extent(of: row.execution_id)
        if step == nil, extent.points > Self.maximumPoints {
            let seconds = Double(extent.span) / 1000 / Double(Self.maximumPoints) * Double(max(extent.replicas, 1))
            step = .seconds(max(1, Int64(seconds.rounded(.up))))
        }
        let series = try await repository.series(of: row.execution_id, step: step)
        let cpu = ResourceBounds.cpu(row.cpu)
        let memory = ResourceBounds.memory(row.memory)
        return AttemptUsage(
            run: run, task: task, attempt: number, state: row.state, startedAt: row.started_at.map(Date.fromMilliseconds),
            finishedAt: row.finished_at.map(Date.fromMilliseconds), complete: row.done,
            requests: Resources(cpuCores: cpu?.request, memoryBytes: memory?.request, gpu: row.gpu),
            limits: Resources(cpuCores: cpu?.limit, memoryBytes: memory?.limit, gpu: row.gpu), summary: row.summary,
            step: step.map { $0.milliseconds / 1000 }, series: series)
    }

    static func step(_ text: String?) throws -> Duration? {
        guard let text else { return nil }
        let step: Duration
        do {
            step = try DurationText.parse(text, field: "step")
        } catch {
            throw APIError.invalidField("step", error.message)
        }
        guard step >= .seconds(1), step <= .seconds(86_400) else { throw APIError.invalidField("step", "must be from 1s to 1d") }
        return step
    }

    struct RunUsage: ResponseEncodable {
        struct Attempt: Codable {
            let task: String
            let attempt: Int
            let state: String
            let complete: Bool
            let summary: UsageSummary
        }
        let run: String
        let attempts: [Attempt]
    }

    /// `GET …/runs/{run}/usage`: the summary of each attempt of the run the collector has seen.
    @Sendable func run(_ request: Request, context: TrellisRequestContext) async throws -> RunUsage {
        let project = try context.parameters.require("project")
        try await access.require(.read, in: project, context: context)
        let run = try context.parameters.require("run")
        let rows = try await repository.attempts(project: project, run: run)
        return RunUsage(
            run: run,
            attempts: rows.map { .init(task: $0.task, attempt: $0.attempt, state: $0.state, complete: $0.done, summary: $0.summary) })
    }

    struct PipelineUsage: ResponseEncodable {
        struct Task: Codable {
            let task: String
            /// Succeeded attempts measured (of the latest 20).
            let attempts: Int
            let suggestion: RequestSuggestion?
        }
        let pipeline: String
        let tasks: [Task]
    }

    /// `GET …/pipelines/{pipeline}/usage`: for each task that ran, requests suggested from the peaks of its latest 20
    /// succeeded attempts (from 3 on).
    @Sendable func pipeline(_ request: Request, context: TrellisRequestContext) async throws -> PipelineUsage {
        let project = try context.parameters.require("project")
        try await access.require(.read, in: project, context: context)
        let pipeline = try context.parameters.require("pipeline")
        let peaks = try await repository.recentPeaks(project: project, pipeline: pipeline, limit: 20)
        return PipelineUsage(
            pipeline: pipeline,
            tasks: peaks.keys.sorted().map { task in
                let observed = peaks[task] ?? []
                return .init(task: task, attempts: observed.count, suggestion: RequestSuggestion.suggest(peaks: observed))
            })
    }
}
