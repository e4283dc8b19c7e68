/// A pipeline's run-time parameter (`spec.parameters`), read in templates as `{{ params.NAME }}`; a run may give it
/// another value (Airflow's "trigger with config", Argo's `arguments.parameters`), scheduled runs take the default.
extension PipelineSpec {
    public struct Parameter: Codable, Sendable, Equatable {
        public var name: String
        /// A scalar written in the document (a number or a boolean is kept as its text).
        public var `default`: String?
        public var description: String?

        public init(name: String, default value: String? = nil, description: String? = nil) {
            self.name = name
            self.default = value
            self.description = description
        }

        enum CodingKeys: String, CodingKey { case name, `default`, description }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            description = try container.decodeIfPresent(String.self, forKey: .description)
            switch try container.decodeIfPresent(JSONValue.self, forKey: .default) {
            case nil, .null?: self.default = nil
            case let value?:
                guard let text = RunParameters.text(of: value) else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .default, in: container, debugDescription: "a parameter's default is a string, a number or a boolean")
                }
                self.default = text
            }
        }
    }
}

public enum RunParameters {
    static let maximumCount = 100
    static let maximumValueBytes = 64 * 1024

    /// A scalar as a parameter's text: strings as they are, numbers and booleans as written; nil for anything else.
    public static func text(of value: JSONValue) -> String? {
        switch value {
        case .string(let text): text
        case .int(let number): String(number)
        case .double(let number): String(number)
        case .bool(let flag): flag ? "true" : "false"
        case .null, .array, .object: nil
        }
    }

    /// Problems of a pipeline's declarations, each naming its field.
    static func problems(of declared: [PipelineSpec.Parameter]) -> [ValidationError] {
        var problems: [ValidationError] = []
        if declared.count > maximumCount {
            problems.append(ValidationError(field: "spec.parameters", "at most \(maximumCount) parameters"))
        }
        var seen: Set<String> = []
        for (index, parameter) in declared.enumerated() {
            let field = "spec.parameters[\(index)]"
            if !isName(parameter.name) {
                problems.append(
                    ValidationError(
                        field: "\(field).name", "\"\(parameter.name.prefix(64))\" is not a name (letters, digits and _, at most 64)"))
            } else if !seen.insert(parameter.name).inserted {
                problems.append(ValidationError(field: "\(field).name", "duplicate parameter \"\(parameter.name)\""))
            }
            if let value = parameter.default, value.utf8.count > maximumValueBytes {
                problems.append(ValidationError(field: "\(field).default", "at most 64 KiB"))
            }
            if let description = parameter.description, description.count > 2000 {
                problems.append(ValidationError(field: "\(field).description", "at most 2,000 characters"))
            }
        }
        return problems
    }

    /// `[A-Za-z_][A-Za-z0-9_]*`, at most 64 characters: what `params.NAME` can reach.
    static func isName(_ name: String) -> Bool {
        guard let first = name.first, name.count <= 64, first.isASCII, first.isLetter || first == "_" else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

    /// The values of a run: each declared parameter's given value, else its default. A name the pipeline does not
    /// declare, a value that is not a scalar or is too long, and a parameter with neither are refused, each naming
    /// `parameters.NAME`.
    public static func resolve(_ given: [String: JSONValue]?, declared: [PipelineSpec.Parameter]) throws(ValidationErrors) -> [String:
        String]
    {
        var problems: [ValidationError] = []
        let names = Set(declared.map(\.name))
        for name in (given ?? [:]).keys.sorted() where !names.contains(name) {
            let known = declared.isEmpty ? "declares none" : "declares \(declared.map(\.name).joined(separator: ", "))"
            problems.append(
                ValidationError(field: "parameters.\(name.prefix(64))", "not a parameter of the pipeline (spec.parameters \(known))"))
        }
        var values: [String: String] = [:]
        for parameter in declared {
            let field = "parameters.\(parameter.name)"
            if let value = given?[parameter.name] {
                guard let text = text(of: value) else {
                    problems.append(ValidationError(field: field, "must be a string, a number or a boolean"))
                    continue
                }
                guard text.utf8.count <= maximumValueBytes else {
                    problems.append(ValidationError(field: field, "at most 64 KiB"))
                    continue
                }
                values[parameter.name] = text
            } else if let value = parameter.default {
                values[parameter.name] = value
            } else {
                problems.append(ValidationError(field: field, "has no default: the run must give it a value"))
            }
        }
        guard problems.isEmpty else { throw ValidationErrors(problems) }
        return values
    }
}
