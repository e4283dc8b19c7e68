import ArgumentParser
import Foundation
import TrellisCore
import TrellisHTTP
import TrellisStore

/// `trellis vars render`.
struct Vars: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Template variables.", subcommands: [RenderVariables.self])
}

struct RenderVariables: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render", abstract: "Render template variables in TEXT as a run would, and print the result.",
        discussion: """
            Names: creator, runner, pipeline_id, pipeline_name, project, cluster_name, run_id, execution_date, ds, ds_nodash, ts, \
            ts_nodash, prev_ds, next_ds, the modules uuid and datetime, macros.ds_add; --set adds or replaces any name.
            """)

    @Argument(help: "The text, e.g. '{{ datetime.datetime.now().strftime(\"%Y%m%d\") }}-{{ uuid.uuid4().hex[:4] }}'.")
    var text: String

    @Option(help: "The run's creation instant, `now()` (ISO 8601; its offset is the run's time zone). Default: now.")
    var now: String?

    @Option(help: "The execution date (ISO 8601). Default: --now.")
    var executionDate: String?

    @Option(help: "NAME=VALUE: a variable, as a pipeline's global env key would be (repeatable).")
    var set: [String] = []

    func run() async throws {
        let created = try CommandLineDates.instant(now, option: "--now") ?? Date()
        let execution = try CommandLineDates.instant(executionDate, option: "--execution-date") ?? created
        var extra: [String: String] = [:]
        for assignment in set {
            let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("--set \(assignment): expected NAME=VALUE") }
            extra[parts[0]] = parts[1]
        }
        let offset = ISO8601Offset.seconds(in: executionDate ?? now ?? "Z")
        var variables = RunVariables(
            project: extra["project"] ?? "", runner: extra["runner"] ?? ProcessInfo.processInfo.environment["USER"] ?? "cli",
            runID: extra["run_id"] ?? "cli", createdAt: created.milliseconds,
            executionDate: execution.milliseconds, utcOffsetSeconds: offset, randomBytes: RunVariables.systemRandomBytes)
        variables.createdAtMicroseconds =
            try now.map { try CommandLineDates.microseconds($0, option: "--now") }
            ?? Int64((created.timeIntervalSince1970 * 1_000_000).rounded())
        var context = variables.context(
            pipeline: extra["pipeline_name"] ?? "", pipelineID: extra["pipeline_id"], creator: extra["creator"] ?? variables.runner,
            environment: [:])
        for (name, value) in extra { context.variables[name] = .string(value) }
        do {
            print(try VariableRenderer.render(text, field: "TEXT", context: context))
        } catch {
            FileHandle.standardError.write(Data("trellis vars render: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

}

/// Instants given on the command line: ISO 8601, with or without fractional seconds; without an offset, UTC.
enum CommandLineDates {
    /// The instant to the microsecond: its fraction read digit by digit (a `Double` of seconds keeps only about
    /// seven significant digits of it), the rest as ``instant(_:option:)`` reads it.
    static func microseconds(_ text: String, option: String) throws -> Int64 {
        guard let dot = text.firstIndex(of: "."), text[text.index(after: dot)...].first?.isNumber == true else {
            return try instant(text, option: option).map { Int64($0.timeIntervalSince1970) * 1_000_000 } ?? 0
        }
        let digits = text[text.index(after: dot)...].prefix { $0.isNumber }
        let whole = String(text[..<dot]) + text[text.index(after: dot)...].dropFirst(digits.count)
        guard let seconds = try instant(whole, option: option), digits.count <= 9 else {
            throw ValidationError("\(option) \(text): not an ISO 8601 date and time such as 2026-11-29T02:00:00.123456Z")
        }
        let fraction = Int64((digits + String(repeating: "0", count: 6)).prefix(6)) ?? 0
        return Int64(seconds.timeIntervalSince1970.rounded()) * 1_000_000 + fraction
    }

    static func instant(_ text: String?, option: String) throws -> Date? {
        guard let text else { return nil }
        if let date = try? Date(text, strategy: .iso8601) { return date }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
        if let date = try? Date(text + "Z", strategy: .iso8601) { return date }
        throw ValidationError("\(option) \(text): not an ISO 8601 date and time such as 2026-11-29T02:00:00Z")
    }
}
