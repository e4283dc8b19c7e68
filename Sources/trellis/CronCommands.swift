import ArgumentParser
import Foundation
import TrellisCore

/// `trellis cron next`.
struct CronCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cron", abstract: "Cron expressions.", subcommands: [NextFireTimes.self])
}

struct NextFireTimes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "next", abstract: "Print the next fire times of a cron expression, one ISO 8601 time with its offset a line.")

    @Argument(help: "A 5-field cron expression (`0 2 * * *`) or @daily, @hourly, @weekly, @monthly, @yearly.")
    var expression: String

    @Option(help: "An IANA time zone (default UTC).")
    var timezone = "UTC"

    @Option(help: "Times strictly after this instant (ISO 8601; default now).")
    var from: String?

    @Option(name: .shortAndLong, help: "How many.")
    var n = 5

    func run() async throws {
        guard let zone = TimeZone(identifier: timezone) else {
            throw ValidationError("--timezone \(timezone): not an IANA time zone such as Europe/Berlin or America/New_York")
        }
        guard (1...10_000).contains(n) else { throw ValidationError("-n \(n): must be between 1 and 10000") }
        let cron: Cron
        do {
            cron = try Cron(expression)
        } catch {
            FileHandle.standardError.write(Data("trellis cron next: \(error)\n".utf8))
            throw ExitCode(1)
        }
        var cursor = try CommandLineDates.instant(from, option: "--from") ?? Date()
        for _ in 0..<n {
            guard let fire = cron.next(after: cursor, in: zone) else { break }
            print(ISO8601Offset.text(fire, in: zone))
            cursor = fire
        }
    }
}
