import Foundation

extension PipelineSpec {
    /// Every problem with the pipeline, each naming its task, field or cycle. `template` finds a template by
    /// reference (nil: unknown or not usable by this project); args are checked against its parameter schema.
    public func problems(template: (TemplateReference) -> TemplateSpec?) -> [ValidationError] {
        var problems: [ValidationError] = []
        if apiVersion != "trellis.dev/v1" {
            problems.append(ValidationError(field: "apiVersion", "must be trellis.dev/v1, got \"\(apiVersion)\""))
        }
        if kind != "Pipeline" { problems.append(ValidationError(field: "kind", "must be Pipeline, got \"\(kind)\"")) }
        problems.record { () throws(ValidationError) in try Names.validateResourceName(metadata.name, field: "metadata.name") }
        if let parallelism = spec.parallelism, parallelism < 1 {
            problems.append(ValidationError(field: "spec.parallelism", "must be at least 1"))
        }
        for key in (spec.env ?? [:]).keys.sorted() where !TemplateSpec.isEnvironmentName(key) {
            problems.append(ValidationError(field: "spec.env.\(key)", "is not a valid environment variable name"))
        }
        if let timeout = spec.timeout {
            problems.record { () throws(ValidationError) in
                if try DurationText.parse(timeout, field: "spec.timeout") <= .zero {
                    throw ValidationError(field: "spec.timeout", "must be longer than zero")
                }
            }
        }
        if spec.tasks.isEmpty { problems.append(ValidationError(field: "spec.tasks", "a pipeline needs at least one task")) }

        var seen: Set<String> = []
        for (index, task) in spec.tasks.enumerated() {
            if !seen.insert(task.name).inserted {
                problems.append(ValidationError(field: "spec.tasks[\(index)].name", "duplicate task name \"\(task.name)\""))
            }
            problems.record { () throws(ValidationError) in try Names.validateResourceName(task.name, field: "spec.tasks[\(index)].name") }
        }
        let names = Set(spec.tasks.map(\.name))
        for task in spec.tasks {
            problems += task.problems(at: "spec.tasks[\(task.name)]", taskNames: names, template: template)
        }
        if let schedule = spec.schedule { problems += schedule.problems() }
        problems += spec.alerts?.problems(at: "spec.alerts", webhooks: nil) ?? []
        problems += RunParameters.problems(of: spec.parameters ?? [])
        if spec.schedule != nil {
            for (index, parameter) in (spec.parameters ?? []).enumerated() where parameter.default == nil {
                problems.append(
                    ValidationError(
                        field: "spec.parameters[\(index)].default",
                        "a scheduled pipeline's parameters need defaults: its ticks' runs take them"))
            }
        }
        problems += variableProblems()
        if let cycle = dependencyCycle() {
            problems.append(ValidationError(field: "spec.tasks", "dependency cycle: \(cycle.joined(separator: " → "))"))
        }
        return problems
    }

    /// Template variables that cannot work in any run: syntax errors and unknown names, in env, args and mounts.
    func variableProblems() -> [ValidationError] {
        let known = VariableRenderer.runNames.union((spec.env ?? [:]).keys)
        let parameters = spec.parameters.map { Set($0.map(\.name)) }
        var problems: [VariableError] = []
        func check(_ value: JSONValue, field: String) {
            switch value {
            case .string(let text): problems += VariableRenderer.problems(in: text, field: field, known: known, parameters: parameters)
            case .array(let items): for (index, item) in items.enumerated() { check(item, field: "\(field)[\(index)]") }
            case .object(let fields): for (key, item) in fields.sorted(by: { $0.key < $1.key }) { check(item, field: "\(field).\(key)") }
            default: break
            }
        }
        for (key, value) in (spec.env ?? [:]).sorted(by: { $0.key < $1.key }) { check(.string(value), field: "spec.env.\(key)") }
        for task in spec.tasks {
            let field = "spec.tasks[\(task.name)]"
            for (name, value) in (task.args ?? [:]).sorted(by: { $0.key < $1.key }) { check(value, field: "\(field).args.\(name)") }
            for (key, value) in (task.env ?? [:]).sorted(by: { $0.key < $1.key }) { check(.string(value), field: "\(field).env.\(key)") }
            for (index, mount) in (task.mounts ?? []).enumerated() { check(.string(mount), field: "\(field).mounts[\(index)]") }
        }
        return problems.map(\.validationError)
    }

    /// A cycle of tasks in run order (`a → b → c → a`), or nil when the graph is a DAG.
    public func dependencyCycle() -> [String]? {
        var downstream: [String: [String]] = [:]
        for task in spec.tasks {
            for upstream in task.dependsOn ?? [] { downstream[upstream, default: []].append(task.name) }
        }
        enum Mark { case visiting, done }
        var marks: [String: Mark] = [:]
        var path: [String] = []
        func visit(_ name: String) -> [String]? {
            switch marks[name] {
            case .done: return nil
            case .visiting:
                let start = path.firstIndex(of: name)!
                return Array(path[start...]) + [name]
            case nil: break
            }
            marks[name] = .visiting
            path.append(name)
            for next in downstream[name] ?? [] {
                if let cycle = visit(next) { return cycle }
            }
            path.removeLast()
            marks[name] = .done
            return nil
        }
        for task in spec.tasks {
            if let cycle = visit(task.name) { return cycle }
        }
        return nil
    }
}

