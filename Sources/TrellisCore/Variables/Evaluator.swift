/// What an expression may read: the run's variables and modules, the run's instant, and fresh randomness.
public struct VariableContext: Sendable {
    public var variables: [String: Value]
    /// `datetime.datetime.now()`: the run's creation instant in the run's time zone, as a naive value.
    public var now: PyDateTime
    /// `datetime.datetime.utcnow()`.
    public var utcNow: PyDateTime
    /// 16 random bytes, fresh for each `uuid.uuid4()`.
    public var randomBytes: @Sendable () -> [UInt8]
    /// The run's parameters, read as `params.NAME` (`params` is a name only when the pipeline declares some).
    public var parameters: [String: String] = [:]

    /// The modules and functions every context has.
    public static let globals: [String: Value] = [
        "uuid": .namespace("uuid"), "datetime": .namespace("datetime"), "macros": .namespace("macros"),
        "str": .function("str", receiver: nil), "int": .function("int", receiver: nil), "len": .function("len", receiver: nil),
    ]

    public init(variables: [String: Value], now: PyDateTime, utcNow: PyDateTime, randomBytes: @escaping @Sendable () -> [UInt8]) {
        self.variables = Self.globals.merging(variables) { $1 }
        self.now = now
        self.utcNow = utcNow
        self.randomBytes = randomBytes
    }
}

/// Evaluates an ``Expression`` with Python's semantics, bounded in work and size.
struct Evaluator {
    let context: VariableContext
    let source: String
    var steps = 0

    static let maximumSteps = 100_000
    static let maximumLength = 1 << 20

    init(context: VariableContext, source: String) {
        self.context = context
        self.source = source
    }

    func fail(_ column: Int, _ message: String) -> VariableError { VariableError(column: column, expression: source, message) }

    mutating func evaluate(_ expression: Expression) throws(VariableError) -> Value {
        steps += 1
        guard steps <= Self.maximumSteps else { throw fail(0, "the expression takes too long to evaluate") }
        switch expression {
        case .literal(let value):
            return value
        case .name(let name, _):
            return context.variables[name] ?? .undefined(name)
        case .list(let items):
            var values: [Value] = []
            for item in items { values.append(try defined(try evaluate(item), column: 0)) }
            return .list(values)
        case .attribute(let base, let name, let column):
            return try attribute(try defined(try evaluate(base), column: column, of: base), name, column: column)
        case .index(let base, let key, let column):
            return try index(try defined(try evaluate(base), column: column, of: base), try evaluate(key), column: column)
        case .slice(let base, let start, let stop, let step, let column):
            let value = try defined(try evaluate(base), column: column, of: base)
            return try slice(
                value, start: try start.map { e throws(VariableError) in try evaluate(e) },
                stop: try stop.map { e throws(VariableError) in try evaluate(e) },
                step: try step.map { e throws(VariableError) in try evaluate(e) }, column: column)
        case .call(let base, let arguments, let keywords, let column):
            let function = try defined(try evaluate(base), column: column, of: base)
            var values: [Value] = []
            for argument in arguments { values.append(try defined(try evaluate(argument), column: column, of: argument)) }
            var named: [String: Value] = [:]
            for (name, argument) in keywords { named[name] = try defined(try evaluate(argument), column: column, of: argument) }
            return try call(function, values, named, column: column)
        case .filter(let base, let name, let arguments, let keywords, let column):
            let value = try evaluate(base)
            var values: [Value] = []
            for argument in arguments { values.append(try evaluate(argument)) }
            var named: [String: Value] = [:]
            for (key, argument) in keywords { named[key] = try evaluate(argument) }
            return try filter(name, value, values, named, column: column, base: base)
        case .test(let base, let name, let arguments, let negated, let column):
            var value: Value
            if name == "defined" || name == "undefined" {
                // Anything that cannot be read — an unknown name, a parameter the run has not — is not defined.
                do { value = try evaluate(base) } catch { value = .undefined("") }
            } else {
                value = try defined(try evaluate(base), column: column, of: base)
            }
            var values: [Value] = []
            for argument in arguments { values.append(try defined(try evaluate(argument), column: column, of: argument)) }
            let holds = try test(name, value, values, column: column)
            return .bool(negated ? !holds : holds)
        case .unary(let symbol, let operand, let column):
            let value = try defined(try evaluate(operand), column: column, of: operand)
            return try unary(symbol, value, column: column)
        case .binary("and", let left, let right, _):
            let first = try evaluate(left)
            return first.isTruthy ? try evaluate(right) : first
        case .binary("or", let left, let right, _):
            let first = try evaluate(left)
            return first.isTruthy ? first : try evaluate(right)
        case .binary(let symbol, let left, let right, let column):
            let first = try defined(try evaluate(left), column: column, of: left)
            let second = try defined(try evaluate(right), column: column, of: right)
            return try Operators.apply(symbol, first, second, column: column, fail: fail)
        case .conditional(let condition, let then, let otherwise):
            if try evaluate(condition).isTruthy { return try evaluate(then) }
            return try otherwise.map { e throws(VariableError) in try evaluate(e) } ?? .undefined("")
        }
    }

