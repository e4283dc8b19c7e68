import Foundation
import TrellisCore
import TrellisHTTP
import Yams

/// Converts cube-studio job templates (the entries of its `init-job-template.json`, or one such entry) into
/// Trellis templates, reporting everything that could not be carried over as it was.
public enum CubeImport {
    public struct Converted: Sendable {
        public let spec: TemplateSpec
        /// What changed or was dropped, one line each.
        public let notes: [String]
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// The well-known built-in names of cube-studio that are not valid Trellis names.
    static let knownNames = ["自定义镜像": "custom-image", "分布式训练": "distributed-training"]

    /// Converts every template in `text` (JSON, read with key order kept: it is the parameters' order).
    public static func convert(_ text: String) throws -> [Converted] {
        guard let root = try BoundedYAML.compose(text), let mapping = root.mapping else {
            throw Failure(description: "the file is not a JSON object")
        }
        if mapping["job_template_name"] != nil { return [try convert(entry: mapping, key: nil)] }
        return try mapping.map { key, value in
            guard let entry = value.mapping else { throw Failure(description: "\(key.string ?? "?"): not a job template object") }
            return try convert(entry: entry, key: key.string)
        }
    }

    static func convert(entry: Node.Mapping, key: String?) throws -> Converted {
        var notes: [String] = []
        let cubeName = entry["job_template_name"]?.string ?? key ?? ""
        let name = trellisName(cubeName, notes: &notes)
        guard let image = entry["image_name"]?.string, !image.isEmpty else {
            throw Failure(description: "\(cubeName): image_name is missing")
        }
        var spec = TemplateSpec(name: name, version: "1.0.0", image: image)
        notes.append(
            "version 1.0.0 (cube-studio's \(entry["job_template_version"]?.string ?? "Release") is not a semantic version); it is registered as a draft: publish it to share it"
        )
        spec.category = nonEmpty(entry["project_name"]?.string)
        spec.description = nonEmpty(entry["job_template_describe"]?.string)
        spec.serviceAccount = nonEmpty(entry["job_template_account"]?.string)
        let expand = entry["job_template_expand"]?.mapping
        spec.readme = readme(name: name, entry: entry, expand: expand)
        if let next = expand?["rec_job_template"]?.string, !next.isEmpty {
            spec.recommendedNext = trellisName(next, notes: &notes)
        }
        if expand?["HostNetwork"] != nil { notes.append("expand.HostNetwork is not supported and was dropped") }
        var (env, resources) = environment(entry["job_template_env"]?.string ?? "", notes: &notes)
        spec.resources = resources
        spec.mounts = mounts(entry["job_template_volume"]?.string ?? "", notes: &notes)

        var groups: [ParameterGroup] = []
        var reserved: [String: Parameter] = [:]
        for (groupKey, groupNode) in entry["job_template_args"]?.mapping ?? [:] {
            var params: [Parameter] = []
            for (argKey, argNode) in groupNode.mapping ?? [:] {
                guard let argName = argKey.string, let spec = argNode.mapping else { continue }
                let parameter = try Self.parameter(argName, spec, at: "\(groupKey.string ?? "")/\(argName)", notes: &notes)
                if ["images", "workdir", "command"].contains(argName) {
                    reserved[argName] = parameter
                }
                params.append(parameter)
            }
            groups.append(ParameterGroup(group: groupKey.string ?? "parameters", params: params))
        }
        if let command = nonEmpty(entry["job_template_command"]?.string) {
            spec.command = command.split(separator: " ").map(String.init)
        }
        if reserved["command"] != nil {
            // cube-studio's custom-image form: the task's `command` runs in `workdir`, in the `images` image.
            groups = groups.map { group in
                ParameterGroup(group: group.group, params: group.params.filter { $0.name != "images" })
            }
            if let imageDefault = reserved["images"]?.default?.description, !imageDefault.isEmpty {
                spec.image = imageDefault
                notes.append("images: the image is fixed to its default \(imageDefault); choosing an image per task is not supported")
            }
            spec.command = ["sh", "-c", BuiltinTemplates.shellRunner, name]
            notes.append("command and workdir run like the built-in shell template (sh -c in workdir)")
        }
        spec.parameters = groups.filter { !$0.params.isEmpty }
        env = env.filter { !$0.key.isEmpty }
        spec.env = env.isEmpty ? nil : env
        let problems = spec.problems()
        guard problems.isEmpty else {
            throw Failure(
                description: "\(cubeName): the converted template is not valid: \(problems.map(\.description).joined(separator: "; "))")
        }
        return Converted(spec: spec, notes: notes)
    }

