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
    /// The pipeline's global env, rendered (what the run's variables saw).
    public var environment: [String: String]?
    /// The offset from UTC of the run's time zone at its execution date (a schedule's; 0 otherwise), in seconds:
    /// `TRELLIS_EXECUTION_DATE` is written in it, as `{{execution_date}}` is.
    public var utcOffsetSeconds: Int?
    /// The project's node selector when the run was created: where its pods may go on Kubernetes.
    public var nodeSelector: [String: String]?
    /// The project's network setting when the run was created: false cuts local tasks off the network.
    public var network: Bool?
    /// The host folders the project's local tasks could mount when the run was created (`settings.hostPaths`): the
    /// local backend holds each mount's real path (symlinks followed) to them again.
    public var hostPaths: [String]?
    /// The Pod Security level of the Kubernetes cluster the run goes to, whose pods are made to fit it.
    public var podSecurity: ClusterPolicy.Level?
    /// That cluster's GPU label: a task's `resources.gpuType` is its value in the task's node selector.
    public var gpuLabel: String?
    /// The project's secret env entries when the run was created (names only): a task's env holds
    /// ``secretPlaceholder`` for each that nothing above the project overrode, and gets its value only at launch.
    public var secretEnvironment: [String]?
    /// The run's parameter values (`params.NAME`): given to it, or the pipeline's defaults; nil when it declares none.
    public var parameters: [String: String]?
    public var tasks: [Task]

    /// What a secret env entry reads in a plan, a run view, a preview and an attempt's recorded invocation.
    public static let secretPlaceholder = "<secret>"

    /// The secret entries `environment` (a task's) still holds, not overridden by a template, pipeline or task.
    public func secrets(in environment: [String: String]) -> [String] {
        (secretEnvironment ?? []).filter { environment[$0] == Self.secretPlaceholder }
    }

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
        /// The template's mounts then the task's (`source(kind):/path`), rendered; applied where the task runs on
        /// Kubernetes (the local backend has no volumes).
        public var mounts: [String] = []
        /// The task's resources, else the template's (`cpu` and `memory` as `request~limit`); where the task runs on
        /// Kubernetes, with the template's service account, host aliases and privilege.
        public var resources: TemplateSpec.Resources?
        public var serviceAccount: String?
        public var hostAliases: [String]?
        public var privileged: Bool?
        /// The template's training framework: on Kubernetes the task is its operator's job (``TrainingJob``).
        public var framework: TrainingFramework?

        public init(
            name: String, id: String, template: String, dependsOn: [String], command: [String], environment: [String: String],
            image: String, workingDirectory: String?, replicas: Int, timeoutMilliseconds: Int64?, retry: RetryRule, skip: Bool,
            mounts: [String] = [], resources: TemplateSpec.Resources? = nil, serviceAccount: String? = nil, hostAliases: [String]? = nil,
            privileged: Bool? = nil, framework: TrainingFramework? = nil
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
            self.mounts = mounts
            self.resources = resources
            self.serviceAccount = serviceAccount
            self.hostAliases = hostAliases
            self.privileged = privileged
            self.framework = framework
        }
    }

    public init(pipeline: String, version: Int, parallelism: Int? = nil, timeoutMilliseconds: Int64? = nil, tasks: [Task]) {
        self.pipeline = pipeline
        self.version = version
        self.parallelism = parallelism
        self.timeoutMilliseconds = timeoutMilliseconds
        self.tasks = tasks
    }

    /// Resolves `pipeline` against the templates of its tasks (task name → the pinned template) and renders its
    /// template variables — once, field by field, with `variables`. Args are checked against each template's
    /// parameter schema again: a template may have changed since the pipeline was saved.
    /// With `only`, just that task is resolved (a single-task run: the other tasks' problems do not stand in its way).
    /// The project's default env sits below the template's; its default mounts come after the task's and the
    /// template's (a path mounted already keeps its first mount).
    /// A pipeline with `spec.parameters` takes their values from `variables.parameters`, or, when it has none (a
    /// scheduled run, a preview), their defaults.
    public init(
        pipeline: PipelineVersion, templates: [String: TemplateSpec], variables: RunVariables, only: String? = nil,
        project: ProjectSettings = ProjectSettings()
    ) throws(ValidationErrors) {
        var renderer = FieldRenderer()
        let spec = pipeline.spec.spec
        var variables = variables
        if let declared = spec.parameters, variables.parameters == nil {
            variables.parameters = try RunParameters.resolve(nil, declared: declared)
        }
        let base = variables.context(
            pipeline: pipeline.pipeline, pipelineID: pipeline.pipelineID, creator: pipeline.createdBy, environment: [:])
        var globalEnvironment: [String: String] = [:]
        for (key, value) in (spec.env ?? [:]).sorted(by: { $0.key < $1.key }) {
            globalEnvironment[key] = renderer.render(value, field: "spec.env.\(key)", context: base)
        }
        let context = variables.context(
            pipeline: pipeline.pipeline, pipelineID: pipeline.pipelineID, creator: pipeline.createdBy, environment: globalEnvironment)
        var tasks: [Task] = []
        for task in spec.tasks where only == nil || task.name == only {
            let field = "spec.tasks[\(task.name)]"
            guard let template = templates[task.name] else {
                renderer.problems.append(ValidationError(field: "\(field).template", "\(task.template) is no longer available"))
                continue
            }
            var args: [String: JSONValue] = [:]
            for (name, value) in task.args ?? [:] { args[name] = renderer.render(value, field: "\(field).args.\(name)", context: context) }
            let command = (template.command ?? []).enumerated().map {
                renderer.render($0.element, field: "template \(template.name).command[\($0.offset)]", context: context)
            }
            var templateEnvironment = project.env.merging(template.env ?? [:]) { $1 }.mapValues {
                renderer.render($0, field: "template \(template.name).env", context: context)
            }
            for name in project.secretEnv where template.env?[name] == nil { templateEnvironment[name] = Self.secretPlaceholder }
            var mounts = ((template.mounts ?? []) + (task.mounts ?? [])).enumerated().map {
                renderer.render($0.element, field: "\(field).mounts[\($0.offset)]", context: context)
            }
            let mountedPaths = Set(mounts.compactMap { try? Mount(parsing: $0, field: field).path })
            mounts += project.mounts.filter { (try? Mount(parsing: $0, field: field)).map { !mountedPaths.contains($0.path) } ?? false }
            var taskEnvironment: [String: String] = [:]
            for (key, value) in (task.env ?? [:]).sorted(by: { $0.key < $1.key }) {
                taskEnvironment[key] = renderer.render(value, field: "\(field).env.\(key)", context: context)
            }
            do {
                let arguments = try template.schema.resolve(args, field: "\(field).args")
                tasks.append(
                    Task(
                        name: task.name,
                        id: pipeline.taskIDs[task.name] ?? task.name,
                        template: pipeline.templates[task.name] ?? "\(template.name)@\(template.version)",
                        dependsOn: task.dependsOn ?? [],
                        command: command + TaskInvocation.flags(arguments),
                        environment: TaskInvocation.environment(
                            template: templateEnvironment, pipeline: globalEnvironment, task: taskEnvironment),
                        image: template.image,
                        workingDirectory: template.workingDir,
                        replicas: task.replicas ?? 1,
                        timeoutMilliseconds: try task.timeout.map { text throws(ValidationError) in
                            try DurationText.parse(text, field: "\(field).timeout").milliseconds
                        },
                        retry: try RetryRule(task.retry, field: field),
                        skip: task.skip ?? false,
                        mounts: mounts,
                        resources: task.resources ?? template.resources,
                        serviceAccount: template.serviceAccount,
                        hostAliases: template.hostAliases,
                        privileged: template.privileged,
                        framework: template.framework
                    ))
            } catch let error as ValidationErrors {
                renderer.problems += error.errors
            } catch let error as ValidationError {
                renderer.problems.append(error)
            } catch {
                renderer.problems.append(ValidationError(field: field, "\(error)"))
            }
        }
        for task in tasks where task.command.isEmpty {
            renderer.problems.append(ValidationError(field: "spec.tasks[\(task.name)].template", "\(task.template) has no command to run"))
        }
        guard renderer.problems.isEmpty else { throw ValidationErrors(renderer.problems) }
        self.pipeline = pipeline.pipeline
        self.pipelineID = pipeline.pipelineID
        self.version = pipeline.version
        self.creator = pipeline.createdBy
        self.parallelism = spec.parallelism
        self.environment = globalEnvironment
        self.utcOffsetSeconds = variables.utcOffsetSeconds
        self.nodeSelector = project.nodeSelector.isEmpty ? nil : project.nodeSelector
        self.network = project.network
        self.hostPaths = project.hostPaths
        self.secretEnvironment = project.secretEnv.isEmpty ? nil : project.secretEnv
        self.parameters = variables.parameters
        do {
            self.timeoutMilliseconds = try spec.timeout.map { text throws(ValidationError) in
                try DurationText.parse(text, field: "spec.timeout").milliseconds
            }
        } catch {
            throw ValidationErrors([error])
        }
        self.tasks = tasks
    }

    /// What a task's process sees: its env plus the `TRELLIS_*` variables of DESIGN.md for this run and attempt
    /// (`attempt` is text: on Argo it is an expression the controller fills in).
    public func environment(
        of task: Task, project: String, run: String, attempt: String, executionDate: Int64, runner: String
    ) -> [String: String] {
        var environment = task.environment
        environment["TRELLIS_PROJECT"] = project
        environment["TRELLIS_PIPELINE_ID"] = pipelineID ?? pipeline
        environment["TRELLIS_PIPELINE_NAME"] = pipeline
        environment["TRELLIS_RUN_ID"] = run
        environment["TRELLIS_TASK_NAME"] = task.name
        environment["TRELLIS_TASK_ATTEMPT"] = attempt
        let offset = Int64(utcOffsetSeconds ?? 0) * 1000
        environment["TRELLIS_EXECUTION_DATE"] = PyDateTime(microseconds: (executionDate + offset) * 1000).format("%Y-%m-%d %H:%M:%S")
        environment["TRELLIS_CREATOR"] = creator ?? runner
        environment["TRELLIS_RUNNER"] = runner
        return environment
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
}