    /// An undefined value is an error naming it, wherever it is used (cube-studio renders it as "").
    func defined(_ value: Value, column: Int, of expression: Expression? = nil) throws(VariableError) -> Value {
        guard case .undefined(let name) = value else { return value }
        var at = column
        if case .name(_, let nameColumn)? = expression { at = nameColumn }
        throw fail(at, name.isEmpty ? "the condition is false and there is no else" : "unknown name \"\(name)\"")
    }

    // MARK: Tests

    static let testNames: Set<String> = [
        "defined", "undefined", "none", "number", "integer", "float", "string", "boolean", "true", "false", "sequence", "iterable",
        "even", "odd", "lower", "upper", "divisibleby", "sameas",
    ]

    /// Jinja2's tests (`is defined`, `is none`, `is number`, …) with its meanings: a bool is a number but not an integer.
    func test(_ name: String, _ value: Value, _ arguments: [Value], column: Int) throws(VariableError) -> Bool {
        let arity = name == "divisibleby" || name == "sameas" ? 1 : 0
        guard arguments.count == arity else { throw fail(column, "the test \"\(name)\" takes \(arity) argument\(arity == 1 ? "" : "s")") }
        switch (name, value) {
        case ("defined", .undefined): return false
        case ("defined", _): return true
        case ("undefined", .undefined): return true
        case ("undefined", _): return false
        case ("none", .none): return true
        case ("none", _): return false
        case ("number", .int), ("number", .float), ("number", .bool): return true
        case ("number", _): return false
        case ("integer", .int): return true
        case ("integer", _): return false
        case ("float", .float): return true
        case ("float", _): return false
        case ("string", .string): return true
        case ("string", _): return false
        case ("boolean", .bool): return true
        case ("boolean", _): return false
        case ("true", .bool(let flag)): return flag
        case ("false", .bool(let flag)): return !flag
        case ("true", _), ("false", _): return false
        case ("sequence", .list), ("sequence", .string), ("iterable", .list), ("iterable", .string): return true
        case ("sequence", _), ("iterable", _): return false
        case ("even", .int(let number)): return number % 2 == 0
        case ("odd", .int(let number)): return number % 2 != 0
        case ("lower", .string(let text)): return text == text.lowercased()
        case ("upper", .string(let text)): return text == text.uppercased()
        case ("divisibleby", .int(let number)):
            guard case .int(let divisor) = arguments[0], divisor != 0 else { throw fail(column, "divisibleby takes a non-zero integer") }
            return number % divisor == 0
        case ("sameas", _): return Operators.equal(value, arguments[0]) && value.typeName == arguments[0].typeName
        case ("even", _), ("odd", _), ("lower", _), ("upper", _), ("divisibleby", _):
            throw fail(column, "the test \"\(name)\" does not apply to '\(value.typeName)'")
        default:
            throw fail(column, "no test named \"\(name)\"")
        }
    }

    // MARK: Unary

    func unary(_ symbol: String, _ value: Value, column: Int) throws(VariableError) -> Value {
        switch (symbol, value) {
        case ("not", _): return .bool(!value.isTruthy)
        case ("-", .int(let number)):
            guard number != .min else { throw fail(column, "the number is too large") }
            return .int(-number)
        case ("-", .float(let number)): return .float(-number)
        case ("-", .timeDelta(let delta)):
            return .timeDelta(try Operators.delta(delta.microseconds == .min ? nil : -delta.microseconds, column: column, fail: fail))
        case ("+", .int), ("+", .float), ("+", .timeDelta): return value
        default: throw fail(column, "bad operand type for unary \(symbol): '\(value.typeName)'")
        }
    }