    static func parameter(_ cubeName: String, _ node: Node.Mapping, at path: String, notes: inout [String]) throws -> Parameter {
        let name = String(cubeName.drop { $0 == "-" })
        let cubeType = node["type"]?.string ?? "str"
        var type = ParameterType(rawValue: cubeType) ?? .str
        if ParameterType(rawValue: cubeType) == nil {
            notes.append("\(path): type \(cubeType) became str")
        }
        var parameter = Parameter(name: name, type: type)
        parameter.label = nonEmpty(node["label"]?.string)
        parameter.required = flag(node["require"])
        parameter.editable = node["editable"].map { flag($0) }
        parameter.placeholder = nonEmpty(node["placeholder"]?.string)
        parameter.help = nonEmpty(node["describe"]?.string)
        parameter.regex = nonEmpty(node["regex"]?.string)
        if let itemType = node["item_type"]?.string {
            if let item = ParameterType(rawValue: itemType), [.str, .int, .float, .bool, .dict].contains(item),
                [.list, .enum, .multiple].contains(type)
            {
                parameter.itemType = item == .str ? nil : item
            } else if itemType == "select-input" {
                notes.append("\(path): item_type select-input (choose or type) became a plain \(type.rawValue)")
            }
        }
        if let choices = node["choice"] {
            if let list = choices.sequence, !list.isEmpty {
                parameter.choices = list.map(value)
            } else if let map = choices.mapping, !map.isEmpty {
                parameter.choices = map.keys.map(value)
                notes.append("\(path): choice display names were dropped (values kept)")
            }
        }
        if type == .str, parameter.choices != nil {
            type = .enum
            parameter.type = .enum
            notes.append("\(path): a str with choices became an enum")
        }
        if let range = nonEmpty(node["range"]?.string) {
            let bounds = range.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            if bounds.count == 2, [.int, .float].contains(type) {
                parameter.range = bounds
            } else {
                notes.append("\(path): range \"\(range)\" was dropped")
            }
        }
        if let defaultNode = node["default"] {
            let defaultValue = value(defaultNode)
            if defaultValue != .string("") && defaultValue != .null { parameter.default = defaultValue }
        }
        if let condition = nonEmpty(node["condition"]?.string) {
            notes.append("\(path): condition \"\(condition)\" was dropped (set showIf by hand)")
        }
        if let sub = node["sub_args"]?.mapping, !sub.isEmpty {
            var params: [Parameter] = []
            for (key, child) in sub {
                guard let childName = key.string, let childSpec = child.mapping else { continue }
                params.append(try Self.parameter(childName, childSpec, at: "\(path)/\(childName)", notes: &notes))
            }
            parameter.params = params
            if type == .list { parameter.itemType = .dict }
        }
        return parameter
    }

    /// A Trellis name for a cube-studio one: lowercase, other characters as '-'; well-known Chinese names mapped.
    static func trellisName(_ cubeName: String, notes: inout [String]) -> String {
        if let known = knownNames[cubeName] {
            notes.append("name \(cubeName) became \(known)")
            return known
        }
        var name = String(cubeName.lowercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber)) ? $0 : "-" })
        while name.contains("--") { name = name.replacingOccurrences(of: "--", with: "-") }
        name = name.trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        if name.isEmpty || !(name.first?.isLetter ?? false) { name = "cube-" + (name.isEmpty ? "template" : name) }
        if name != cubeName { notes.append("name \(cubeName) became \(name)") }
        return name
    }

    /// `K=V` lines; cube-studio's resource keys become default resources.
    static func environment(_ text: String, notes: inout [String]) -> ([String: String], TemplateSpec.Resources?) {
        var env: [String: String] = [:]
        var resources = TemplateSpec.Resources()
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "TASK_RESOURCE_CPU": resources.cpu = parts[1]
            case "TASK_RESOURCE_MEMORY": resources.memory = parts[1].hasSuffix("G") ? parts[1] + "i" : parts[1]
            case "TASK_RESOURCE_GPU": resources.gpu = Int(parts[1])
            case "NO_RESOURCE_CHECK": notes.append("env NO_RESOURCE_CHECK was dropped (Trellis does not rewrite resources)")
            default: env[parts[0]] = parts[1]
            }
        }
        let hasResources = resources.cpu != nil || resources.memory != nil || resources.gpu != nil
        if hasResources { notes.append("env TASK_RESOURCE_* became the default resources") }
        return (env, hasResources ? resources : nil)
    }

    static func mounts(_ text: String, notes: inout [String]) -> [String]? {
        var mounts: [String] = []
        for item in text.split(whereSeparator: { $0 == "," || $0 == ";" }).map({ $0.trimmingCharacters(in: .whitespaces) })
        where !item.isEmpty {
            do {
                mounts.append(try Mount(parsing: item, field: "job_template_volume").description)
            } catch {
                notes.append("mount \(item) was dropped: \(error.message)")
            }
        }
        return mounts.isEmpty ? nil : mounts
    }

    static func readme(name: String, entry: Node.Mapping, expand: Node.Mapping?) -> String {
        var lines = ["# \(name)", "", "Imported from cube-studio."]
        if let describe = nonEmpty(entry["job_template_describe"]?.string) { lines += ["", describe] }
        if let image = nonEmpty(entry["image_describe"]?.string) { lines += ["", "Image: \(image)"] }
        if let help = nonEmpty(expand?["help_url"]?.string ?? entry["gitpath"]?.string) { lines += ["", "Help: \(help)"] }
        return lines.joined(separator: "\n") + "\n"
    }

    static func value(_ node: Node) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .doubleQuoted || scalar.style == .singleQuoted { return .string(scalar.string) }
            if let int = Int(scalar.string) { return .int(int) }
            if let double = Double(scalar.string) { return .double(double) }
            switch scalar.string {
            case "true": return .bool(true)
            case "false": return .bool(false)
            case "null", "~": return .null
            default: return .string(scalar.string)
            }
        case .sequence(let sequence): return .array(sequence.map(value))
        case .mapping(let mapping):
            var object: [String: JSONValue] = [:]
            for (key, child) in mapping { object[key.string ?? ""] = value(child) }
            return .object(object)
        case .alias: return .null
        }
    }

    static func flag(_ node: Node?) -> Bool {
        guard let node else { return false }
        return ["1", "true"].contains(node.string?.lowercased() ?? "")
    }

    static func nonEmpty(_ text: String?) -> String? {
        guard let text, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
        return text
    }
}
