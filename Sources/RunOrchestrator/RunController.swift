import Foundation
import Hummingbird
import NIOCore
import ServiceContracts
import TrellisCore
import TrellisHTTP
import TrellisStore

/// The orchestrator's HTTP API: start runs (whole pipeline or one task), list and read them, cancel, resume,
/// logs (live as server-sent events) and an attempt's processes and resource samples. Members read; developers
/// and owners start, cancel and resume.
struct RunController: Sendable {
    let engine: RunEngine
    let launcher: RunLauncher
    let repository: RunRepository
    let access: ProjectAccess
    let executor: any ExecutorClient
    /// Live log streams held open per user, bounded: each holds a connection and a file open until its task ends.
    let liveStreams = StreamQuota(perUser: 16)

    func addRoutes(to routes: RouterGroup<TrellisRequestContext>) {
        routes.post("projects/:project/pipelines/:pipeline/runs", use: start)
        routes.get("projects/:project/pipelines/:pipeline/runs", use: listOfPipeline)
        routes.get("projects/:project/pipelines/:pipeline/grid", use: grid)
        routes.post("projects/:project/pipelines/:pipeline/tasks/:task/run", use: startSingle)
        routes.get("projects/:project/runs", use: list)
        routes.get("projects/:project/runs/:run", use: get)
        routes.get("runs/:run", use: getByID)
        routes.post("projects/:project/runs/:run/cancel", use: cancel)
        routes.post("projects/:project/runs/:run/resume", use: resume)
        routes.post("projects/:project/runs/:run/pin", use: pin)
        routes.post("projects/:project/runs/:run/unpin", use: unpin)
        routes.get("projects/:project/storage", use: storage)
        routes.get("projects/:project/runs/:run/tasks/:task/logs", use: logs)
        routes.get("projects/:project/runs/:run/tasks/:task/attempts/:number", use: attempt)
    }

    // MARK: Starting

    struct StartRequest: Decodable {
        /// Keep the working directory and show the exact command and env (single-task debug).
        var debug: Bool?
        /// Values for the pipeline's `spec.parameters` (the others take their defaults).
        var parameters: [String: JSONValue]?
    }

    @Sendable func start(_ request: Request, context: TrellisRequestContext) async throws -> EditedResponse<RunView> {
        let project = try context.parameters.require("project")
        try await access.require(.runPipelines, in: project, context: context)
        let body = try await request.decodeIfPresent(as: StartRequest.self, context: context)
        return try await create(
            project: project, pipeline: try context.parameters.require("pipeline"), task: nil, debug: false, parameters: body?.parameters,
            context: context)
    }

    /// One task alone, without its upstreams, with the pipeline's env (`{"debug": true}` keeps its working directory).
    @Sendable func startSingle(_ request: Request, context: TrellisRequestContext) async throws -> EditedResponse<RunView> {
        let project = try context.parameters.require("project")
        try await access.require(.runPipelines, in: project, context: context)
        let body = try await request.decodeIfPresent(as: StartRequest.self, context: context)
        return try await create(
            project: project, pipeline: try context.parameters.require("pipeline"), task: try context.parameters.require("task"),
            debug: body?.debug ?? false, parameters: body?.parameters, context: context)
    }

    /// A manual run (or, with `task`, a single-task run) of the pipeline's current version, its variables rendered
    /// now: `execution_date` and `now()` are this instant, in UTC.
    func create(
        project: String, pipeline name: String, task: String?, debug: Bool, parameters: [String: JSONValue]?, context: TrellisRequestContext
    ) async throws -> EditedResponse<RunView> {
        let run = try await launcher.start(
            project: project, pipeline: name, task: task, debug: debug, trigger: task == nil ? .manual : .single, parameters: parameters,
            caller: try context.caller())
        return EditedResponse(status: .created, response: RunView(try await stored(run.id, project: project)))
    }

    // MARK: Reading

    @Sendable func get(_ request: Request, context: TrellisRequestContext) async throws -> RunView {
        let project = try context.parameters.require("project")
        try await access.require(.read, in: project, context: context)
        return RunView(try await stored(try context.parameters.require("run"), project: project))
    }

