import Foundation
import Hummingbird
import SQLKit
import ServiceContracts
import TrellisCore
import TrellisHTTP
import TrellisStore

/// The schedule of a pipeline through the API: its definition with the next fire times, pause and unpause, its tick
/// records (state, execution date, run and log links), retrying or skipping a tick, and explicit backfills. Members
/// read; developers and owners change.
struct ScheduleController: Sendable {
    let scheduler: Scheduler
    let schedules: ScheduleRepository
    let runs: RunRepository
    let engine: RunEngine
    let access: ProjectAccess
    let minimumInterval: TimeInterval
    let now: @Sendable () -> Date

    func addRoutes(to routes: RouterGroup<TrellisRequestContext>) {
        let pipeline = "projects/:project/pipelines/:pipeline"
        routes.get("\(pipeline)/schedule", use: get)
        routes.post("\(pipeline)/schedule/pause", use: pause)
        routes.post("\(pipeline)/schedule/unpause", use: unpause)
        routes.get("\(pipeline)/schedule-records", use: records)
        routes.post("\(pipeline)/schedule-records/:date/retry", use: retry)
        routes.post("\(pipeline)/schedule-records/:date/skip", use: skip)
        routes.post("\(pipeline)/backfill", use: backfill)
    }

    // MARK: The schedule

    struct ScheduleView: ResponseEncodable {
        let project: String
        let pipeline: String
        let cron: String
        let timezone: String
        let startTime: String
        let catchup: Bool
        let dependsOnPast: Bool
        let maxActiveRuns: Int
        let expiredLimit: Int
        /// The platform's minimum interval between ticks (closer ones are skipped).
        let minimumInterval: String
        let paused: Bool
        /// Scheduled runs run on this user's behalf: whoever saved the schedule.
        let owner: String
        /// The next five cron ticks from now (or from the start time), with the time zone's offset.
        let nextFireTimes: [String]
    }

    @Sendable func get(_ request: Request, context: TrellisRequestContext) async throws -> ScheduleView {
        let (project, pipeline) = try await target(context, needs: .read)
        return try view(try await existing(project, pipeline))
    }

    @Sendable func pause(_ request: Request, context: TrellisRequestContext) async throws -> ScheduleView {
        try await setPaused(true, context: context)
    }

    /// Unpausing goes on from now: the ticks the pause covered are not run.
    @Sendable func unpause(_ request: Request, context: TrellisRequestContext) async throws -> ScheduleView {
        try await setPaused(false, context: context)
    }

    func setPaused(_ paused: Bool, context: TrellisRequestContext) async throws -> ScheduleView {
        let (project, pipeline) = try await target(context, needs: .manageSchedules)
        _ = try await existing(project, pipeline)
        return try view(try await schedules.setPaused(paused, project, pipeline, now: now().milliseconds))
    }

    func view(_ schedule: ScheduleRepository.ScheduleRow) throws -> ScheduleView {
        let definition = schedule.definition
        let zone = TimeZone(identifier: definition.timezone) ?? .gmt
        let cron = try Cron(definition.cron)
        var fires: [String] = []
        var cursor = max(now(), Date.fromMilliseconds(definition.startTime).addingTimeInterval(-1))
        while fires.count < 5, let next = cron.next(after: cursor, in: zone) {
            fires.append(ISO8601Offset.text(next, in: zone))
            cursor = next
        }
        return ScheduleView(
            project: schedule.project, pipeline: schedule.pipeline, cron: definition.cron, timezone: definition.timezone,
            startTime: ISO8601Offset.text(.fromMilliseconds(definition.startTime), in: zone), catchup: definition.catchup,
            dependsOnPast: definition.dependsOnPast, maxActiveRuns: definition.maxActiveRuns, expiredLimit: definition.expiredLimit,
            minimumInterval: DurationText.format(milliseconds: Int64(minimumInterval * 1000)), paused: schedule.paused,
            owner: schedule.owner,
            nextFireTimes: fires)
    }

    // MARK: Records

    struct RecordView: ResponseCodable {
        struct RunLink: Codable {
            let id: String
            let state: RunState?
            let link: String
        }
        let executionDate: Date
        let trigger: String
        let state: String
        let reason: String?
        let run: RunLink?
        /// Each task's log, by task name.
        let logs: [String: String]?
        /// The values a backfill gave its runs (the others take the pipeline's defaults).
        let parameters: [String: String]?
        let createdAt: Date
        let updatedAt: Date
    }

