/// Python's naive `datetime`, `date` and `timedelta`, as the template variables use them: microseconds since
/// 1970-01-01 00:00 (no time zone attached, like the seed's `datetime.datetime.now()`), proleptic Gregorian.
public struct PyDateTime: Sendable, Equatable, Comparable, Hashable {
    public var microseconds: Int64

    public init(microseconds: Int64) {
        self.microseconds = microseconds
    }

    static let perSecond: Int64 = 1_000_000
    static let perDay: Int64 = 86_400_000_000

    public init?(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0, microsecond: Int = 0) {
        guard (1...9999).contains(year), (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day),
            (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second), (0...999_999).contains(microsecond)
        else { return nil }
        let days = Int64(Self.daysFromCivil(year: year, month: month, day: day))
        microseconds =
            days * Self.perDay + Int64(hour) * 3_600_000_000 + Int64(minute) * 60_000_000 + Int64(second) * Self.perSecond
            + Int64(microsecond)
    }

    public static func < (lhs: PyDateTime, rhs: PyDateTime) -> Bool { lhs.microseconds < rhs.microseconds }

    var days: Int64 { floorDivide(microseconds, Self.perDay) }
    var timeOfDay: Int64 { microseconds - days * Self.perDay }
    var civil: (year: Int, month: Int, day: Int) { Self.civil(fromDays: Int(days)) }
    public var year: Int { civil.year }
    public var month: Int { civil.month }
    public var day: Int { civil.day }
    public var hour: Int { Int(timeOfDay / 3_600_000_000) }
    public var minute: Int { Int(timeOfDay / 60_000_000 % 60) }
    public var second: Int { Int(timeOfDay / Self.perSecond % 60) }
    public var microsecond: Int { Int(timeOfDay % Self.perSecond) }
    /// Monday 0 … Sunday 6, as Python's `weekday()`.
    public var weekday: Int { Int((days % 7 + 7 + 3) % 7) }
    /// Day of the year, from 1.
    public var dayOfYear: Int {
        Int(days - Int64(Self.daysFromCivil(year: year, month: 1, day: 1))) + 1
    }
    public var isValid: Bool { (1...9999).contains(year) }

