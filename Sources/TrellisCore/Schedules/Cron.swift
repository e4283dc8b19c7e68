import Foundation

/// A 5-field Vixie cron expression: lists, ranges, steps (`*/n`, `a-b/n`, `a/n`), names JAN–DEC and SUN–SAT, 7 for
/// Sunday, `@yearly @annually @monthly @weekly @daily @midnight @hourly`. Day of month and day of week are OR-ed when
/// both are restricted. Fire times are instants: a wall-clock time that happens twice (DST ends) fires twice, and one
/// that does not happen (DST starts) fires once, when the clock jumps — as croniter does.
public struct Cron: Sendable, Equatable, CustomStringConvertible {
    public let expression: String
    let minutes: Set<Int>
    let hours: Set<Int>
    let days: Set<Int>
    let months: Set<Int>
    /// 0 = Sunday … 6 = Saturday.
    let weekdays: Set<Int>
    /// Both day fields restricted: a day matches when either does.
    let daysOred: Bool

    public var description: String { expression }

    static let macros = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0", "@daily": "0 0 * * *",
        "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]
    static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    public init(_ text: String) throws(ValidationError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        expression = trimmed
        let expanded = Self.macros[trimmed.lowercased()] ?? trimmed
        let fields = expanded.split(whereSeparator: \.isWhitespace).map(String.init)
        guard fields.count == 5 else {
            throw ValidationError(
                field: "cron",
                "\"\(trimmed)\" has \(fields.count) fields; expected 5 (minute hour day-of-month month day-of-week) or @daily, @hourly, …")
        }
        minutes = try Self.parse(fields[0], name: "minute", range: 0...59, names: [])
        hours = try Self.parse(fields[1], name: "hour", range: 0...23, names: [])
        days = try Self.parse(fields[2], name: "day of month", range: 1...31, names: [])
        months = try Self.parse(fields[3], name: "month", range: 1...12, names: Self.monthNames, firstName: 1)
        weekdays = Set(try Self.parse(fields[4], name: "day of week", range: 0...7, names: Self.dayNames, firstName: 0).map { $0 % 7 })
        daysOred = fields[2] != "*" && fields[4] != "*"
    }

