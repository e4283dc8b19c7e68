import Foundation

/// Every problem found in one document, each naming its field.
public struct ValidationErrors: Error, Equatable, Sendable, CustomStringConvertible {
    public let errors: [ValidationError]

    public init(_ errors: [ValidationError]) {
        self.errors = errors
    }

    public var description: String { errors.map(\.description).joined(separator: "; ") }
}

/// A task argument after validation: converted to its parameter's type, in schema order.
public struct ResolvedArgument: Sendable, Equatable {
    public let name: String
    public let type: ParameterType
    public let value: JSONValue

    public init(name: String, type: ParameterType, value: JSONValue) {
        self.name = name
        self.type = type
        self.value = value
    }
}

/// A template's parameters: checks the schema itself when a template is registered, and checks, converts and
/// completes a task's arguments when a pipeline is saved.
public struct ParameterSchema: Sendable, Equatable {
    public let groups: [ParameterGroup]

    public init(_ groups: [ParameterGroup]) {
        self.groups = groups
    }

    public var parameters: [Parameter] { groups.flatMap(\.params) }

    // MARK: The schema

    /// Problems with the schema: names, types, choices, ranges, patterns, defaults, sub-parameters, showIf.
    public func problems(field: String = "parameters") -> [ValidationError] {
        var problems: [ValidationError] = []
        var seen: Set<String> = []
        for (groupIndex, group) in groups.enumerated() {
            if group.group.trimmingCharacters(in: .whitespaces).isEmpty {
                problems.append(ValidationError(field: "\(field)[\(groupIndex)].group", "must not be empty"))
            }
            for (index, parameter) in group.params.enumerated() {
                let at = "\(field)[\(groupIndex)].params[\(index)]"
                if !seen.insert(parameter.name).inserted {
                    problems.append(ValidationError(field: "\(at).name", "\"\(parameter.name)\" is defined twice"))
                }
                problems += Self.problems(of: parameter, at: at, siblings: parameters)
            }
        }
        return problems
    }

    static func problems(of parameter: Parameter, at field: String, siblings: [Parameter]) -> [ValidationError] {
        var problems: [ValidationError] = []
        let name = parameter.name
        if name.isEmpty || name.hasPrefix("-") || !name.unicodeScalars.allSatisfy(Self.isNameScalar) {
            problems.append(
                ValidationError(field: "\(field).name", "\"\(name)\" must be letters, digits, '_' and '-', not starting with '-'"))
        }
        let type = parameter.type
        if [.enum, .multiple].contains(type), parameter.choices?.isEmpty ?? true {
            problems.append(ValidationError(field: "\(field).choices", "a \(type.rawValue) parameter needs at least one choice"))
        }
        if let range = parameter.range {
            if ![.int, .float].contains(type) {
                problems.append(ValidationError(field: "\(field).range", "only int and float parameters have a range"))
            } else if range.count != 2 || range[0] > range[1] {
                problems.append(ValidationError(field: "\(field).range", "must be [min, max] with min <= max"))
            }
        }
        if let pattern = parameter.regex {
            do throws(LinearRegex.Failure) {
                _ = try LinearRegex(pattern)
            } catch {
                problems.append(ValidationError(field: "\(field).regex", "\"\(pattern)\" is not a pattern Trellis matches: \(error)"))
            }
        }
        if let itemType = parameter.itemType, ![.str, .int, .float, .bool, .dict].contains(itemType) {
            problems.append(ValidationError(field: "\(field).itemType", "must be str, int, float, bool or dict"))
        }
        let needsParams = type == .dict || (type == .list && parameter.itemType == .dict)
        if needsParams {
            let nested = parameter.params ?? []
            if nested.isEmpty {
                problems.append(ValidationError(field: "\(field).params", "a \(type == .dict ? "dict" : "list of dicts") needs its params"))
            }
            problems += ParameterSchema([ParameterGroup(group: name, params: nested)]).problems(field: "\(field).params")
                .map {
                    ValidationError(
                        field: $0.field.replacingOccurrences(of: "\(field).params[0].params", with: "\(field).params"), $0.message)
                }
        } else if parameter.params != nil {
            problems.append(ValidationError(field: "\(field).params", "only dict parameters and lists of dicts have params"))
        }
        if let choices = parameter.choices, problems.isEmpty {
            let item = parameter.itemParameter
            for (index, choice) in choices.enumerated() {
                do { _ = try convert(choice, as: item, field: "\(field).choices[\(index)]", checkRegex: false) } catch {
                    problems.append(error)
                }
            }
        }
        if let condition = parameter.showIf {
            switch ShowIf.parse(condition) {
            case .none:
                problems.append(ValidationError(field: "\(field).showIf", "must be \"name\", \"name == value\" or \"name != value\""))
            case .some(let rule):
                let target = siblings.first { $0.name == rule.parameter }
                if target == nil || rule.parameter == name {
                    problems.append(ValidationError(field: "\(field).showIf", "names no other parameter \"\(rule.parameter)\""))
                } else if target?.showIf != nil {
                    problems.append(
                        ValidationError(field: "\(field).showIf", "\"\(rule.parameter)\" is itself conditional; chains are not allowed"))
                }
            }
        }
        if let value = parameter.default, problems.isEmpty {
            do { _ = try convert(value, as: parameter, field: "\(field).default") } catch { problems.append(error) }
        }
        return problems
    }

