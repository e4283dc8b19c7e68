/// Binary operators with Python's meaning (the cases the template language needs), bounded in size.
enum Operators {
    typealias Fail = (Int, String) -> VariableError

    static func apply(_ symbol: String, _ left: Value, _ right: Value, column: Int, fail: Fail) throws(VariableError) -> Value {
        let unsupported = fail(column, "unsupported operand type(s) for \(symbol): '\(left.typeName)' and '\(right.typeName)'")
        switch symbol {
        case "~":
            return try bounded(left.text + right.text, column: column, fail: fail)
        case "==": return .bool(equal(left, right))
        case "!=": return .bool(!equal(left, right))
        case "<", "<=", ">", ">=":
            guard let order = compare(left, right) else {
                throw fail(column, "'\(symbol)' not supported between instances of '\(left.typeName)' and '\(right.typeName)'")
            }
            switch symbol {
            case "<": return .bool(order < 0)
            case "<=": return .bool(order <= 0)
            case ">": return .bool(order > 0)
            default: return .bool(order >= 0)
            }
        case "in", "not in":
            let found: Bool
            switch right {
            case .string(let text):
                guard case .string(let part) = left else {
                    throw fail(column, "'in <string>' requires string as left operand, not \(left.typeName)")
                }
                found = text.contains(part) || part.isEmpty
            case .list(let items): found = items.contains { equal($0, left) }
            default: throw fail(column, "argument of type '\(right.typeName)' is not iterable")
            }
            return .bool(symbol == "in" ? found : !found)
        default:
            break
        }
        switch (left, right) {
        case (.int(let a), .int(let b)):
            guard let result = try integers(symbol, a, b, column: column, fail: fail) else { throw unsupported }
            return result
        case (.int, .float), (.float, .int), (.float, .float):
            guard let result = try floats(symbol, number(left), number(right), column: column, fail: fail) else { throw unsupported }
            return result
        case (.bool, _), (_, .bool):
            // Python's bools are ints.
            return try apply(symbol, integerValue(left), integerValue(right), column: column, fail: fail)
        case (.string(let a), .string(let b)) where symbol == "+": return try bounded(a + b, column: column, fail: fail)
        case (.list(let a), .list(let b)) where symbol == "+":
            guard a.count + b.count <= 100_000 else { throw fail(column, "the list would be too long") }
            return .list(a + b)
        case (.string(let text), .int(let times)) where symbol == "*", (.int(let times), .string(let text)) where symbol == "*":
            // Sizes are checked before anything is built, and the check itself cannot overflow.
            let (size, overflow) = text.utf8.count.multipliedReportingOverflow(by: max(times, 0))
            guard !overflow, size <= Evaluator.maximumLength else {
                throw fail(column, "the result would be longer than \(Evaluator.maximumLength) bytes")
            }
            return .string(String(repeating: text, count: max(times, 0)))
        case (.list(let items), .int(let times)) where symbol == "*":
            let (size, overflow) = items.count.multipliedReportingOverflow(by: max(times, 0))
            guard !overflow, size <= 100_000 else { throw fail(column, "the list would be too long") }
            return .list(Array(repeating: items, count: max(times, 0)).flatMap { $0 })
        case (.dateTime(let moment), .timeDelta(let delta)) where symbol == "+" || symbol == "-":
            return .dateTime(try moved(moment, by: delta, negated: symbol == "-", column: column, fail: fail))
        case (.timeDelta(let delta), .dateTime(let moment)) where symbol == "+":
            return .dateTime(try moved(moment, by: delta, negated: false, column: column, fail: fail))
        case (.date(let day), .timeDelta(let delta)) where symbol == "+" || symbol == "-":
            let whole = PyTimeDelta(microseconds: delta.days * PyDateTime.perDay)  // never larger than `delta`
            return .date(try moved(day, by: whole, negated: symbol == "-", column: column, fail: fail))
        case (.dateTime(let a), .dateTime(let b)) where symbol == "-", (.date(let a), .date(let b)) where symbol == "-":
            // Both within years 1–9999: the difference fits.
            return .timeDelta(PyTimeDelta(microseconds: a.microseconds - b.microseconds))
        case (.timeDelta(let a), .timeDelta(let b)) where symbol == "+" || symbol == "-":
            let (result, overflow) =
                symbol == "+"
                ? a.microseconds.addingReportingOverflow(b.microseconds) : a.microseconds.subtractingReportingOverflow(b.microseconds)
            return .timeDelta(try delta(overflow ? nil : result, column: column, fail: fail))
        case (.timeDelta(let delta), .int(let times)) where symbol == "*", (.int(let times), .timeDelta(let delta)) where symbol == "*":
            let (product, overflow) = delta.microseconds.multipliedReportingOverflow(by: Int64(times))
            return .timeDelta(try Self.delta(overflow ? nil : product, column: column, fail: fail))
        default:
            throw unsupported
        }
    }

    /// A timedelta of `microseconds` (nil: the arithmetic overflowed), within ``PyTimeDelta/limit``.
    static func delta(_ microseconds: Int64?, column: Int, fail: Fail) throws(VariableError) -> PyTimeDelta {
        // `magnitude`, not `abs`: abs(Int64.min) traps, and a product can land exactly there without overflowing.
        guard let microseconds, microseconds.magnitude <= PyTimeDelta.limit.magnitude else { throw fail(column, "timedelta is too large") }
        return PyTimeDelta(microseconds: microseconds)
    }

