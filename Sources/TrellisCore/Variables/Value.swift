/// A value of the template-variable language, with Python's meaning.
public indirect enum Value: Sendable, Equatable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case list([Value])
    case dateTime(PyDateTime)
    /// A `datetime.date`: a PyDateTime at midnight.
    case date(PyDateTime)
    case timeDelta(PyTimeDelta)
    /// A UUID as 32 lowercase hex digits.
    case uuid(String)
    /// A module or class: `uuid`, `datetime`, `datetime.datetime`, `datetime.timedelta`, `macros`.
    case namespace(String)
    /// A function or a method bound to its receiver, called later.
    case function(String, receiver: Value?)
    /// A name the context does not know: usable only through the `default` filter.
    case undefined(String)

    /// Python's type name, for error messages.
    public var typeName: String {
        switch self {
        case .none: "NoneType"
        case .bool: "bool"
        case .int: "int"
        case .float: "float"
        case .string: "str"
        case .list: "list"
        case .dateTime: "datetime.datetime"
        case .date: "datetime.date"
        case .timeDelta: "datetime.timedelta"
        case .uuid: "uuid.UUID"
        case .namespace(let name): name.contains(".") ? "type" : "module"
        case .function: "function"
        case .undefined: "Undefined"
        }
    }

    /// Python's truth value.
    public var isTruthy: Bool {
        switch self {
        case .none, .undefined: false
        case .bool(let value): value
        case .int(let value): value != 0
        case .float(let value): value != 0
        case .string(let value): !value.isEmpty
        case .list(let items): !items.isEmpty
        case .timeDelta(let delta): delta.microseconds != 0
        default: true
        }
    }

    /// Python's `str()`, which is what `{{ … }}` writes.
    public var text: String {
        switch self {
        case .none: "None"
        case .bool(let value): value ? "True" : "False"
        case .int(let value): String(value)
        case .float(let value): Self.floatText(value)
        case .string(let value): value
        case .list(let items): "[" + items.map(\.representation).joined(separator: ", ") + "]"
        case .dateTime(let value): value.text()
        case .date(let value): value.dateText
        case .timeDelta(let value): value.text
        case .uuid(let hex): Self.dashed(hex)
        case .namespace(let name): name.contains(".") ? "<class '\(name)'>" : "<module '\(name)'>"
        case .function(let name, _): "<function \(name)>"
        case .undefined: ""
        }
    }

    /// Python's `repr()` (how list items print).
    public var representation: String {
        switch self {
        case .string(let value):
            let quote = value.contains("'") && !value.contains("\"") ? "\"" : "'"
            var escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
                .replacingOccurrences(of: "\t", with: "\\t")
            if quote == "'" { escaped = escaped.replacingOccurrences(of: "'", with: "\\'") }
            return quote + escaped + quote
        case .dateTime(let value):
            var fields = [value.year, value.month, value.day, value.hour, value.minute].map(String.init)
            if value.second != 0 || value.microsecond != 0 { fields.append(String(value.second)) }
            if value.microsecond != 0 { fields.append(String(value.microsecond)) }
            return "datetime.datetime(\(fields.joined(separator: ", ")))"
        case .date(let value): return "datetime.date(\(value.year), \(value.month), \(value.day))"
        case .uuid(let hex): return "UUID('\(Self.dashed(hex))')"
        default: return text
        }
    }

    static func dashed(_ hex: String) -> String {
        let characters = Array(hex)
        guard characters.count == 32 else { return hex }
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }

    /// Python prints floats as the shortest text that reads back the same, with `.0` for whole numbers.
    static func floatText(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        var text = "\(value)"
        if let exponent = text.firstIndex(of: "e") {
            // Swift: 1e-05 / 1e+16; Python: the same, but a mantissa without a point.
            let mantissa = text[..<exponent]
            var power = String(text[text.index(after: exponent)...])
            if !power.hasPrefix("-") && !power.hasPrefix("+") { power = "+" + power }
            let sign = power.first!
            var digits = String(power.dropFirst())
            while digits.count < 2 { digits = "0" + digits }
            text = (mantissa.hasSuffix(".0") ? String(mantissa.dropLast(2)) : String(mantissa)) + "e" + String(sign) + digits
        }
        return text
    }
}