extension PipelineSpec.Task {
    func problems(at field: String, taskNames: Set<String>, template find: (TemplateReference) -> TemplateSpec?) -> [ValidationError] {
        var problems: [ValidationError] = []
        for upstream in dependsOn ?? [] {
            if upstream == name {
                problems.append(ValidationError(field: "\(field).dependsOn", "a task cannot depend on itself"))
            } else if !taskNames.contains(upstream) {
                problems.append(ValidationError(field: "\(field).dependsOn", "unknown task \"\(upstream)\""))
            }
        }
        let reference = TemplateReference(parsing: template)
        if let found = find(reference) {
            do {
                _ = try found.schema.resolve(args ?? [:], field: "\(field).args")
            } catch {
                problems += error.errors
            }
            problems.record { () throws(ValidationError) in
                var mounts: [Mount] = []
                for (index, mount) in (self.mounts ?? []).enumerated() {
                    mounts.append(try Mount(parsing: mount, field: "\(field).mounts[\(index)]"))
                }
                _ = try Mount.merge(template: try found.parsedMounts(), task: mounts, field: "\(field).mounts")
            }
        } else {
            problems.append(ValidationError(field: "\(field).template", "no template \"\(reference)\" is available to this project"))
        }
        if let retry {
            if !(0...100).contains(retry.limit) {
                problems.append(ValidationError(field: "\(field).retry.limit", "must be between 0 and 100"))
            }
            if let backoff = retry.backoff {
                var duration: Duration?
                if let text = backoff.duration {
                    problems.record { () throws(ValidationError) in
                        duration = try DurationText.parse(text, field: "\(field).retry.backoff.duration")
                    }
                }
                if let factor = backoff.factor, !(1...10).contains(factor) {
                    problems.append(ValidationError(field: "\(field).retry.backoff.factor", "must be between 1 and 10"))
                }
                if let text = backoff.maxDuration {
                    problems.record { () throws(ValidationError) in
                        let maximum = try DurationText.parse(text, field: "\(field).retry.backoff.maxDuration")
                        if let duration, maximum < duration {
                            throw ValidationError(
                                field: "\(field).retry.backoff.maxDuration", "must not be shorter than the backoff duration")
                        }
                    }
                }
            }
        }
        if let timeout {
            problems.record { () throws(ValidationError) in
                if try DurationText.parse(timeout, field: "\(field).timeout") <= .zero {
                    throw ValidationError(field: "\(field).timeout", "must be longer than zero")
                }
            }
        }
        if let replicas, !(1...1000).contains(replicas) {
            problems.append(ValidationError(field: "\(field).replicas", "must be between 1 and 1000"))
        }
        if let resources {
            if let cpu = resources.cpu {
                problems.record { () throws(ValidationError) in
                    _ = try ResourceQuantity.range(cpu, field: "\(field).resources.cpu", parse: ResourceQuantity.cpu)
                }
            }
            if let memory = resources.memory {
                problems.record { () throws(ValidationError) in
                    _ = try ResourceQuantity.range(memory, field: "\(field).resources.memory", parse: ResourceQuantity.memory)
                }
            }
            problems += resources.problems(field: "\(field).resources")
            if let gpu = resources.gpu, gpu < 0 {
                problems.append(ValidationError(field: "\(field).resources.gpu", "must not be negative"))
            }
        }
        for key in (env ?? [:]).keys.sorted() where !TemplateSpec.isEnvironmentName(key) {
            problems.append(ValidationError(field: "\(field).env.\(key)", "is not a valid environment variable name"))
        }
        return problems
    }
}

extension PipelineSpec.Schedule {
    /// Every problem with the schedule, each naming its field.
    public func problems() -> [ValidationError] {
        var problems: [ValidationError] = []
        do {
            _ = try Cron(cron)
        } catch {
            problems.append(
                ValidationError(
                    field: "spec.schedule.cron", "\(error.field == "cron" ? "" : "\(error.field.dropFirst(5)): ")\(error.message)"))
        }
        if let timezone, TimeZone(identifier: timezone) == nil {
            problems.append(
                ValidationError(field: "spec.schedule.timezone", "\"\(timezone)\" is not an IANA time zone such as Asia/Shanghai"))
        }
        if let startTime, Self.parseStartTime(startTime, in: TimeZone(identifier: timezone ?? "UTC") ?? .gmt) == nil {
            problems.append(
                ValidationError(field: "spec.schedule.startTime", "\"\(startTime)\" is not a date and time such as 2026-11-01T00:00:00"))
        }
        if let maxActiveRuns, maxActiveRuns < 1 {
            problems.append(ValidationError(field: "spec.schedule.maxActiveRuns", "must be at least 1"))
        }
        if let expiredLimit, expiredLimit < 0 {
            problems.append(ValidationError(field: "spec.schedule.expiredLimit", "must not be negative (0 keeps every pending tick)"))
        }
        return problems
    }

    /// `2026-11-01T00:00:00` in the schedule's time zone, or with an explicit offset.
    public static func parseStartTime(_ text: String, in zone: TimeZone) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        guard let wall = PyDateTime.parse(text.replacingOccurrences(of: " ", with: "T"), pattern: "%Y-%m-%dT%H:%M:%S") else { return nil }
        let local = Date(timeIntervalSince1970: Double(wall.microseconds) / 1_000_000)
        return local.addingTimeInterval(-Double(zone.secondsFromGMT(for: local)))
    }
}