    struct RecordList: ResponseEncodable {
        let records: [RecordView]
        /// The cursor of the next page; absent on the last.
        let next: String?
    }

    @Sendable func records(_ request: Request, context: TrellisRequestContext) async throws -> RecordList {
        let (project, pipeline) = try await target(context, needs: .read)
        let query = request.uri.queryParameters
        let page = try request.pageRequest()
        var filter = ScheduleRepository.RecordFilter(before: try page.integerKey(0), limit: page.limit + 1)
        if let text = query.get("state") {
            guard let state = SchedulePlanner.RecordState(rawValue: text) else {
                throw APIError.invalidField(
                    "state", "must be one of \(SchedulePlanner.RecordState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.state = state
        }
        let found = Page(fetched: try await schedules.records(project, pipeline, matching: filter), request: page) {
            [String($0.execution_date)]
        }
        return RecordList(records: try await views(found.items, project: project), next: found.next)
    }

    func views(_ rows: [ScheduleRepository.RecordRow], project: String) async throws -> [RecordView] {
        let summaries = try await runs.summaries(ofRuns: rows.compactMap(\.run_id))
        return rows.map { row in
            let base = "/api/v1/projects/\(project)/runs/"
            let run = row.run_id.map { id in RecordView.RunLink(id: id, state: summaries[id]?.state, link: base + id) }
            let logs = row.run_id.flatMap { id in
                summaries[id].map { Dictionary(uniqueKeysWithValues: $0.tasks.map { ($0, "\(base)\(id)/tasks/\($0)/logs") }) }
            }
            return RecordView(
                executionDate: .fromMilliseconds(row.execution_date), trigger: row.run_trigger, state: row.state, reason: row.reason,
                run: run, logs: logs, parameters: row.parameterValues, createdAt: .fromMilliseconds(row.created_at),
                updatedAt: .fromMilliseconds(row.updated_at))
        }
    }

    /// Retries a tick: a run that ended without success is resumed (its succeeded tasks kept); a skipped, expired or
    /// failed tick without a run is pending again, to launch under the schedule's policies.
    @Sendable func retry(_ request: Request, context: TrellisRequestContext) async throws -> EditedResponse<RecordView> {
        let (project, pipeline) = try await target(context, needs: .manageSchedules)
        let date = try Self.executionDate(context)
        guard let record = try await schedules.record(project, pipeline, at: date) else { throw Self.noRecord(date) }
        if let run = record.run_id, record.state == SchedulePlanner.RecordState.launched.rawValue {
            do {
                _ = try await engine.resume(run, from: nil)
            } catch RunEngine.ResumeError.stillRunning {
                throw APIError.conflict("the tick's run \(run) is still running")
            } catch RunEngine.ResumeError.nothingToResume {
                throw APIError.conflict("the tick's run \(run) succeeded; there is nothing to retry")
            }
        } else {
            do {
                try await schedules.requeue(project, pipeline, at: date, now: now().milliseconds)
            } catch let error as ScheduleRepository.ChangeError {
                throw Self.apiError(error, date: date)
            }
        }
        return EditedResponse(status: .accepted, response: try await current(project, pipeline, date))
    }

    /// Skips a pending tick, or a tick whose run ended without success (so `dependsOnPast` goes on past it).
    @Sendable func skip(_ request: Request, context: TrellisRequestContext) async throws -> RecordView {
        let (project, pipeline) = try await target(context, needs: .manageSchedules)
        let date = try Self.executionDate(context)
        do {
            try await schedules.skip(project, pipeline, at: date, by: try context.requireUser().username, now: now().milliseconds)
        } catch let error as ScheduleRepository.ChangeError {
            throw Self.apiError(error, date: date)
        }
        return try await current(project, pipeline, date)
    }

    func current(_ project: String, _ pipeline: String, _ date: Int64) async throws -> RecordView {
        guard let record = try await schedules.record(project, pipeline, at: date) else { throw Self.noRecord(date) }
        return try await views([record], project: project)[0]
    }

    // MARK: Backfill

    struct BackfillRequest: Decodable {
        /// ISO 8601; without an offset, in the schedule's time zone.
        let from: String
        let to: String
        /// Values for the pipeline's `spec.parameters`, for every run of the range (the others take their defaults).
        let parameters: [String: JSONValue]?
    }

    struct BackfillResponse: ResponseEncodable {
        /// Ticks recorded to launch, and ticks recorded skipped (closer than the minimum interval).
        let pending: Int
        let skipped: Int
        let records: [RecordView]
    }

    /// Records every tick of `from...to` that has no record yet; they launch oldest first under the schedule's
    /// policies (maxActiveRuns, dependsOnPast, expiredLimit, the minimum interval; `catchup` does not apply, and a
    /// paused schedule still runs them).
    @Sendable func backfill(_ request: Request, context: TrellisRequestContext) async throws -> EditedResponse<BackfillResponse> {
        let (project, pipeline) = try await target(context, needs: .manageSchedules)
        let body = try await request.decode(as: BackfillRequest.self, context: context)
        let schedule = try await existing(project, pipeline)
        let zone = TimeZone(identifier: schedule.definition.timezone) ?? .gmt
        guard let from = PipelineSpec.Schedule.parseStartTime(body.from, in: zone) else {
            throw APIError.invalidField("from", "\"\(body.from)\" is not a date and time such as 2026-11-01T00:00:00")
        }
        guard let to = PipelineSpec.Schedule.parseStartTime(body.to, in: zone) else {
            throw APIError.invalidField("to", "\"\(body.to)\" is not a date and time such as 2026-11-02T00:00:00")
        }
        guard from <= to else { throw APIError.invalidField("to", "must not be before from") }
        guard to <= now() else { throw APIError.invalidField("to", "must not be in the future: future ticks are the schedule's own") }
        var parameters: [String: String]?
        if let given = body.parameters, !given.isEmpty {
            // Checked against the pipeline's declarations now; the runs take the defaults of the version they run.
            guard let version = try await scheduler.pipelines.pipeline(pipeline, project: project, version: nil, caller: context.caller())
            else { throw APIError.notFound("project \(project) has no pipeline named \"\(pipeline)\"") }
            _ = try RunParameters.resolve(given, declared: version.spec.spec.parameters ?? [])
            parameters = given.compactMapValues(RunParameters.text(of:))
        }
        let created: [ScheduleRepository.RecordRow]
        do {
            created = try await schedules.backfill(
                project, pipeline, from: from.milliseconds, to: to.milliseconds, now: now().milliseconds, minimumInterval: minimumInterval,
                parameters: parameters)
        } catch let error as ScheduleRepository.ChangeError {
            throw Self.apiError(error, date: nil)
        }
        let pending = created.count { $0.state == SchedulePlanner.RecordState.pending.rawValue }
        return EditedResponse(
            status: .created,
            response: BackfillResponse(
                pending: pending, skipped: created.count - pending, records: try await views(created, project: project)))
    }

    // MARK: Helpers

    /// The project and pipeline of the route, after the access check; the feed is followed first, so a schedule saved
    /// a moment ago is known.
    func target(_ context: TrellisRequestContext, needs action: ProjectAction) async throws -> (String, String) {
        let project = try context.parameters.require("project")
        try await access.require(action, in: project, context: context)
        try await scheduler.sync()
        return (project, try context.parameters.require("pipeline"))
    }

    func existing(_ project: String, _ pipeline: String) async throws -> ScheduleRepository.ScheduleRow {
        guard let schedule = try await schedules.schedule(project, pipeline) else {
            throw APIError.notFound("pipeline \"\(pipeline)\" has no schedule (spec.schedule)")
        }
        return schedule
    }

    /// A record's execution date in the path: ISO 8601 (`2026-11-01T02:00:00Z`) or Unix milliseconds.
    static func executionDate(_ context: TrellisRequestContext) throws -> Int64 {
        let text = try context.parameters.require("date")
        if let milliseconds = Int64(text) { return milliseconds }
        guard let date = APICoding.date(text) else {
            throw APIError.invalidField("date", "\"\(text)\" is not an execution date such as 2026-11-01T02:00:00Z")
        }
        return date.milliseconds
    }

    static func noRecord(_ date: Int64) -> APIError {
        APIError.notFound("no schedule record at \(ISO8601Offset.text(.fromMilliseconds(date), in: .gmt))")
    }

    static func apiError(_ error: ScheduleRepository.ChangeError, date: Int64?) -> APIError {
        switch error {
        case .noSchedule: APIError.notFound("the pipeline has no schedule (spec.schedule)")
        case .noRecord: noRecord(date ?? 0)
        case .notAllowed(let reason): APIError.conflict(reason)
        case .tooManyTicks:
            APIError.invalidField("to", "the range holds more than \(SchedulePlanner.maximumNewTicks) ticks; backfill it in parts")
        }
    }
}
