/// The frozen snapshot a run executes: every task with its command, environment and policies resolved from the
/// pipeline version and the templates it was pinned to. Editing the pipeline later never changes a run.
public struct RunPlan: Codable, Sendable, Equatable {
    public var pipeline: String
    public var pipelineID: String?
    public var version: Int
    /// Who saved the pipeline version (the seed's `creator`).
    public var creator: String?
    public var parallelism: Int?
    public var timeoutMilliseconds: Int64?
    public var tasks: [Task]

    public struct Task: Codable, Sendable, Equatable {
        public var name: String
        /// The pipeline's stable id of the task.
        public var id: String
        /// `name@version` of the template.
        public var template: String
        public var dependsOn: [String]
        /// The process to run: the template's command followed by one flag per argument.
        public var command: [String]
        /// Template env, overridden by the pipeline's, overridden by the task's (the `TRELLIS_*` variables are added
        /// per attempt).
        public var environment: [String: String]
        public var image: String
        public var workingDirectory: String?
        public var replicas: Int
        public var timeoutMilliseconds: Int64?
        public var retry: RetryRule
        public var skip: Bool

        public init(
            name: String, id: String, template: String, dependsOn: [String], command: [String], environment: [String: String],
            image: String, workingDirectory: String?, replicas: Int, timeoutMilliseconds: Int64?, retry: RetryRule, skip: Bool
        ) {
            self.name = name
            self.id = id
            self.template = template
            self.dependsOn = dependsOn
            self.command = command
            self.environment = environment
            self.image = image
            self.workingDirectory = workingDirectory
            self.replicas = replicas
            self.timeoutMilliseconds = timeoutMilliseconds
            self.retry = retry
            self.skip = skip
        }
    }

    public init(pipeline: String, version: Int, parallelism: Int? = nil, timeoutMilliseconds: Int64? = nil, tasks: [Task]) {
        self.pipeline = pipeline
        self.version = version
        self.parallelism = parallelism
        self.timeoutMilliseconds = timeoutMilliseconds
        self.tasks = tasks
    }

    /// Resolves `pipeline` against the templates of its tasks (task name → the pinned template). Args are checked
    /// against each template's parameter schema again: a template may have changed since the pipeline was saved.
    public init(pipeline: PipelineVersion, templates: [String: TemplateSpec]) throws(ValidationErrors) {
        var problems: [ValidationError] = []
        var tasks: [Task] = []
        for task in pipeline.spec.spec.tasks {
            let field = "spec.tasks[\(task.name)]"
            guard let template = templates[task.name] else {
                problems.append(ValidationError(field: "\(field).template", "\(task.template) is no longer available"))
                continue
            }
            do {
                let arguments = try template.schema.resolve(task.args ?? [:], field: "\(field).args")
                tasks.append(
                    Task(
                        name: task.name,
                        id: pipeline.taskIDs[task.name] ?? task.name,
                        template: pipeline.templates[task.name] ?? "\(template.name)@\(template.version)",
                        dependsOn: task.dependsOn ?? [],
                        command: (template.command ?? []) + TaskInvocation.flags(arguments),
                        environment: TaskInvocation.environment(
                            template: template.env ?? [:], pipeline: pipeline.spec.spec.env ?? [:], task: task.env ?? [:]),
                        image: template.image,
                        workingDirectory: template.workingDir,
                        replicas: task.replicas ?? 1,
                        timeoutMilliseconds: try task.timeout.map { text throws(ValidationError) in
                            try DurationText.parse(text, field: "\(field).timeout").milliseconds
                        },
                        retry: try RetryRule(task.retry, field: field),
                        skip: task.skip ?? false
                    ))
            } catch let error as ValidationErrors {
                problems += error.errors
            } catch let error as ValidationError {
                problems.append(error)
            } catch {
                problems.append(ValidationError(field: field, "\(error)"))
            }
        }
        for task in tasks where task.command.isEmpty {
            problems.append(ValidationError(field: "spec.tasks[\(task.name)].template", "\(task.template) has no command to run"))
        }
        guard problems.isEmpty else { throw ValidationErrors(problems) }
        self.pipeline = pipeline.pipeline
        self.pipelineID = pipeline.pipelineID
        self.version = pipeline.version
        self.creator = pipeline.createdBy
        self.parallelism = pipeline.spec.spec.parallelism
        do {
            self.timeoutMilliseconds = try pipeline.spec.spec.timeout.map { text throws(ValidationError) in
                try DurationText.parse(text, field: "spec.timeout").milliseconds
            }
        } catch {
            throw ValidationErrors([error])
        }
        self.tasks = tasks
    }

    /// The plan of running one task alone (single-task run and debug): its upstreams are left out.
    public func single(_ name: String) -> RunPlan? {
        guard var task = tasks.first(where: { $0.name == name }) else { return nil }
        task.dependsOn = []
        task.skip = false
        var plan = self
        plan.tasks = [task]
        return plan
    }

    public func task(named name: String) -> Task? { tasks.first { $0.name == name } }

    /// Task names in an order where every task comes after its upstreams (the plan is a DAG, checked at save).
    public var topologicalOrder: [String] {
        var order: [String] = []
        var placed: Set<String> = []
        var remaining = tasks
        while !remaining.isEmpty {
            let ready = remaining.filter { $0.dependsOn.allSatisfy(placed.contains) }
            guard !ready.isEmpty else { return order + remaining.map(\.name) }
            for task in ready {
                order.append(task.name)
                placed.insert(task.name)
            }
            remaining.removeAll { placed.contains($0.name) }
        }
        return order
    }

    /// `name` and every task downstream of it.
    public func downstream(of name: String) -> Set<String> {
        var found: Set<String> = [name]
        var changed = true
        while changed {
            changed = false
            for task in tasks where !found.contains(task.name) && task.dependsOn.contains(where: found.contains) {
                found.insert(task.name)
                changed = true
            }
        }
        return found
    }
}