    // MARK: Indexing

    func index(_ value: Value, _ key: Value, column: Int) throws(VariableError) -> Value {
        if case .namespace("params") = value, case .string(let name) = key { return try parameter(name, column: column) }
        guard case .int(let position) = key else {
            throw fail(column, "\(value.typeName) indices must be integers, not \(key.typeName)")
        }
        switch value {
        case .string(let text):
            let characters = Array(text)
            let at = position < 0 ? characters.count + position : position
            guard characters.indices.contains(at) else { throw fail(column, "string index out of range") }
            return .string(String(characters[at]))
        case .list(let items):
            let at = position < 0 ? items.count + position : position
            guard items.indices.contains(at) else { throw fail(column, "list index out of range") }
            return items[at]
        default:
            throw fail(column, "'\(value.typeName)' object is not subscriptable")
        }
    }

    func slice(_ value: Value, start: Value?, stop: Value?, step: Value?, column: Int) throws(VariableError) -> Value {
        func integer(_ bound: Value?) throws(VariableError) -> Int? {
            switch bound {
            case nil, .none?: return nil
            case .int(let number)?: return number
            default: throw fail(column, "slice indices must be integers or None")
            }
        }
        let stride = try integer(step) ?? 1
        guard stride != 0 else { throw fail(column, "slice step cannot be zero") }
        func pick<T>(_ items: [T]) throws(VariableError) -> [T] {
            let count = items.count
            func clamp(_ bound: Int?, _ fallback: Int) -> Int {
                guard var bound else { return fallback }
                if bound < 0 { bound += count }
                return stride > 0 ? min(max(bound, 0), count) : min(max(bound, -1), count - 1)
            }
            var result: [T] = []
            var index = clamp(try integer(start), stride > 0 ? 0 : count - 1)
            let end = clamp(try integer(stop), stride > 0 ? count : -1)
            while stride > 0 ? index < end : index > end {
                result.append(items[index])
                // A step past the end stops the slice (a huge step would overflow the index).
                let (next, overflow) = index.addingReportingOverflow(stride)
                if overflow { break }
                index = next
            }
            return result
        }
        switch value {
        case .string(let text): return .string(String(try pick(Array(text))))
        case .list(let items): return .list(try pick(items))
        default: throw fail(column, "'\(value.typeName)' object is not subscriptable")
        }
    }

    // MARK: Attributes

    /// A run parameter's value.
    func parameter(_ name: String, column: Int) throws(VariableError) -> Value {
        guard let value = context.parameters[name] else { throw fail(column, "the run has no parameter \"\(name)\"") }
        return .string(value)
    }

    func attribute(_ value: Value, _ name: String, column: Int) throws(VariableError) -> Value {
        let function = { (qualified: String) -> Value in .function(qualified, receiver: value) }
        switch (value, name) {
        case (.namespace("params"), _): return try parameter(name, column: column)
        case (.namespace("uuid"), "uuid4"): return .function("uuid.uuid4", receiver: nil)
        case (.namespace("datetime"), "datetime"): return .namespace("datetime.datetime")
        case (.namespace("datetime"), "timedelta"): return .namespace("datetime.timedelta")
        case (.namespace("datetime"), "date"): return .namespace("datetime.date")
        case (.namespace("datetime.datetime"), "now"), (.namespace("datetime.datetime"), "utcnow"),
            (.namespace("datetime.datetime"), "strptime"), (.namespace("datetime.date"), "today"):
            if case .namespace(let owner) = value { return .function("\(owner).\(name)", receiver: nil) }
        case (.namespace("macros"), "ds_add"), (.namespace("macros"), "ds_format"):
            return .function("macros.\(name)", receiver: nil)
        case (.uuid(let hex), "hex"): return .string(hex)
        case (.dateTime(let moment), _), (.date(let moment), _):
            let isDate = if case .date = value { true } else { false }
            switch name {
            case "year": return .int(moment.year)
            case "month": return .int(moment.month)
            case "day": return .int(moment.day)
            case "hour" where !isDate: return .int(moment.hour)
            case "minute" where !isDate: return .int(moment.minute)
            case "second" where !isDate: return .int(moment.second)
            case "microsecond" where !isDate: return .int(moment.microsecond)
            case "strftime", "weekday", "isoweekday", "isoformat", "replace": return function("datetime.\(name)")
            case "date" where !isDate: return function("datetime.date")
            default: break
            }
        case (.timeDelta(let delta), "days"): return .int(Int(delta.days))
        case (.timeDelta(let delta), "seconds"): return .int(Int(delta.seconds))
        case (.timeDelta(let delta), "microseconds"): return .int(Int(delta.microsecondPart))
        case (.timeDelta, "total_seconds"): return function("timedelta.total_seconds")
        case (.string, _) where StringMethods.names.contains(name): return function("str.\(name)")
        default: break
        }
        throw fail(column, "'\(value.typeName)' object has no attribute '\(name)'")
    }