    static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "-"
    }

    // MARK: Arguments

    /// Checks and converts `args` against the schema: unknown names, required values, types, choices, ranges,
    /// patterns and sub-parameters; fills defaults; drops parameters hidden by `showIf`. `field` prefixes every
    /// error (`tasks[train].args`).
    public func resolve(_ args: [String: JSONValue], field: String) throws(ValidationErrors) -> [ResolvedArgument] {
        switch Self.resolve(args, parameters: parameters, field: field) {
        case .success(let values):
            return parameters.compactMap { p in values[p.name].map { ResolvedArgument(name: p.name, type: p.type, value: $0) } }
        case .failure(let errors): throw errors
        }
    }

    static func resolve(_ args: [String: JSONValue], parameters: [Parameter], field: String) -> Result<
        [String: JSONValue], ValidationErrors
    > {
        var errors: [ValidationError] = []
        let known = Set(parameters.map(\.name))
        for name in args.keys.sorted() where !known.contains(name) {
            let accepted = parameters.isEmpty ? "it takes none" : "known: " + parameters.map(\.name).joined(separator: ", ")
            errors.append(ValidationError(field: "\(field).\(name)", "unknown parameter (\(accepted))"))
        }
        var values: [String: JSONValue] = [:]
        // Unconditional parameters first: showIf conditions read their values.
        for parameter in parameters.filter({ $0.showIf == nil }) + parameters.filter({ $0.showIf != nil }) {
            let at = "\(field).\(parameter.name)"
            if let condition = parameter.showIf.flatMap(ShowIf.parse), !condition.holds(in: values) {
                continue
            }
            guard let given = args[parameter.name] ?? parameter.default, given != .null else {
                if parameter.type == .dict, case .success(let filled) = resolve([:], parameters: parameter.params ?? [], field: at),
                    !filled.isEmpty
                {
                    // An absent dict still gets its fields' defaults.
                    values[parameter.name] = .object(filled)
                } else if parameter.isRequired {
                    errors.append(ValidationError(field: at, "is required"))
                }
                continue
            }
            if parameter.type == .dict, case .object(let object) = given {
                // Every problem inside a dict, not just the first.
                switch resolve(object, parameters: parameter.params ?? [], field: at) {
                case .success(let nested): values[parameter.name] = .object(nested)
                case .failure(let nested): errors += nested.errors
                }
                continue
            }
            do {
                values[parameter.name] = try convert(given, as: parameter, field: at)
            } catch {
                errors.append(error)
            }
        }
        return errors.isEmpty ? .success(values) : .failure(ValidationErrors(errors))
    }

    /// Converts one value to `parameter`'s type, or says what is wrong with it.
    static func convert(_ value: JSONValue, as parameter: Parameter, field: String, checkRegex: Bool = true) throws(ValidationError)
        -> JSONValue
    {
        let converted: JSONValue
        switch parameter.type {
        case .str, .file:
            let text = try scalarText(value, field: field).trimmingCharacters(in: .whitespacesAndNewlines)
            if parameter.type == .file, text.isEmpty { throw ValidationError(field: field, "must be a file path") }
            converted = .string(text)
        case .text:
            converted = .string(try scalarText(value, field: field))
        case .int:
            converted = .int(try integer(value, field: field))
        case .float:
            converted = .double(try number(value, field: field))
        case .bool:
            converted = .bool(try boolean(value, field: field))
        case .enum:
            converted = try choice(value, of: parameter, field: field)
        case .multiple:
            var picked: [JSONValue] = []
            for (index, item) in try items(value, field: field).enumerated() {
                let choice = try choice(item, of: parameter, field: "\(field)[\(index)]")
                if !picked.contains(choice) { picked.append(choice) }
            }
            converted = .array(picked)
        case .list:
            let item = parameter.itemParameter
            var list: [JSONValue] = []
            for (index, element) in try items(value, field: field, splitsText: item.type != .dict).enumerated() {
                list.append(try convert(element, as: item, field: "\(field)[\(index)]"))
            }
            converted = .array(list)
        case .json:
            if case .string(let text) = value {
                guard let parsed = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else {
                    throw ValidationError(field: field, "must be JSON, got \(JSONValue.quoted(String(text.prefix(40))))")
                }
                converted = parsed
            } else {
                converted = value
            }
        case .dict:
            guard case .object(let object) = value else { throw ValidationError(field: field, "must be an object, got \(value.kind)") }
            switch resolve(object, parameters: parameter.params ?? [], field: field) {
            case .success(let values): converted = .object(values)
            case .failure(let errors): throw errors.errors[0]
            }
        }
        try check(converted, against: parameter, field: field, checkRegex: checkRegex)
        return converted
    }

    static func check(_ value: JSONValue, against parameter: Parameter, field: String, checkRegex: Bool) throws(ValidationError) {
        if let range = parameter.range, range.count == 2 {
            let number: Double? =
                switch value {
                case .int(let int): Double(int)
                case .double(let double): double
                default: nil
                }
            if let number, number < range[0] || number > range[1] {
                let bounds = parameter.type == .int ? range.map { String(Int($0)) } : range.map(JSONValue.number)
                throw ValidationError(field: field, "must be between \(bounds[0]) and \(bounds[1]), got \(value)")
            }
        }
        // Linear in the text: a pattern can never stall the request (or others) however the value is made.
        if checkRegex, let pattern = parameter.regex, let regex = try? LinearRegex(pattern) {
            let text = value.description
            guard text.count <= LinearRegex.textLimit else {
                throw ValidationError(
                    field: field, "is longer than \(LinearRegex.textLimit) characters, the most checked against \(pattern)")
            }
            if !regex.wholeMatch(text) {
                throw ValidationError(field: field, "\(JSONValue.quoted(text)) does not match \(pattern)")
            }
        }
    }

    static func choice(_ value: JSONValue, of parameter: Parameter, field: String) throws(ValidationError) -> JSONValue {
        let item = parameter.itemParameter
        let converted = try convert(value, as: item, field: field)
        let choices = (parameter.choices ?? []).compactMap { try? convert($0, as: item, field: field, checkRegex: false) }
        guard choices.contains(converted) else {
            throw ValidationError(field: field, "must be one of \(choices.map(\.description).joined(separator: ", ")), got \(value)")
        }
        return converted
    }

    static func scalarText(_ value: JSONValue, field: String) throws(ValidationError) -> String {
        switch value {
        case .string(let text): return text
        case .int, .double, .bool: return value.description
        default: throw ValidationError(field: field, "must be a string, got \(value.kind)")
        }
    }

    static func integer(_ value: JSONValue, field: String) throws(ValidationError) -> Int {
        switch value {
        case .int(let int): return int
        case .double(let double) where double == double.rounded() && abs(double) < 9e15: return Int(double)
        case .string(let text):
            if let int = Int(text.trimmingCharacters(in: .whitespaces)) { return int }
        default: break
        }
        throw ValidationError(
            field: field, "must be a whole number, got \(value.kind == "a string" ? JSONValue.quoted(value.description) : value.kind)")
    }

    static func number(_ value: JSONValue, field: String) throws(ValidationError) -> Double {
        switch value {
        case .int(let int): return Double(int)
        case .double(let double): return double
        case .string(let text):
            if let double = Double(text.trimmingCharacters(in: .whitespaces)), double.isFinite { return double }
        default: break
        }
        throw ValidationError(
            field: field, "must be a number, got \(value.kind == "a string" ? JSONValue.quoted(value.description) : value.kind)")
    }

    static func boolean(_ value: JSONValue, field: String) throws(ValidationError) -> Bool {
        switch value {
        case .bool(let bool): return bool
        case .int(0): return false
        case .int(1): return true
        case .string(let text):
            switch text.lowercased() {
            case "true", "yes", "1", "on": return true
            case "false", "no", "0", "off": return false
            default: break
            }
        default: break
        }
        throw ValidationError(
            field: field, "must be true or false, got \(value.kind == "a string" ? JSONValue.quoted(value.description) : value.kind)")
    }

    /// A list value: a JSON list, or text split on commas, semicolons and line breaks (as cube-studio accepts).
    static func items(_ value: JSONValue, field: String, splitsText: Bool = true) throws(ValidationError) -> [JSONValue] {
        switch value {
        case .array(let items): return items
        case .string(let text) where splitsText:
            return text.split(whereSeparator: { ",;\n".contains($0) })
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map(JSONValue.string)
        default: throw ValidationError(field: field, "must be a list, got \(value.kind)")
        }
    }
}

extension Parameter {
    /// How one element of a list, enum or multiple is checked.
    var itemParameter: Parameter {
        Parameter(name: name, type: itemType ?? .str, params: params)
    }
}

/// `showIf`: `name`, `name == value` or `name != value`.
struct ShowIf: Equatable {
    let parameter: String
    let equals: String?
    let negated: Bool

    static func parse(_ text: String) -> ShowIf? {
        for (op, negated) in [("!=", true), ("==", false)] {
            let parts = text.components(separatedBy: op)
            if parts.count == 2 {
                let name = parts[0].trimmingCharacters(in: .whitespaces)
                let value = parts[1].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
                return name.isEmpty ? nil : ShowIf(parameter: name, equals: value, negated: negated)
            }
        }
        let name = text.trimmingCharacters(in: .whitespaces)
        return name.isEmpty || name.contains(" ") ? nil : ShowIf(parameter: name, equals: nil, negated: false)
    }

    func holds(in values: [String: JSONValue]) -> Bool {
        let value = values[parameter]
        guard let equals else {
            switch value {
            case .none, .null?, .bool(false)?, .string("")?: return false
            default: return true
            }
        }
        return (value?.description == equals) != negated
    }
}
