/// How a task's arguments, environment and mounts reach its process (documented in docs/templates.md).
public enum TaskInvocation {
    /// One flag per argument, in schema order: `--name value`; a true bool is a bare `--name` and a false one is
    /// left out; lists and multiple choices are comma-joined; json, dict and lists of dicts are compact JSON text.
    public static func flags(_ arguments: [ResolvedArgument]) -> [String] {
        arguments.flatMap { argument -> [String] in
            let flag = "--" + argument.name
            switch argument.value {
            case .null, .bool(false): return []
            case .bool(true): return [flag]
            case .array(let items) where argument.type == .list || argument.type == .multiple:
                if items.contains(where: { if case .object = $0 { true } else { false } }) {
                    return [flag, argument.value.jsonText]
                }
                return [flag, items.map(\.description).joined(separator: ",")]
            case .object, .array: return [flag, argument.value.jsonText]
            default:
                return argument.type == .json ? [flag, argument.value.jsonText] : [flag, argument.value.description]
            }
        }
    }

    /// The environment of a task: the template's, overridden by the pipeline's, overridden by the task's.
    public static func environment(template: [String: String], pipeline: [String: String], task: [String: String]) -> [String: String] {
        template.merging(pipeline) { $1 }.merging(task) { $1 }
    }
}