    // MARK: Calls

    mutating func call(_ function: Value, _ arguments: [Value], _ keywords: [String: Value], column: Int) throws(VariableError) -> Value {
        let call = Call(arguments: arguments, keywords: keywords, column: column, fail: fail)
        switch function {
        case .function("uuid.uuid4", _):
            try call.expect(0)
            var bytes = context.randomBytes()
            guard bytes.count == 16 else { throw fail(column, "no randomness for uuid4") }
            bytes[6] = (bytes[6] & 0x0f) | 0x40
            bytes[8] = (bytes[8] & 0x3f) | 0x80
            return .uuid(bytes.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined())
        case .function("datetime.datetime.now", _):
            try call.expect(0)
            return .dateTime(context.now)
        case .function("datetime.datetime.utcnow", _):
            try call.expect(0)
            return .dateTime(context.utcNow)
        case .function("datetime.date.today", _):
            try call.expect(0)
            return .date(PyDateTime(microseconds: context.now.days * PyDateTime.perDay))
        case .function("datetime.datetime.strptime", _):
            let text = try call.string(0, "date_string")
            let pattern = try call.string(1, "format")
            guard let parsed = PyDateTime.parse(text, pattern: pattern) else {
                throw fail(column, "time data '\(text)' does not match format '\(pattern)'")
            }
            return .dateTime(parsed)
        case .namespace("datetime.datetime"):
            let parts = try ["year", "month", "day", "hour", "minute", "second", "microsecond"].enumerated().map {
                entry throws(VariableError) in try call.integer(entry.offset, entry.element, default: entry.offset < 3 ? nil : 0)
            }
            guard
                let moment = PyDateTime(
                    year: parts[0], month: parts[1], day: parts[2], hour: parts[3], minute: parts[4], second: parts[5],
                    microsecond: parts[6])
            else { throw fail(column, "a date or time field is out of range") }
            return .dateTime(moment)
        case .namespace("datetime.timedelta"):
            // Python's order: days, seconds, microseconds, milliseconds, minutes, hours, weeks.
            let units: [(String, Double)] = [
                ("days", 86_400e6), ("seconds", 1e6), ("microseconds", 1), ("milliseconds", 1e3), ("minutes", 60e6), ("hours", 3_600e6),
                ("weeks", 604_800e6),
            ]
            var total = 0.0
            for (position, unit) in units.enumerated() { total += try call.number(position, unit.0, default: 0) * unit.1 }
            guard abs(total) <= Double(PyTimeDelta.limit) else { throw fail(column, "timedelta is too large") }
            return .timeDelta(PyTimeDelta(microseconds: Int64(total.rounded())))
        case .function("macros.ds_add", _):
            let ds = try call.string(0, "ds")
            let days = try call.integer(1, "days", default: nil)
            guard let date = PyDateTime.parse(ds, pattern: "%Y-%m-%d") else {
                throw fail(column, "ds_add: '\(ds)' is not a YYYY-MM-DD date")
            }
            let (span, overflow) = Int64(days).multipliedReportingOverflow(by: PyDateTime.perDay)
            let moved = try Operators.moved(
                date, by: try Operators.delta(overflow ? nil : span, column: column, fail: fail), negated: false, column: column, fail: fail
            )
            return .string(moved.dateText)
        case .function("macros.ds_format", _):
            let ds = try call.string(0, "ds")
            let input = try call.string(1, "input_format")
            let output = try call.string(2, "output_format")
            guard let date = PyDateTime.parse(ds, pattern: input) else {
                throw fail(column, "time data '\(ds)' does not match format '\(input)'")
            }
            return .string(date.format(output))
        case .function("str", _):
            try call.expect(1)
            return .string(arguments[0].text)
        case .function("int", _):
            return try Conversions.int(arguments.first ?? .int(0), column: column, fail: fail)
        case .function("len", _):
            try call.expect(1)
            return try Conversions.length(arguments[0], column: column, fail: fail)
        case .function(let name, let receiver?) where name.hasPrefix("datetime."):
            return try DateMethods.call(String(name.dropFirst("datetime.".count)), on: receiver, call)
        case .function("timedelta.total_seconds", .timeDelta(let delta)?):
            try call.expect(0)
            return .float(Double(delta.microseconds) / 1e6)
        case .function(let name, .string(let text)?) where name.hasPrefix("str."):
            return try StringMethods.call(String(name.dropFirst(4)), on: text, call)
        default:
            throw fail(column, "'\(function.typeName)' object is not callable")
        }
    }

