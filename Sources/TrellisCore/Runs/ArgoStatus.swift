import Foundation

/// What Trellis reads of a Workflow: the run's state, each task's state and its attempts.
public struct WorkflowProgress: Codable, Sendable, Equatable {
    public enum Phase: String, Codable, Sendable {
        case running, succeeded, failed, cancelled
    }

    /// One attempt of a task: a pod, or one pod per replica.
    public struct Attempt: Codable, Sendable, Equatable {
        public var task: String
        /// 1 for the task's first attempt in the Workflow as it is now (`argo retry` removes failed ones).
        public var number: Int
        public var state: TaskState
        public var exitCode: Int?
        public var message: String?
        public var startedAt: Date?
        public var finishedAt: Date?
        /// Its pods' Argo node ids, by replica.
        public var nodes: [String]
        /// The Kubernetes nodes its pods ran on.
        public var hosts: [String]
        /// The training framework whose job the attempt's step created: its replicas are the job's pods, found by
        /// ``TrainingJob/selector(run:task:attempt:)`` (the step's own pod only creates and follows the job).
        public var framework: TrainingFramework?

        public init(
            task: String, number: Int, state: TaskState, exitCode: Int? = nil, message: String? = nil, startedAt: Date? = nil,
            finishedAt: Date? = nil, nodes: [String] = [], hosts: [String] = [], framework: TrainingFramework? = nil
        ) {
            self.task = task
            self.number = number
            self.state = state
            self.exitCode = exitCode
            self.message = message
            self.startedAt = startedAt
            self.finishedAt = finishedAt
            self.nodes = nodes
            self.hosts = hosts
            self.framework = framework
        }
    }

    public var phase: Phase
    public var message: String?
    /// Tasks Argo has a node for; the others have not started.
    public var tasks: [String: TaskState]
    public var attempts: [Attempt]

    public init(phase: Phase, message: String?, tasks: [String: TaskState], attempts: [Attempt]) {
        self.phase = phase
        self.message = message
        self.tasks = tasks
        self.attempts = attempts
    }
}

/// Reads a Workflow's `status.nodes` back into Trellis's terms, and resets a failed Workflow the way `argo retry`
/// does. Node names are `{workflow}.{task}`, then `(i:item)` per replica of a `withSequence`, then `(n)` per retry.
public enum ArgoStatus {
    public static func progress(of workflow: JSONValue) -> WorkflowProgress {
        let name = workflow["metadata"]?["name"]?.string ?? ""
        let shutdown = workflow["spec"]?["shutdown"]?.string.map { !$0.isEmpty } ?? false
        var tasks: [String: TaskState] = [:]
        var pods: [String: [(replica: Int, attempt: Int, id: String, node: JSONValue)]] = [:]
        for (id, node) in nodes(of: workflow) {
            guard let parsed = parse(node["name"]?.string ?? "", workflow: name) else { continue }
            let type = node["type"]?.string ?? ""
            let phase = node["phase"]?.string ?? ""
            // The task's own node (a pod, a retry node, a group of replicas, or skipped) says the task's state.
            if parsed.replica == nil, parsed.retry == nil,
                let state = taskState(phase, shutdown: shutdown, message: node["message"]?.string)
            {
                tasks[parsed.task] = state
            }
            guard type == "Pod" else { continue }
            pods[parsed.task, default: []].append((parsed.replica ?? 0, (parsed.retry ?? 0) + 1, id, node))
        }
        let jobs = frameworks(of: workflow)
        var attempts: [WorkflowProgress.Attempt] = []
        for (task, found) in pods {
            for number in Set(found.map(\.attempt)).sorted() {
                let replicas = found.filter { $0.attempt == number }.sorted { $0.replica < $1.replica }
                let states = replicas.map { taskState($0.node["phase"]?.string ?? "", shutdown: shutdown, message: nil) ?? .pending }
                let failed = replicas.first { ["Failed", "Error"].contains($0.node["phase"]?.string) }?.node
                attempts.append(
                    WorkflowProgress.Attempt(
                        task: task, number: number, state: combined(states),
                        exitCode: (failed ?? replicas.first?.node)?["outputs"]?["exitCode"]?.string.flatMap { Int($0) },
                        message: (failed ?? replicas.first?.node)?["message"]?.string,
                        startedAt: replicas.compactMap { date($0.node["startedAt"]) }.min(),
                        finishedAt: states.allSatisfy(\.isFinished) ? replicas.compactMap { date($0.node["finishedAt"]) }.max() : nil,
                        nodes: replicas.map(\.id), hosts: replicas.compactMap { $0.node["hostNodeName"]?.string },
                        framework: jobs[task]))
            }
        }
        attempts.sort { ($0.task, $0.number) < ($1.task, $1.number) }
        let phase: WorkflowProgress.Phase =
            switch workflow["status"]?["phase"]?.string {
            case "Succeeded": .succeeded
            case "Failed", "Error": shutdown ? .cancelled : .failed
            default: .running
            }
        return WorkflowProgress(phase: phase, message: workflow["status"]?["message"]?.string, tasks: tasks, attempts: attempts)
    }

