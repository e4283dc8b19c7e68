import ArgumentParser
import Foundation
import NIOHTTP1
import TrellisHTTP

/// `trellis schedule show|pause|unpause|records|retry|skip`.
struct ScheduleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule", abstract: "A pipeline's schedule: show, pause, unpause, its tick records, retry or skip a tick.",
        subcommands: [ShowSchedule.self, PauseSchedule.self, UnpauseSchedule.self, ScheduleRecords.self, RetryTick.self, SkipTick.self]
    )
}

/// A pipeline named on the command line, in `--project` or `TRELLIS_PROJECT`.
struct PipelineTarget: ParsableArguments {
    @Argument(help: "The pipeline's name.")
    var pipeline: String

    @Option(help: "The project (TRELLIS_PROJECT).")
    var project: String?

    /// `/api/v1/projects/{project}/pipelines/{pipeline}`.
    func path() throws -> String {
        guard let project = project ?? ProcessInfo.processInfo.environment["TRELLIS_PROJECT"] else {
            throw ValidationError("give --project or set TRELLIS_PROJECT")
        }
        return "/api/v1/projects/\(project)/pipelines/\(pipeline)"
    }
}

/// What the CLI shows of a schedule.
struct ScheduleSnapshot: Decodable {
    let cron: String
    let timezone: String
    let startTime: String
    let catchup: Bool
    let dependsOnPast: Bool
    let maxActiveRuns: Int
    let expiredLimit: Int
    let minimumInterval: String
    let paused: Bool
    let owner: String
    let nextFireTimes: [String]

    /// Sends `method` to the schedule's `path` (below `…/schedule`) and prints the schedule it answers with.
    static func request(_ method: HTTPMethod, _ path: String, target: PipelineTarget, server: ServerOptions) async throws {
        let (_, data) = try await APIClient(options: server).send(method, try target.path() + "/schedule" + path)
        try JSONDecoder().decode(ScheduleSnapshot.self, from: data).print()
    }

    func print() {
        Swift.print("cron \(cron) in \(timezone)\(paused ? " (paused)" : ""), from \(startTime), runs as \(owner)")
        Swift.print(
            "catchup \(catchup), dependsOnPast \(dependsOnPast), maxActiveRuns \(maxActiveRuns), expiredLimit \(expiredLimit), "
                + "minimum interval \(minimumInterval)")
        Swift.print("next: \(nextFireTimes.joined(separator: ", "))")
    }
}

struct ShowSchedule: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a pipeline's schedule and its next fire times.")

    @OptionGroup var server: ServerOptions
    @OptionGroup var target: PipelineTarget

    func run() async throws {
        try await ScheduleSnapshot.request(.GET, "", target: target, server: server)
    }
}

struct PauseSchedule: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Record no new ticks until unpaused.")

    @OptionGroup var server: ServerOptions
    @OptionGroup var target: PipelineTarget

    func run() async throws {
        try await ScheduleSnapshot.request(.POST, "/pause", target: target, server: server)
    }
}

struct UnpauseSchedule: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unpause", abstract: "Go on from now (the ticks the pause covered are not run; backfill them if needed).")

    @OptionGroup var server: ServerOptions
    @OptionGroup var target: PipelineTarget

    func run() async throws {
        try await ScheduleSnapshot.request(.POST, "/unpause", target: target, server: server)
    }
}

/// A tick record as the CLI prints it.
struct TickRecord: Decodable {
    struct RunLink: Decodable {
        let id: String
        let state: String?
        let link: String
    }
    let executionDate: String
    let trigger: String
    let state: String
    let reason: String?
    let run: RunLink?
    let logs: [String: String]?

    /// Posts `action` (retry, skip) to the tick's record and prints the record it answers with.
    static func act(_ action: String, at date: String, target: PipelineTarget, server: ServerOptions) async throws {
        let (_, data) = try await APIClient(options: server).send(.POST, try target.path() + "/schedule-records/\(date)/\(action)")
        try JSONDecoder().decode(TickRecord.self, from: data).print(server: server.serverURL)
    }

    /// One line: execution date, state, trigger, run and its state, reason; then the log links, indented.
    func print(server: String) {
        var line = "\(executionDate)  \(state.padding(toLength: 9, withPad: " ", startingAt: 0))  \(trigger)"
        if let run { line += "  run \(run.id) \(run.state ?? "?")  \(server)\(run.link)" }
        if let reason { line += "  (\(reason))" }
        Swift.print(line)
        for (task, link) in (logs ?? [:]).sorted(by: { $0.key < $1.key }) { Swift.print("    logs of \(task): \(server)\(link)") }
    }
}

struct ScheduleRecords: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "records", abstract: "List a pipeline's tick records, newest first, with their runs and logs.")

    @OptionGroup var server: ServerOptions
    @OptionGroup var target: PipelineTarget

    @Option(help: "Only records in this state (pending, launching, launched, skipped, expired, failed).")
    var state: String?

    @Option(help: "How many (1 to 1000).")
    var limit = 50

    func run() async throws {
        struct Records: Decodable { let records: [TickRecord] }
        var path = try target.path() + "/schedule-records?limit=\(limit)"
        if let state { path += "&state=\(state)" }
        let (_, data) = try await APIClient(options: server).send(.GET, path)
        let records = try JSONDecoder().decode(Records.self, from: data).records
        if records.isEmpty { print("no records") }
        for record in records { record.print(server: server.serverURL) }
    }
}

struct RetryTick: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry", abstract: "Retry a tick: resume its failed run, or launch a skipped, expired or failed tick again.")

    @OptionGroup var server: ServerOptions
    @OptionGroup var target: PipelineTarget

    @Argument(help: "The tick's execution date, ISO 8601 (as `records` prints it).")
    var executionDate: String

    func run() async throws {
        try await TickRecord.act("retry", at: executionDate, target: target, server: server)
    }
}

struct SkipTick: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skip", abstract: "Skip a pending tick, or a failed one that holds back dependsOnPast.")

    @OptionGroup var server: ServerOptions
    @OptionGroup var target: PipelineTarget

    @Argument(help: "The tick's execution date, ISO 8601 (as `records` prints it).")
    var executionDate: String

    func run() async throws {
        try await TickRecord.act("skip", at: executionDate, target: target, server: server)
    }
}

/// `trellis backfill PIPELINE --from --to`.
struct Backfill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the ticks of a past range that have no record yet, under the schedule's policies (catchup aside).")

    @OptionGroup var server: ServerOptions
    @OptionGroup var target: PipelineTarget

    @Option(help: "The range's first instant, ISO 8601; without an offset, in the schedule's time zone.")
    var from: String

    @Option(help: "The range's last instant (inclusive), not in the future.")
    var to: String

    func run() async throws {
        struct Created: Decodable {
            let pending: Int
            let skipped: Int
            let records: [TickRecord]
        }
        let body = try JSONSerialization.data(withJSONObject: ["from": from, "to": to])
        let (_, data) = try await APIClient(options: server).send(.POST, try target.path() + "/backfill", body: body)
        let created = try JSONDecoder().decode(Created.self, from: data)
        print("\(created.pending) ticks to run, \(created.skipped) skipped (closer than the minimum interval)")
        for record in created.records where record.state != "pending" { record.print(server: server.serverURL) }
    }
}
