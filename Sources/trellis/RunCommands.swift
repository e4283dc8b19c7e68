import ArgumentParser
import Foundation
import NIOCore
import ServiceContracts
import TrellisHTTP

/// `trellis run start|logs|resume|cancel`.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Start, watch, resume and cancel runs.",
        subcommands: [StartRun.self, RunLogs.self, ResumeRun.self, CancelRun.self]
    )
}

/// What the CLI reads of a run.
struct RunSnapshot: Decodable {
    struct TaskProgress: Decodable {
        struct Attempt: Decodable {
            let number: Int
            let state: String
            let exitCode: Int?
            let reason: String?
        }
        let name: String
        let state: String
        let attempts: [Attempt]
    }
    let id: String
    let project: String
    let pipeline: String
    let state: String
    let reason: String?
    let tasks: [TaskProgress]

    var isFinished: Bool { ["succeeded", "failed", "cancelled"].contains(state) }

    static func fetch(_ id: String, client: APIClient) async throws -> RunSnapshot {
        let (_, data) = try await client.send(.GET, "/api/v1/runs/\(id)")
        return try APICoding.decoder().decode(RunSnapshot.self, from: data)
    }

    /// Prints each task whose state changed since `previous`, then the run's end; returns the states shown.
    @discardableResult
    func report(since previous: [String: String]) -> [String: String] {
        var shown: [String: String] = [:]
        for task in tasks {
            shown[task.name] = task.state
            guard previous[task.name] != task.state, !(previous.isEmpty && task.state == "pending") else { continue }
            var line = "\(Self.clock()) \(task.name) \(task.state)"
            if let attempt = task.attempts.last, task.state != "pending" || attempt.state != "running" {
                line += " (attempt \(attempt.number)"
                if let code = attempt.exitCode { line += ", exit \(code)" }
                if let reason = attempt.reason, task.state != "succeeded" { line += ": \(reason)" }
                line += ")"
            }
            print(line)
        }
        return shown
    }

    static func clock() -> String {
        Date().formatted(.dateTime.hour(.twoDigits(amPM: .omitted)).minute(.twoDigits).second(.twoDigits))
    }

    /// Follows the run until it ends, printing task changes; exits non-zero unless it succeeded.
    static func watch(_ id: String, client: APIClient) async throws {
        var shown: [String: String] = [:]
        while true {
            let run = try await fetch(id, client: client)
            shown = run.report(since: shown)
            if run.isFinished {
                print("run \(run.id) \(run.state)\(run.reason.map { ": \($0)" } ?? "")")
                if run.state != "succeeded" { throw ExitCode(1) }
                return
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }
}

struct StartRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start a run of a pipeline.")

    @OptionGroup var server: ServerOptions
    @OptionGroup var target: PipelineTarget

    @Flag(help: "Wait for the run to end, printing task states as they change; exit 1 unless it succeeds.")
    var wait = false

    @Option(name: .customLong("param"), help: "NAME=VALUE: a value for the pipeline's spec.parameters (repeatable).")
    var parameters: [String] = []

    func run() async throws {
        let client = APIClient(options: server)
        var values: [String: String] = [:]
        for assignment in parameters {
            let parts = assignment.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("--param \(assignment): expected NAME=VALUE") }
            values[parts[0]] = parts[1]
        }
        let body = try JSONEncoder().encode(["parameters": values])
        let (_, data) = try await client.send(.POST, try target.path() + "/runs", body: body)
        let run = try APICoding.decoder().decode(RunSnapshot.self, from: data)
        print("run \(run.id) of \(run.project)/\(run.pipeline) started")
        if wait { try await RunSnapshot.watch(run.id, client: client) }
    }
}

struct RunLogs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs", abstract: "Print a run's logs: one task's, or every task's latest attempt.")

    @OptionGroup var server: ServerOptions

    @Argument(help: "The run id.")
    var run: String

    @Argument(help: "A task of the run (default: every task).")
    var task: String?

    @Option(help: "An attempt number (default: the latest).")
    var attempt: Int?

    @Flag(name: .shortAndLong, help: "Follow the task's log while it runs.")
    var follow = false

    func run() async throws {
        let client = APIClient(options: server)
        let state = try await RunSnapshot.fetch(run, client: client)
        if follow, task == nil { throw ValidationError("name a task to follow its log") }
        let tasks = task.map { [$0] } ?? state.tasks.filter { !$0.attempts.isEmpty }.map(\.name)
        for name in tasks {
            if task == nil { print("==> \(name) <==") }
            var path = "/api/v1/projects/\(state.project)/runs/\(run)/tasks/\(name)/logs?follow=\(follow)"
            if let attempt { path += "&attempt=\(attempt)" }
            var events = EventLines()
            try await client.stream(.GET, path) { chunk in
                let text = follow ? events.lines(in: chunk) : String(buffer: chunk)
                FileHandle.standardOutput.write(Data(text.utf8))
            }
        }
    }

    /// The `data:` lines of server-sent events, as plain lines.
    struct EventLines {
        var pending = ""

        mutating func lines(in chunk: ByteBuffer) -> String {
            pending += String(buffer: chunk)
            var output = ""
            while let end = pending.range(of: "\n\n") {
                let event = pending[..<end.lowerBound]
                pending = String(pending[end.upperBound...])
                if event.hasPrefix("data: ") { output += event.dropFirst(6) + "\n" }
            }
            return output
        }
    }
}

struct ResumeRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Run again what did not succeed (or --task and its downstream); succeeded tasks are kept.")

    @OptionGroup var server: ServerOptions

    @Argument(help: "The run id.")
    var run: String

    @Option(help: "Re-run this task and everything downstream of it.")
    var task: String?

    @Flag(help: "Wait for the run to end.")
    var wait = false

    func run() async throws {
        let client = APIClient(options: server)
        let state = try await RunSnapshot.fetch(run, client: client)
        let body = try task.map { try JSONSerialization.data(withJSONObject: ["task": $0]) }
        _ = try await client.send(.POST, "/api/v1/projects/\(state.project)/runs/\(run)/resume", body: body)
        print("run \(run) resumed")
        if wait { try await RunSnapshot.watch(run, client: client) }
    }
}

struct CancelRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Stop a run's tasks and end it cancelled.")

    @OptionGroup var server: ServerOptions

    @Argument(help: "The run id.")
    var run: String

    func run() async throws {
        let client = APIClient(options: server)
        let state = try await RunSnapshot.fetch(run, client: client)
        _ = try await client.send(.POST, "/api/v1/projects/\(state.project)/runs/\(run)/cancel")
        print("run \(run) cancelled")
    }
}