    /// `2026-11-29 04:38:53` (+ `.123456` when there are microseconds), Python's `str(datetime)`.
    public func text(separator: String = " ") -> String {
        var text = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))\(separator)\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
        if microsecond != 0 { text += "." + pad(microsecond, 6) }
        return text
    }

    public var dateText: String { "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))" }

    static let weekdayNames = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    static let monthNames = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
    ]

    /// Python's `strftime` (the C library's codes Python documents); a naive value has empty `%z` and `%Z`.
    public func format(_ pattern: String) -> String {
        var output = ""
        var characters = pattern.makeIterator()
        while let character = characters.next() {
            guard character == "%" else {
                output.append(character)
                continue
            }
            guard let code = characters.next() else {
                output.append("%")
                break
            }
            switch code {
            case "Y": output += String(year)
            case "m": output += pad(month, 2)
            case "d": output += pad(day, 2)
            case "e": output += day < 10 ? " \(day)" : String(day)
            case "H": output += pad(hour, 2)
            case "I": output += pad(hour % 12 == 0 ? 12 : hour % 12, 2)
            case "M": output += pad(minute, 2)
            case "S": output += pad(second, 2)
            case "f": output += pad(microsecond, 6)
            case "j": output += pad(dayOfYear, 3)
            case "y": output += pad(year % 100, 2)
            case "a": output += String(Self.weekdayNames[weekday].prefix(3))
            case "A": output += Self.weekdayNames[weekday]
            case "b", "h": output += String(Self.monthNames[month - 1].prefix(3))
            case "B": output += Self.monthNames[month - 1]
            case "p": output += hour < 12 ? "AM" : "PM"
            case "w": output += String((weekday + 1) % 7)
            case "u": output += String(weekday + 1)
            case "U": output += pad((dayOfYear - 1 + 7 - (weekday + 1) % 7) / 7, 2)
            case "W": output += pad((dayOfYear - 1 + 7 - weekday) / 7, 2)
            case "c": output += format("%a %b %e %H:%M:%S %Y")
            case "x": output += format("%m/%d/%y")
            case "X": output += format("%H:%M:%S")
            case "D": output += format("%m/%d/%y")
            case "F": output += format("%Y-%m-%d")
            case "T": output += format("%H:%M:%S")
            case "R": output += format("%H:%M")
            case "z", "Z": break
            case "%": output += "%"
            case "n": output += "\n"
            case "t": output += "\t"
            default:
                output.append("%")
                output.append(code)
            }
        }
        return output
    }

    /// Python's `datetime.strptime`; nil when `text` does not match `pattern`.
    public static func parse(_ text: String, pattern: String) -> PyDateTime? {
        var input = Substring(text)
        var (year, month, day, hour, minute, second, microsecond) = (1900, 1, 1, 0, 0, 0, 0)
        var twelveHour: Int?
        var afternoon: Bool?
        var dayOfYear: Int?
        func number(_ maximumDigits: Int) -> Int? {
            let digits = input.prefix(maximumDigits).prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty else { return nil }
            input = input.dropFirst(digits.count)
            return Int(digits)
        }
        func name(_ names: [String]) -> Int? {
            for (index, full) in names.enumerated() {
                for candidate in [full, String(full.prefix(3))] where input.lowercased().hasPrefix(candidate.lowercased()) {
                    input = input.dropFirst(candidate.count)
                    return index
                }
            }
            return nil
        }
        var codes = pattern.makeIterator()
        while let character = codes.next() {
            if character == "%" {
                guard let code = codes.next() else { return nil }
                switch code {
                case "Y": guard let value = number(4) else { return nil }; year = value
                case "m": guard let value = number(2) else { return nil }; month = value
                case "d": guard let value = number(2) else { return nil }; day = value
                case "H": guard let value = number(2) else { return nil }; hour = value
                case "I": guard let value = number(2) else { return nil }; twelveHour = value
                case "M": guard let value = number(2) else { return nil }; minute = value
                case "S": guard let value = number(2) else { return nil }; second = value
                case "j": guard let value = number(3) else { return nil }; dayOfYear = value
                case "y":
                    guard let value = number(2) else { return nil }
                    year = value < 69 ? 2000 + value : 1900 + value
                case "f":
                    let digits = input.prefix(6).prefix { $0.isASCII && $0.isNumber }
                    guard !digits.isEmpty, let value = Int(digits) else { return nil }
                    input = input.dropFirst(digits.count)
                    microsecond = value * Int(pow10(6 - digits.count))
                case "b", "B", "h": guard let value = name(monthNames) else { return nil }; month = value + 1
                case "a", "A": guard name(weekdayNames) != nil else { return nil }
                case "p":
                    if input.uppercased().hasPrefix("AM") {
                        afternoon = false
                    } else if input.uppercased().hasPrefix("PM") {
                        afternoon = true
                    } else {
                        return nil
                    }
                    input = input.dropFirst(2)
                case "%": guard input.first == "%" else { return nil }; input = input.dropFirst()
                default: return nil
                }
            } else if character.isWhitespace {
                input = input.drop { $0.isWhitespace }
            } else {
                guard input.first == character else { return nil }
                input = input.dropFirst()
            }
        }
        guard input.isEmpty else { return nil }
        if let twelveHour {
            guard (1...12).contains(twelveHour) else { return nil }
            hour = twelveHour % 12 + (afternoon == true ? 12 : 0)
        }
        if let dayOfYear, let start = PyDateTime(year: year, month: 1, day: 1) {
            return PyDateTime(
                microseconds: start.microseconds + Int64(dayOfYear - 1) * perDay + Int64(hour) * 3_600_000_000 + Int64(minute) * 60_000_000
                    + Int64(second) * perSecond + Int64(microsecond))
        }
        return PyDateTime(year: year, month: month, day: day, hour: hour, minute: minute, second: second, microsecond: microsecond)
    }

    // Howard Hinnant's civil-calendar algorithms.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The year, month and day of a day counted from 1970-01-01 (the proleptic Gregorian calendar).
    public static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

/// Python's `timedelta`: microseconds, shown as `1 day, 2:03:04.000005`.
public struct PyTimeDelta: Sendable, Equatable, Comparable, Hashable {
    public var microseconds: Int64
    /// The largest timedelta the language makes (about 100 million days, either way): a sum of two, or one added to
    /// any date, still fits in 64 bits, so the checks after them see the overflow instead of trapping.
    static let limit: Int64 = 8_640_000_000_000_000_000

    public init(microseconds: Int64) {
        self.microseconds = microseconds
    }

    public static func < (lhs: PyTimeDelta, rhs: PyTimeDelta) -> Bool { lhs.microseconds < rhs.microseconds }

    public var days: Int64 { floorDivide(microseconds, PyDateTime.perDay) }
    public var seconds: Int64 { (microseconds - days * PyDateTime.perDay) / PyDateTime.perSecond }
    public var microsecondPart: Int64 { (microseconds - days * PyDateTime.perDay) % PyDateTime.perSecond }

    public var text: String {
        let rest = seconds
        var text = "\(rest / 3600):\(pad(Int(rest / 60 % 60), 2)):\(pad(Int(rest % 60), 2))"
        if microsecondPart != 0 { text += "." + pad(Int(microsecondPart), 6) }
        if days != 0 { text = "\(days) day\(abs(days) == 1 ? "" : "s"), " + text }
        return text
    }
}

func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
    let quotient = value / divisor
    return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient
}

func pad(_ value: Int, _ width: Int) -> String {
    let text = String(value.magnitude)
    return (value < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - text.count)) + text
}

func pow10(_ exponent: Int) -> Int64 {
    (0..<max(0, exponent)).reduce(1) { result, _ in result * 10 }
}