    /// `moment` moved by `delta` (backwards when `negated`), within years 1–9999.
    static func moved(_ moment: PyDateTime, by delta: PyTimeDelta, negated: Bool, column: Int, fail: Fail) throws(VariableError)
        -> PyDateTime
    {
        let (result, overflow) =
            negated
            ? moment.microseconds.subtractingReportingOverflow(delta.microseconds)
            : moment.microseconds.addingReportingOverflow(delta.microseconds)
        let moved = PyDateTime(microseconds: result)
        guard !overflow, moved.isValid else { throw fail(column, "date value out of range") }
        return moved
    }

    static func integers(_ symbol: String, _ a: Int, _ b: Int, column: Int, fail: Fail) throws(VariableError) -> Value? {
        let overflow = fail(column, "the number is too large")
        switch symbol {
        case "+":
            let (sum, over) = a.addingReportingOverflow(b)
            guard !over else { throw overflow }
            return .int(sum)
        case "-":
            let (difference, over) = a.subtractingReportingOverflow(b)
            guard !over else { throw overflow }
            return .int(difference)
        case "*":
            let (product, over) = a.multipliedReportingOverflow(by: b)
            guard !over else { throw overflow }
            return .int(product)
        case "/":
            guard b != 0 else { throw fail(column, "division by zero") }
            return .float(Double(a) / Double(b))
        case "//":
            guard b != 0 else { throw fail(column, "integer division or modulo by zero") }
            guard !(a == .min && b == -1) else { throw overflow }
            let quotient = a / b
            return .int((a % b != 0 && (a < 0) != (b < 0)) ? quotient - 1 : quotient)
        case "%":
            guard b != 0 else { throw fail(column, "integer division or modulo by zero") }
            guard !(a == .min && b == -1) else { return .int(0) }
            let remainder = a % b
            return .int(remainder != 0 && (remainder < 0) != (b < 0) ? remainder + b : remainder)
        default: return nil
        }
    }

    static func floats(_ symbol: String, _ a: Double, _ b: Double, column: Int, fail: Fail) throws(VariableError) -> Value? {
        switch symbol {
        case "+": return .float(a + b)
        case "-": return .float(a - b)
        case "*": return .float(a * b)
        case "/":
            guard b != 0 else { throw fail(column, "float division by zero") }
            return .float(a / b)
        case "//":
            guard b != 0 else { throw fail(column, "float floor division by zero") }
            return .float((a / b).rounded(.down))
        case "%":
            guard b != 0 else { throw fail(column, "float modulo") }
            let remainder = a.truncatingRemainder(dividingBy: b)
            return .float(remainder != 0 && (remainder < 0) != (b < 0) ? remainder + b : remainder)
        default: return nil
        }
    }

    static func number(_ value: Value) -> Double {
        switch value {
        case .int(let number): Double(number)
        case .float(let number): number
        case .bool(let flag): flag ? 1 : 0
        default: .nan
        }
    }

    static func integerValue(_ value: Value) -> Value {
        if case .bool(let flag) = value { return .int(flag ? 1 : 0) }
        return value
    }

    static func equal(_ left: Value, _ right: Value) -> Bool {
        switch (integerValue(left), integerValue(right)) {
        case (.int(let a), .float(let b)), (.float(let b), .int(let a)): Double(a) == b
        case (let a, let b): a == b
        }
    }

    /// -1, 0 or 1; nil when the two cannot be ordered.
    static func compare(_ left: Value, _ right: Value) -> Int? {
        func sign<T: Comparable>(_ a: T, _ b: T) -> Int { a < b ? -1 : (a == b ? 0 : 1) }
        switch (integerValue(left), integerValue(right)) {
        case (.int(let a), .int(let b)): return sign(a, b)
        case (.int, .float), (.float, .int), (.float, .float): return sign(number(left), number(right))
        case (.string(let a), .string(let b)):
            // By code point, as Python compares strings.
            let (x, y) = (a.unicodeScalars.map(\.value), b.unicodeScalars.map(\.value))
            return x == y ? 0 : (x.lexicographicallyPrecedes(y) ? -1 : 1)
        case (.dateTime(let a), .dateTime(let b)), (.date(let a), .date(let b)): return sign(a, b)
        case (.timeDelta(let a), .timeDelta(let b)): return sign(a, b)
        default: return nil
        }
    }

    static func bounded(_ text: String, column: Int, fail: Fail) throws(VariableError) -> Value {
        guard text.utf8.count <= Evaluator.maximumLength else {
            throw fail(column, "the result would be longer than \(Evaluator.maximumLength) bytes")
        }
        return .string(text)
    }
}

/// `int()`, `len()` and their filters.
enum Conversions {
    static func int(_ value: Value, column: Int, fail: Operators.Fail) throws(VariableError) -> Value {
        switch value {
        case .int: return value
        case .bool(let flag): return .int(flag ? 1 : 0)
        case .float(let number):
            guard number.isFinite, abs(number) < 9.2e18 else {
                throw fail(column, "cannot convert float \(Value.floatText(number)) to integer")
            }
            return .int(Int(number.rounded(.towardZero)))
        case .string(let text):
            let trimmed = text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")
            if let number = Int(trimmed) { return .int(number) }
            throw fail(column, "invalid literal for int() with base 10: \(value.representation)")
        default:
            throw fail(column, "int() argument must be a string or a number, not '\(value.typeName)'")
        }
    }

    static func length(_ value: Value, column: Int, fail: Operators.Fail) throws(VariableError) -> Value {
        switch value {
        case .string(let text): return .int(text.count)
        case .list(let items): return .int(items.count)
        default: throw fail(column, "object of type '\(value.typeName)' has no len()")
        }
    }
}
