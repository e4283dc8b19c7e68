/// The methods of `str` the template language offers.
enum StringMethods {
    static let names: Set<String> = [
        "upper", "lower", "strip", "lstrip", "rstrip", "replace", "startswith", "endswith", "split", "join", "zfill", "title",
        "capitalize", "format",
    ]

    static func call(_ name: String, on text: String, _ call: Call) throws(VariableError) -> Value {
        switch name {
        case "upper": return .string(text.uppercased())
        case "lower": return .string(text.lowercased())
        case "strip": return .string(strip(text, call.value(0, "chars"), leading: true, trailing: true))
        case "lstrip": return .string(strip(text, call.value(0, "chars"), leading: true, trailing: false))
        case "rstrip": return .string(strip(text, call.value(0, "chars"), leading: false, trailing: true))
        case "replace":
            return .string(
                try replace(
                    text, try call.string(0, "old"), try call.string(1, "new"), count: try call.integer(2, "count", default: -1),
                    column: call.column, fail: call.fail))
        case "startswith": return .bool(text.hasPrefix(try call.string(0, "prefix")))
        case "endswith": return .bool(text.hasSuffix(try call.string(0, "suffix")))
        case "split":
            if let separator = call.value(0, "sep"), separator != .none {
                guard case .string(let mark) = separator, !mark.isEmpty else { throw call.fail(call.column, "empty separator") }
                return .list(text.components(separatedBy: mark).map(Value.string))
            }
            return .list(text.split(whereSeparator: \.isWhitespace).map { .string(String($0)) })
        case "join":
            guard case .list(let items)? = call.value(0, "iterable") else { throw call.fail(call.column, "join() takes a list") }
            var parts: [String] = []
            for item in items {
                guard case .string(let part) = item else {
                    throw call.fail(call.column, "sequence item: expected str instance, \(item.typeName) found")
                }
                parts.append(part)
            }
            return try Operators.bounded(parts.joined(separator: text), column: call.column, fail: call.fail)
        case "zfill":
            let width = try call.integer(0, "width", default: nil)
            guard width <= Evaluator.maximumLength else { throw call.fail(call.column, "zfill width is too large") }
            let sign = text.hasPrefix("-") || text.hasPrefix("+") ? String(text.prefix(1)) : ""
            let digits = sign.isEmpty ? text : String(text.dropFirst())
            return .string(sign + String(repeating: "0", count: max(0, width - text.count)) + digits)
        case "title":
            var result = ""
            var previousIsLetter = false
            for character in text {
                result += previousIsLetter ? character.lowercased() : character.uppercased()
                previousIsLetter = character.isLetter
            }
            return .string(result)
        case "capitalize": return .string(text.prefix(1).uppercased() + text.dropFirst().lowercased())
        default: throw call.fail(call.column, "'str' object has no attribute '\(name)'")
        }
    }

    static func strip(_ text: String, _ characters: Value?, leading: Bool, trailing: Bool) -> String {
        let set: (Character) -> Bool
        if case .string(let chars)? = characters {
            set = { chars.contains($0) }
        } else {
            set = { $0.isWhitespace }
        }
        var result = Substring(text)
        if leading { result = result.drop(while: set) }
        if trailing {
            while let last = result.last, set(last) { result = result.dropLast() }
        }
        return String(result)
    }

    static func replace(_ text: String, _ old: String, _ new: String, count: Int, column: Int, fail: Operators.Fail) throws(VariableError)
        -> String
    {
        guard !old.isEmpty else {
            // Python inserts `new` between every character (and at both ends, up to `count` times); the size is
            // known before anything is built.
            let characters = Array(text)
            let insertions = count < 0 ? characters.count + 1 : min(count, characters.count + 1)
            let (added, overflow) = new.utf8.count.multipliedReportingOverflow(by: insertions)
            guard !overflow, added <= Evaluator.maximumLength - text.utf8.count else {
                throw fail(column, "the result would be too long")
            }
            var result = ""
            for (index, character) in characters.enumerated() {
                if index < insertions { result += new }
                result.append(character)
            }
            if insertions > characters.count { result += new }
            return result
        }
        var result = ""
        var rest = Substring(text)
        var replaced = 0
        while count < 0 || replaced < count, let range = rest.range(of: old) {
            result += rest[..<range.lowerBound] + new
            rest = rest[range.upperBound...]
            replaced += 1
            guard result.utf8.count <= Evaluator.maximumLength else { throw fail(column, "the result would be too long") }
        }
        return result + rest
    }
}

/// The methods of `datetime.datetime` and `datetime.date`.
enum DateMethods {
    static func call(_ name: String, on receiver: Value, _ call: Call) throws(VariableError) -> Value {
        let (moment, isDate): (PyDateTime, Bool)
        switch receiver {
        case .dateTime(let value): (moment, isDate) = (value, false)
        case .date(let value): (moment, isDate) = (value, true)
        default: throw call.fail(call.column, "'\(receiver.typeName)' object has no attribute '\(name)'")
        }
        switch name {
        case "strftime": return try Operators.bounded(moment.format(try call.string(0, "format")), column: call.column, fail: call.fail)
        case "weekday":
            try call.expect(0)
            return .int(moment.weekday)
        case "isoweekday":
            try call.expect(0)
            return .int(moment.weekday + 1)
        case "isoformat":
            if isDate { return .string(moment.dateText) }
            let separator = call.value(0, "sep").map(\.text) ?? "T"
            return .string(moment.text(separator: separator))
        case "date":
            try call.expect(0)
            return .date(PyDateTime(microseconds: moment.days * PyDateTime.perDay))
        case "replace":
            var fields = [moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second, moment.microsecond]
            for (index, field) in ["year", "month", "day", "hour", "minute", "second", "microsecond"].enumerated()
            where call.value(index, field) != nil {
                fields[index] = try call.integer(index, field, default: nil)
            }
            guard
                let replaced = PyDateTime(
                    year: fields[0], month: fields[1], day: fields[2], hour: fields[3], minute: fields[4], second: fields[5],
                    microsecond: fields[6])
            else { throw call.fail(call.column, "a date or time field is out of range") }
            return isDate ? .date(replaced) : .dateTime(replaced)
        default:
            throw call.fail(call.column, "'\(receiver.typeName)' object has no attribute '\(name)'")
        }
    }
}
