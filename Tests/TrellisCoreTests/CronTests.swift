import Foundation
import Testing
import TrellisCore

@Suite struct CronTests {
    static func next(_ cron: String, from: String, zone: String, count: Int = 5) throws -> [String] {
        let timeZone = try #require(TimeZone(identifier: zone))
        var cursor = try Date(from, strategy: .iso8601)
        let expression = try Cron(cron)
        var times: [String] = []
        for _ in 0..<count {
            guard let fire = expression.next(after: cursor, in: timeZone) else { break }
            times.append(ISO8601Offset.text(fire, in: timeZone))
            cursor = fire
        }
        return times
    }

    @Test(arguments: [
        // New York, 2026-03-08 02:00 → 03:00: a skipped time fires once, when the clock jumps.
        ("30 2 * * *", "2026-03-07T23:00:00-05:00", "America/New_York", ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"]),
        (
            "*/30 * * * *", "2026-03-08T01:00:00-05:00", "America/New_York",
            ["2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00"]
        ),
        // New York, 2026-11-01 02:00 → 01:00: a repeated time fires twice.
        (
            "30 1 * * *", "2026-10-31T23:00:00-04:00", "America/New_York",
            ["2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00", "2026-11-02T01:30:00-05:00"]
        ),
        (
            "0 * * * *", "2026-11-01T00:00:00-04:00", "America/New_York",
            ["2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"]
        ),
        // Berlin, 2026-03-29 02:00 → 03:00 and 2026-10-25 03:00 → 02:00.
        ("15 2 * * *", "2026-03-28T12:00:00+01:00", "Europe/Berlin", ["2026-03-29T03:00:00+02:00", "2026-03-30T02:15:00+02:00"]),
        (
            "45 2 * * *", "2026-10-24T12:00:00+02:00", "Europe/Berlin",
            ["2026-10-25T02:45:00+02:00", "2026-10-25T02:45:00+01:00", "2026-10-26T02:45:00+01:00"]
        ),
        // Vixie rules: day of month OR day of week when both are restricted; 7 is Sunday; names; macros.
        (
            "0 0 13 * 5", "2026-11-29T00:00:00+00:00", "UTC",
            ["2026-12-04T00:00:00+00:00", "2026-12-11T00:00:00+00:00", "2026-12-13T00:00:00+00:00"]
        ),
        ("0 0 * * 7", "2026-11-29T00:00:00+00:00", "UTC", ["2026-12-06T00:00:00+00:00"]),
        ("0 9 * JAN-MAR MON-FRI", "2026-11-29T00:00:00+00:00", "UTC", ["2027-01-01T09:00:00+00:00", "2027-01-04T09:00:00+00:00"]),
        ("@hourly", "2026-11-29T04:38:00+00:00", "UTC", ["2026-11-29T05:00:00+00:00"]),
        ("0 0 29 2 *", "2026-11-29T00:00:00+00:00", "UTC", ["2028-02-29T00:00:00+00:00"]),
        ("5/15 2 * * *", "2026-11-29T00:00:00+08:00", "Asia/Shanghai", ["2026-11-29T02:05:00+08:00", "2026-11-29T02:20:00+08:00"]),
        // Where croniter 6 is wrong (so scripts/croniter-expectations.py does not generate these forms): ranges with
        // equal ends, `a/n` in day of week (Vixie: a-7/n, 7 = Sunday), and a repeated half hour (Lord Howe).
        ("0 1 * * 7-7", "2026-11-01T00:10:00+00:00", "UTC", ["2026-11-01T01:00:00+00:00", "2026-11-08T01:00:00+00:00"]),
        ("* 22-22/4 15 * *", "2026-11-01T00:10:00+00:00", "UTC", ["2026-11-15T22:00:00+00:00"]),
        ("0 1 * JUL-JUL *", "2026-11-01T00:10:00+00:00", "UTC", ["2027-07-01T01:00:00+00:00"]),
        (
            "0 1 * * 1/3", "2026-11-01T00:10:00+00:00", "UTC",
            ["2026-11-01T01:00:00+00:00", "2026-11-02T01:00:00+00:00", "2026-11-05T01:00:00+00:00"]
        ),
        (
            "49 1 * * *", "2026-04-05T01:30:00+11:00", "Australia/Lord_Howe",
            ["2026-04-05T01:49:00+11:00", "2026-04-05T01:49:00+10:30", "2026-04-06T01:49:00+10:30"]
        ),
    ])
    func fireTimesAcrossDaylightSavingAndVixieRules(_ cron: String, _ from: String, _ zone: String, _ expected: [String]) throws {
        #expect(try Self.next(cron, from: from, zone: zone, count: expected.count) == expected)
    }

    struct Case: Decodable {
        let cron: String
        let zone: String
        let from: String
        let next: [String]
    }

    /// What croniter answers for the same expressions, starts and zones (scripts/croniter-expectations.py wrote them).
    @Test func matchesCroniterOnGeneratedExpressions() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/croniter.json")
        let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: fixture))
        #expect(cases.count >= 900)
        var mismatches: [String] = []
        for item in cases {
            let ours = try Self.next(item.cron, from: item.from, zone: item.zone, count: item.next.count)
            if ours != item.next { mismatches.append("\(item.cron) from \(item.from) in \(item.zone): \(ours) != \(item.next)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(cases.count) differ, e.g. \(mismatches.prefix(3))")
    }

    /// `previous(before:)` walks back over the same fires: before each of croniter's fires is the one croniter gave
    /// before it (DST's repeated and skipped hours included).
    @Test func previousMatchesCroniterBackwards() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/croniter.json")
        let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: fixture))
        var mismatches: [String] = []
        var checked = 0
        for item in cases where item.next.count >= 2 {
            let zone = try #require(TimeZone(identifier: item.zone))
            let cron = try Cron(item.cron)
            for (earlier, later) in zip(item.next, item.next.dropFirst()) {
                let found = cron.previous(before: try Date(later, strategy: .iso8601), in: zone).map { ISO8601Offset.text($0, in: zone) }
                checked += 1
                if found != earlier { mismatches.append("\(item.cron) before \(later) in \(item.zone): \(found ?? "none") != \(earlier)") }
            }
        }
        #expect(checked >= 900)
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(checked) differ, e.g. \(mismatches.prefix(3))")
    }

    @Test func previousIsTheFireBefore() throws {
        let zone = try #require(TimeZone(identifier: "America/New_York"))
        let cron = try Cron("0 2 * * *")
        let date = try Date("2026-11-29T12:00:00Z", strategy: .iso8601)
        #expect(cron.previous(before: date, in: zone).map { ISO8601Offset.text($0, in: zone) } == "2026-11-29T02:00:00-05:00")
        #expect(
            try Cron("0 0 29 2 *").previous(before: date, in: zone).map { ISO8601Offset.text($0, in: zone) } == "2024-02-29T00:00:00-05:00")
    }

    @Test(arguments: [
        ("* * * *", "cron: \"* * * *\" has 4 fields; expected 5 (minute hour day-of-month month day-of-week) or @daily, @hourly, …"),
        ("60 * * * *", "cron minute: 60 is outside 0–59"),
        ("0 24 * * *", "cron hour: 24 is outside 0–23"),
        ("0 0 0 * *", "cron day of month: 0 is outside 1–31"),
        ("0 0 * FOO *", "cron month: \"FOO\" is not a number or a name (JAN, FEB, MAR, APR, MAY, JUN, JUL, AUG, SEP, OCT, NOV, DEC)"),
        ("0 0 * * 8", "cron day of week: 8 is outside 0–7"),
        ("*/0 * * * *", "cron minute: the step \"0\" must be a whole number above 0"),
        ("5-1 * * * *", "cron minute: the range 5-1 runs backwards"),
        ("1,,2 * * * *", "cron minute: an empty item in \"1,,2\""),
    ])
    func badExpressionsNameTheFieldAndTheReason(_ cron: String, _ message: String) {
        #expect(throws: ValidationError.self) { try Cron(cron) }
        do {
            _ = try Cron(cron)
        } catch {
            #expect(error.description == message)
        }
    }
}