    /// A run by its id alone, for members of its project (404 for everyone else, as for the project's own routes).
    @Sendable func getByID(_ request: Request, context: TrellisRequestContext) async throws -> RunView {
        let id = try context.parameters.require("run")
        guard let run = try await repository.run(id), try await access.role(in: run.project, caller: context.caller()) != nil else {
            throw APIError.notFound("no run \(id)")
        }
        return RunView(run)
    }

    @Sendable func list(_ request: Request, context: TrellisRequestContext) async throws -> RunList {
        let project = try context.parameters.require("project")
        try await access.require(.read, in: project, context: context)
        return try await list(project: project, pipeline: request.uri.queryParameters.get("pipeline"), request: request)
    }

    @Sendable func listOfPipeline(_ request: Request, context: TrellisRequestContext) async throws -> RunList {
        let project = try context.parameters.require("project")
        try await access.require(.read, in: project, context: context)
        return try await list(project: project, pipeline: try context.parameters.require("pipeline"), request: request)
    }

    func list(project: String, pipeline: String?, request: Request) async throws -> RunList {
        let query = request.uri.queryParameters
        let page = try request.pageRequest()
        var filter = RunRepository.Filter(pipeline: pipeline, limit: page.limit + 1)
        if let createdAt = try page.integerKey(0), let id = try page.key(1) { filter.before = (createdAt, id) }
        if let text = query.get("state") {
            guard let state = RunState(rawValue: text) else {
                throw APIError.invalidField("state", "must be one of \(RunState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.state = state
        }
        if let text = query.get("trigger") {
            guard let trigger = RunTrigger(rawValue: text) else {
                throw APIError.invalidField("trigger", "must be one of \(RunTrigger.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.trigger = trigger
        }
        filter.from = try Self.instant(query.get("from"), field: "from")
        filter.to = try Self.instant(query.get("to"), field: "to")
        let found = Page(fetched: try await repository.runs(inProject: project, matching: filter), request: page) {
            [String($0.created_at), $0.id]
        }
        return RunList(runs: found.items.map(RunSummary.init), next: found.next)
    }

    /// The pipeline's runs × tasks, newest run first, `limit` runs (1-100, 25 by default) a page.
    @Sendable func grid(_ request: Request, context: TrellisRequestContext) async throws -> RunGrid {
        let project = try context.parameters.require("project")
        let pipeline = try context.parameters.require("pipeline")
        try await access.require(.read, in: project, context: context)
        let query = request.uri.queryParameters
        var limit = RunGrid.defaultRuns
        if let text = query.get("limit") {
            guard let parsed = Int(text), (1...RunGrid.maximumRuns).contains(parsed) else {
                throw APIError.invalidField("limit", "must be 1 to \(RunGrid.maximumRuns) runs")
            }
            limit = parsed
        }
        let page = PageRequest(limit: limit, after: try query.get("cursor").map(PageCursor.keys(decoding:)))
        var filter = RunRepository.Filter(pipeline: pipeline, limit: page.limit + 1)
        if let createdAt = try page.integerKey(0), let id = try page.key(1) { filter.before = (createdAt, id) }
        let found = Page(fetched: try await repository.runs(inProject: project, matching: filter), request: page) {
            [String($0.created_at), $0.id]
        }
        let cells = try await repository.gridCells(ofRuns: found.items.map(\.id))
        var taskOrder: [String] = []
        if let newest = found.items.first { taskOrder = try await repository.taskOrder(ofRun: newest.id) }
        return RunGrid(pipeline: pipeline, runs: found.items, taskOrder: taskOrder, cells: cells, next: found.next)
    }

    /// An execution-date bound of the run list: ISO 8601 with an offset.
    static func instant(_ text: String?, field: String) throws -> Int64? {
        guard let text else { return nil }
        guard let date = APICoding.date(text) else {
            throw APIError.invalidField(field, "\"\(text)\" is not an ISO 8601 instant such as 2026-11-01T02:00:00Z")
        }
        return date.milliseconds
    }

    func stored(_ id: String, project: String) async throws -> RunRecord {
        guard let run = try await repository.run(id), run.project == project else {
            throw APIError.notFound("project \(project) has no run \(id)")
        }
        return run
    }

    // MARK: Cancel and resume

    @Sendable func cancel(_ request: Request, context: TrellisRequestContext) async throws -> RunView {
        let project = try context.parameters.require("project")
        try await access.require(.runPipelines, in: project, context: context)
        let run = try await stored(try context.parameters.require("run"), project: project)
        guard try await engine.cancel(run.id) else {
            throw APIError.failedPrecondition("run \(run.id) already ended \(run.state.rawValue)")
        }
        return RunView(try await stored(run.id, project: project))
    }

    // MARK: Retention

    /// Keeps the run from the project's retention (`settings.retention`).
    @Sendable func pin(_ request: Request, context: TrellisRequestContext) async throws -> RunView {
        try await pin(true, context: context)
    }

    @Sendable func unpin(_ request: Request, context: TrellisRequestContext) async throws -> RunView {
        try await pin(false, context: context)
    }

    func pin(_ pinned: Bool, context: TrellisRequestContext) async throws -> RunView {
        let project = try context.parameters.require("project")
        try await access.require(.runPipelines, in: project, context: context)
        let id = try context.parameters.require("run")
        guard try await repository.pin(id, inProject: project, pinned) else {
            throw APIError.notFound("project \(project) has no run \(id)")
        }
        return RunView(try await stored(id, project: project))
    }

    /// What the project's runs take (shown on the project page beside its retention).
    @Sendable func storage(_ request: Request, context: TrellisRequestContext) async throws -> ProjectStorage {
        let project = try context.parameters.require("project")
        try await access.require(.read, in: project, context: context)
        return try await repository.storage(ofProject: project)
    }

    struct ResumeRequest: Decodable {
        /// Re-run this task and everything downstream of it (succeeded or not); without it, what did not succeed.
        var task: String?
    }

    @Sendable func resume(_ request: Request, context: TrellisRequestContext) async throws -> RunView {
        let project = try context.parameters.require("project")
        try await access.require(.runPipelines, in: project, context: context)
        let run = try await stored(try context.parameters.require("run"), project: project)
        let body = try await request.decodeIfPresent(as: ResumeRequest.self, context: context)
        do {
            _ = try await engine.resume(run.id, from: body?.task)
        } catch RunEngine.ResumeError.stillRunning {
            throw APIError.failedPrecondition("run \(run.id) is still \(run.state.rawValue); cancel it or wait for it to end")
        } catch RunEngine.ResumeError.nothingToResume {
            throw APIError.failedPrecondition("run \(run.id) has nothing to resume: every task succeeded (name a task to re-run it)")
        } catch RunEngine.ResumeError.unknownTask(let task) {
            throw APIError.invalidField("task", "run \(run.id) has no task named \"\(task)\"")
        }
        return RunView(try await stored(run.id, project: project))
    }

    // MARK: Logs and process status

    /// The attempt's log (`attempt`, default the latest; `replica` for one replica's): plain text, or with
    /// `follow=true` server-sent events (`data: <line>` per line, then `event: end` with the attempt's state).
    @Sendable func logs(_ request: Request, context: TrellisRequestContext) async throws -> Response {
        let (run, attempt) = try await attempt(of: request, context: context)
        let query = request.uri.queryParameters
        var replica: Int?
        if let text = query.get("replica") {
            let replicas = run.plan.task(named: attempt.task)?.replicas ?? 1
            guard let rank = Int(text), rank >= 0, rank < replicas else {
                throw APIError.invalidField("replica", "must be a rank from 0 to \(replicas - 1)")
            }
            replica = rank
        }
        let follow = query.get("follow") == "true"
        if !follow {
            guard let stream = try await executor.logs(of: attempt.executionID, replica: replica, follow: false) else {
                throw APIError.notFound("the log of attempt \(attempt.number) of task \(attempt.task) is gone")
            }
            var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8"]
            if query.get("download") == "true" {
                headers[.contentDisposition] = "attachment; filename=\"\(run.pipeline)-\(attempt.task)-\(attempt.number).log\""
            }
            return Response(status: .ok, headers: headers, body: ResponseBody(asyncSequence: stream))
        }
        let user = try context.requireUser().id
        guard await liveStreams.take(for: user) else {
            throw APIError.tooManyRequests(
                "you have \(liveStreams.perUser) live log streams open already (the most at once); close one, or read the log without follow"
            )
        }
        let stream: LogStream
        do {
            guard let found = try await executor.logs(of: attempt.executionID, replica: replica, follow: true) else {
                throw APIError.notFound("the log of attempt \(attempt.number) of task \(attempt.task) is gone")
            }
            stream = found
        } catch {
            await liveStreams.give(back: user)
            throw error
        }
        let (executor, liveStreams) = (executor, liveStreams)
        let (executionID, stopping) = (attempt.executionID, run.stopping)
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                // The slot is free again however the stream ends: the task's end, an error, the client leaving.
                do {
                    try await Self.writeEvents(of: stream, executionID: executionID, stopping: stopping, executor: executor, to: &writer)
                } catch {
                    await liveStreams.give(back: user)
                    throw error
                }
                await liveStreams.give(back: user)
            }
        )
    }

    /// The log as server-sent events, then `event: end` with how the attempt ended.
    static func writeEvents(
        of stream: LogStream, executionID: String, stopping: RunState?, executor: any ExecutorClient,
        to writer: inout any ResponseBodyWriter
    ) async throws {
        var framer = EventStreamFramer()
        for try await chunk in stream {
            let framed = framer.frame(chunk)
            if framed.readableBytes > 0 { try await writer.write(framed) }
        }
        try await writer.write(framer.finish())
        // How the attempt ended, from the executor (the run's record of it may be a moment behind).
        let ended = try await executor.status(of: [executionID]).first
        let state = ended.map { RunEngine.outcome(of: $0, stopping: stopping).state.rawValue } ?? "unknown"
        try await writer.write(ByteBuffer(string: "event: end\ndata: \(state)\n\n"))
        try await writer.finish(nil)
    }

    @Sendable func attempt(_ request: Request, context: TrellisRequestContext) async throws -> AttemptDetail {
        let (_, attempt) = try await attempt(of: request, context: context)
        return AttemptDetail(
            attempt: AttemptView(attempt, showInvocation: true),
            process: try await executor.status(of: [attempt.executionID]).first
                ?? ExecutionStatus(id: attempt.executionID, phase: .unknown),
            samples: try await executor.samples(of: attempt.executionID)
        )
    }

    /// The run and the attempt a logs or status request names (`:number` or `?attempt=`, default the latest).
    func attempt(of request: Request, context: TrellisRequestContext) async throws -> (RunRecord, AttemptRecord) {
        let project = try context.parameters.require("project")
        try await access.require(.read, in: project, context: context)
        let run = try await stored(try context.parameters.require("run"), project: project)
        let task = try context.parameters.require("task")
        guard run.plan.task(named: task) != nil else { throw APIError.notFound("run \(run.id) has no task named \"\(task)\"") }
        let attempts = run.attempts(of: task)
        let wanted = context.parameters.get("number") ?? request.uri.queryParameters.get("attempt")
        if let wanted {
            guard let number = Int(wanted), let found = attempts.first(where: { $0.number == number }) else {
                throw APIError.notFound("task \(task) of run \(run.id) has no attempt \(wanted)")
            }
            return (run, found)
        }
        guard let latest = attempts.last else { throw APIError.notFound("task \(task) of run \(run.id) has not started yet") }
        return (run, latest)
    }
}

/// Turns log bytes into server-sent events: one `data:` event per line, lines cut across chunks joined again.
struct EventStreamFramer {
    private var pending: [UInt8] = []

    mutating func frame(_ chunk: ByteBuffer) -> ByteBuffer {
        var output = ByteBuffer()
        for byte in chunk.readableBytesView {
            if byte == UInt8(ascii: "\n") {
                emit(into: &output)
            } else if byte != UInt8(ascii: "\r") {
                pending.append(byte)
            }
        }
        return output
    }

    mutating func finish() -> ByteBuffer {
        var output = ByteBuffer()
        if !pending.isEmpty { emit(into: &output) }
        return output
    }

    private mutating func emit(into output: inout ByteBuffer) {
        output.writeString("data: ")
        output.writeBytes(pending)
        output.writeString("\n\n")
        pending.removeAll(keepingCapacity: true)
    }
}

/// Slots per user, taken and given back.
actor StreamQuota {
    nonisolated let perUser: Int
    private var open: [String: Int] = [:]

    init(perUser: Int) {
        self.perUser = perUser
    }

    /// A slot for `user`, or false when they hold `perUser` already.
    func take(for user: String) -> Bool {
        guard open[user, default: 0] < perUser else { return false }
        open[user, default: 0] += 1
        return true
    }

    func give(back user: String) {
        open[user] = max(0, open[user, default: 0] - 1)
        if open[user] == 0 { open[user] = nil }
    }
}