/// Renders the fields of a run, collecting every problem as a validation error naming its field. What rendering adds
/// is bounded for the whole run, not only per field: a thousand fields each growing by a megabyte are refused.
struct FieldRenderer {
    var problems: [ValidationError] = []
    /// Bytes the rendered fields have grown by so far.
    private(set) var growth = 0
    static let growthLimit = 1 << 20

    mutating func render(_ text: String, field: String, context: VariableContext) -> String {
        do {
            let rendered = try VariableRenderer.render(text, field: field, context: context)
            let before = growth
            growth += max(0, rendered.utf8.count - text.utf8.count)
            guard growth <= Self.growthLimit else {
                if before <= Self.growthLimit {
                    problems.append(
                        ValidationError(
                            field: field, "the run's template variables render more than \(Self.growthLimit) bytes in all (at this field)"))
                }
                return text
            }
            return rendered
        } catch {
            problems.append(error.validationError)
            return text
        }
    }

    /// Strings inside `value` rendered (lists and dicts too); other values as they are.
    mutating func render(_ value: JSONValue, field: String, context: VariableContext) -> JSONValue {
        switch value {
        case .string(let text): .string(render(text, field: field, context: context))
        case .array(let items): .array(items.map { render($0, field: field, context: context) })
        case .object(let fields): .object(fields.mapValues { render($0, field: field, context: context) })
        default: value
        }
    }
}