    // MARK: Filters

    func filter(_ name: String, _ value: Value, _ arguments: [Value], _ keywords: [String: Value], column: Int, base: Expression)
        throws(VariableError) -> Value
    {
        let call = Call(arguments: arguments, keywords: keywords, column: column, fail: fail)
        if name == "default" || name == "d" {
            let fallback = call.value(0, "default_value") ?? .string("")
            let onFalse = call.value(1, "boolean")?.isTruthy ?? false
            if case .undefined = value { return fallback }
            return onFalse && !value.isTruthy ? fallback : value
        }
        let input = try defined(value, column: column, of: base)
        switch name {
        case "upper": return .string(input.text.uppercased())
        case "lower": return .string(input.text.lowercased())
        case "trim": return .string(input.text.trimmingCharacters(in: .whitespacesAndNewlines))
        case "string": return .string(input.text)
        case "length", "count": return try Conversions.length(input, column: column, fail: fail)
        case "replace":
            let old = try call.string(0, "old")
            let new = try call.string(1, "new")
            let count = try call.integer(2, "count", default: -1)
            return .string(try StringMethods.replace(input.text, old, new, count: count, column: column, fail: fail))
        case "int":
            let fallback = try call.integer(0, "default", default: 0)
            return (try? Conversions.int(input, column: column, fail: fail)) ?? .int(fallback)
        default:
            throw fail(column, "no filter named '\(name)'")
        }
    }
}

/// A call's arguments, by position or by keyword.
struct Call {
    let arguments: [Value]
    let keywords: [String: Value]
    let column: Int
    let fail: (Int, String) -> VariableError

    func value(_ position: Int, _ name: String) -> Value? {
        position < arguments.count ? arguments[position] : keywords[name]
    }

    func expect(_ count: Int) throws(VariableError) {
        guard arguments.count == count, keywords.isEmpty else {
            throw fail(column, "takes \(count) argument\(count == 1 ? "" : "s") (\(arguments.count + keywords.count) given)")
        }
    }

    func string(_ position: Int, _ name: String) throws(VariableError) -> String {
        guard let value = value(position, name) else { throw fail(column, "missing argument '\(name)'") }
        guard case .string(let text) = value else { throw fail(column, "argument '\(name)' must be str, not \(value.typeName)") }
        return text
    }

    func integer(_ position: Int, _ name: String, default fallback: Int?) throws(VariableError) -> Int {
        guard let value = value(position, name) else {
            guard let fallback else { throw fail(column, "missing argument '\(name)'") }
            return fallback
        }
        guard case .int(let number) = value else { throw fail(column, "argument '\(name)' must be int, not \(value.typeName)") }
        return number
    }

    func number(_ position: Int, _ name: String, default fallback: Double) throws(VariableError) -> Double {
        switch value(position, name) {
        case nil: return fallback
        case .int(let number)?: return Double(number)
        case .float(let number)?: return number
        case let other?: throw fail(column, "argument '\(name)' must be a number, not \(other.typeName)")
        }
    }
}