    /// The merge patch that makes a failed Workflow run again as `argo retry` does: failed and errored pod nodes
    /// (and nodes that never ran) are removed with their pods, the DAG and retry nodes above them run again,
    /// succeeded and skipped nodes are kept; the Workflow is running and no longer shut down. Every node of the
    /// `restarting` tasks goes too, succeeded or not (`argo retry --node-field-selector … --restart-successful`), and
    /// then a succeeded Workflow may be retried as well. Nil when there is nothing to retry.
    public static func retry(_ workflow: JSONValue, restarting tasks: Set<String> = []) -> (patch: JSONValue, podNodes: [String])? {
        let phase = workflow["status"]?["phase"]?.string ?? ""
        guard ["Failed", "Error"].contains(phase) || (phase == "Succeeded" && !tasks.isEmpty) else { return nil }
        let name = workflow["metadata"]?["name"]?.string ?? ""
        let all = nodes(of: workflow)
        var removed: Set<String> = []
        var reset: Set<String> = []
        for (id, node) in all {
            let nodeName = node["name"]?.string ?? ""
            if let task = parse(nodeName, workflow: name)?.task, tasks.contains(task) {
                removed.insert(id)
                continue
            }
            // The DAG itself runs again, whatever it ended as.
            if nodeName == name {
                reset.insert(id)
                continue
            }
            let nodePhase = node["phase"]?.string ?? ""
            if ["Succeeded", "Skipped"].contains(nodePhase) { continue }
            if node["type"]?.string == "Pod" || nodePhase == "Omitted" { removed.insert(id) } else { reset.insert(id) }
        }
        var changes: [String: JSONValue] = [:]
        for id in removed { changes[id] = .null }
        for id in reset {
            var change: [String: JSONValue] = ["phase": .string("Running"), "finishedAt": .null, "message": .null]
            if case .array(let children)? = all[id]?["children"] {
                let kept = children.filter { !removed.contains($0.string ?? "") }
                if kept.count != children.count { change["children"] = .array(kept) }
            }
            changes[id] = .object(change)
        }
        let patch: JSONValue = .object([
            "metadata": .object(["labels": .object(["workflows.argoproj.io/completed": .string("false")])]),
            "spec": .object(["shutdown": .null]),
            "status": .object(["phase": .string("Running"), "finishedAt": .null, "message": .null, "nodes": .object(changes)]),
        ])
        return (patch, removed.filter { all[$0]?["type"]?.string == "Pod" }.sorted())
    }

    /// The tasks whose template is a `resource` step creating a training framework's job, by the job's kind.
    static func frameworks(of workflow: JSONValue) -> [String: TrainingFramework] {
        guard case .array(let templates)? = workflow["spec"]?["templates"] else { return [:] }
        var found: [String: TrainingFramework] = [:]
        for template in templates {
            guard let manifest = template["resource"]?["manifest"]?.string, let name = template["name"]?.string,
                let kind = (try? JSONDecoder().decode(JSONValue.self, from: Data(manifest.utf8)))?["kind"]?.string,
                let framework = TrainingFramework(kind: kind)
            else { continue }
            found[String(name.dropFirst(ArgoWorkflow.templateName("").count))] = framework
        }
        return found
    }

    static func nodes(of workflow: JSONValue) -> [String: JSONValue] {
        guard case .object(let nodes)? = workflow["status"]?["nodes"] else { return [:] }
        return nodes
    }

    /// `{workflow}.{task}(i:item)(n)` → the task, the replica i and the retry n.
    static func parse(_ nodeName: String, workflow: String) -> (task: String, replica: Int?, retry: Int?)? {
        guard nodeName.hasPrefix(workflow + "."), nodeName.count > workflow.count + 1 else { return nil }
        let rest = nodeName.dropFirst(workflow.count + 1)
        let task = String(rest.prefix { $0 != "(" })
        var replica: Int?
        var retry: Int?
        for group in rest.dropFirst(task.count).split(separator: ")") {
            let inner = group.drop { $0 == "(" }
            if let colon = inner.firstIndex(of: ":") {
                replica = Int(inner[..<colon])
            } else {
                retry = Int(inner)
            }
        }
        return task.isEmpty ? nil : (task, replica, retry)
    }

    static func taskState(_ phase: String, shutdown: Bool, message: String?) -> TaskState? {
        switch phase {
        case "Succeeded": .succeeded
        case "Skipped": .skipped
        case "Omitted": .upstreamFailed
        case "Failed", "Error":
            if shutdown { .cancelled } else if message?.contains("deadline") == true { .timedOut } else { .failed }
        case "Pending", "Running": .running
        default: nil
        }
    }

    /// The state of an attempt from its replicas': failed if one failed, running while one runs.
    static func combined(_ states: [TaskState]) -> TaskState {
        for state in [TaskState.failed, .timedOut, .cancelled, .running, .pending] where states.contains(state) { return state }
        return states.first ?? .pending
    }

    static func date(_ value: JSONValue?) -> Date? {
        guard let text = value?.string else { return nil }
        return ISO8601DateFormatter().date(from: text)
    }
}