    static func parse(_ field: String, name: String, range: ClosedRange<Int>, names: [String], firstName: Int = 0) throws(ValidationError)
        -> Set<Int>
    {
        func value(_ text: Substring) throws(ValidationError) -> Int {
            if let number = Int(text) {
                guard range.contains(number) else {
                    throw ValidationError(field: "cron \(name)", "\(number) is outside \(range.lowerBound)–\(range.upperBound)")
                }
                return number
            }
            if let index = names.firstIndex(of: text.uppercased()) { return index + firstName }
            throw ValidationError(
                field: "cron \(name)", "\"\(text)\" is not a number\(names.isEmpty ? "" : " or a name (\(names.joined(separator: ", ")))")")
        }
        var result: Set<Int> = []
        for part in field.split(separator: ",", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw ValidationError(field: "cron \(name)", "an empty item in \"\(field)\"") }
            let pieces = part.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            var step = 1
            if pieces.count == 2 {
                guard let number = Int(pieces[1]), number > 0 else {
                    throw ValidationError(field: "cron \(name)", "the step \"\(pieces[1])\" must be a whole number above 0")
                }
                step = number
            }
            let base = pieces[0]
            var low: Int
            var high: Int
            if base == "*" {
                (low, high) = (range.lowerBound, range.upperBound)
            } else if let dash = base.firstIndex(of: "-") {
                low = try value(base[..<dash])
                high = try value(base[base.index(after: dash)...])
                guard low <= high else { throw ValidationError(field: "cron \(name)", "the range \(base) runs backwards") }
            } else {
                low = try value(base)
                // `a/n` is `a-max/n`.
                high = pieces.count == 2 ? range.upperBound : low
            }
            result.formUnion(stride(from: low, through: high, by: step))
        }
        return result
    }

    // MARK: Matching wall-clock times

    func matchesDay(year: Int, month: Int, day: Int) -> Bool {
        let weekday = (PyDateTime(year: year, month: month, day: day)?.weekday).map { ($0 + 1) % 7 } ?? -1
        let byDay = days.contains(day)
        let byWeekday = weekdays.contains(weekday)
        return daysOred ? (byDay || byWeekday) : (byDay && byWeekday)
    }

    func matches(_ wall: PyDateTime) -> Bool {
        months.contains(wall.month) && hours.contains(wall.hour) && minutes.contains(wall.minute)
            && matchesDay(year: wall.year, month: wall.month, day: wall.day)
    }

    /// The first wall-clock minute after `wall` that matches, within about 8 years.
    func nextWall(after wall: PyDateTime) -> PyDateTime? {
        let minute: Int64 = 60_000_000
        var current = PyDateTime(microseconds: (floorDivide(wall.microseconds, minute) + 1) * minute)
        for _ in 0..<100_000 {
            guard current.year <= 9999 else { return nil }
            if !months.contains(current.month) {
                let (year, month) = current.month == 12 ? (current.year + 1, 1) : (current.year, current.month + 1)
                guard let next = PyDateTime(year: year, month: month, day: 1) else { return nil }
                current = next
            } else if !matchesDay(year: current.year, month: current.month, day: current.day) {
                current = PyDateTime(microseconds: (current.days + 1) * PyDateTime.perDay)
            } else if !hours.contains(current.hour) {
                current = PyDateTime(microseconds: (floorDivide(current.microseconds, 3_600_000_000) + 1) * 3_600_000_000)
            } else if !minutes.contains(current.minute) {
                current = PyDateTime(microseconds: current.microseconds + minute)
            } else {
                return current
            }
        }
        return nil
    }

    // MARK: Instants

    /// The first fire time strictly after `date`, in `zone`; nil when there is none in about 8 years (`0 0 30 2 *`).
    public func next(after date: Date, in zone: TimeZone) -> Date? {
        var instant = (date.timeIntervalSince1970 / 60).rounded(.down) * 60 + 60
        let limit = date.timeIntervalSince1970 + 8 * 366 * 86_400
        while instant <= limit {
            let moment = Date(timeIntervalSince1970: instant)
            let offset = TimeInterval(zone.secondsFromGMT(for: moment))
            let wall = Self.wall(instant + offset)
            if matches(wall) { return moment }
            guard let target = nextWall(after: wall) else { return nil }
            let candidate = TimeInterval(target.microseconds / 1_000_000) - offset
            // A change of offset before the candidate: go on from there with the new offset. When the clock jumps
            // forward over a matching time, the fire happens at the jump.
            if let transition = zone.nextDaylightSavingTimeTransition(after: moment), transition.timeIntervalSince1970 <= candidate {
                let after = transition.timeIntervalSince1970
                let newOffset = TimeInterval(zone.secondsFromGMT(for: transition))
                if newOffset > offset, skippedTimesMatch(from: after + offset, to: after + newOffset) { return transition }
                instant = after
                continue
            }
            return Date(timeIntervalSince1970: candidate)
        }
        return nil
    }

    /// The last fire time strictly before `date`: the last of the fires in a window before it, the window widened until
    /// one has any (each window costs the fires in it: a window of a day before a minute's tick walked 1,440 of them).
    public func previous(before date: Date, in zone: TimeZone) -> Date? {
        for window: TimeInterval in [120, 3_600, 86_400, 32 * 86_400, 367 * 86_400, 8 * 367 * 86_400] {
            var last: Date?
            var cursor = date.addingTimeInterval(-window)
            while let fire = next(after: cursor, in: zone), fire < date {
                last = fire
                cursor = fire
            }
            if let last { return last }
        }
        return nil
    }

    /// Whether a wall-clock minute in [start, end) (local seconds since 1970) matches: times that DST skips.
    func skippedTimesMatch(from start: TimeInterval, to end: TimeInterval) -> Bool {
        var minute = start
        while minute < end {
            if matches(Self.wall(minute)) { return true }
            minute += 60
        }
        return false
    }

    static func wall(_ localSeconds: TimeInterval) -> PyDateTime {
        PyDateTime(microseconds: Int64(localSeconds) * 1_000_000)
    }
}
