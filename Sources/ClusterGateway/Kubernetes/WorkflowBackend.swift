import Foundation
import Logging
import NIOCore
import SQLKit
import ServiceContracts
import TrellisCore
import TrellisHTTP
import TrellisShim
import TrellisStore

/// Where a run's Workflow is: `cluster_gateway_workflows` (migrations/cluster-gateway).
struct WorkflowPlacement: Codable, Sendable, Equatable {
    var run: String
    var project: String
    var cluster: String
    var namespace: String
    var name: String
    var created_at: Int64
}

struct WorkflowRepository: Sendable {
    let database: Database

    /// Records where the run's Workflow goes, unless it is recorded already.
    func place(_ placement: WorkflowPlacement) async throws {
        try await database.transaction { sql in
            guard try await sql.select().column("run").from("cluster_gateway_workflows").where("run", .equal, placement.run).first() == nil
            else { return }
            try await sql.insert(into: "cluster_gateway_workflows").model(placement).run()
        }
    }

    func placement(ofRun run: String) async throws -> WorkflowPlacement? {
        try await database.read { sql in
            try await sql.select().columns("*").from("cluster_gateway_workflows").where("run", .equal, run)
                .first(decoding: WorkflowPlacement.self)
        }
    }

    func deleteAll(ofProject project: String) async throws {
        try await database.read { sql in try await sql.delete(from: "cluster_gateway_workflows").where("project", .equal, project).run() }
    }

    /// Every (cluster, namespace) that has Workflows (watched from the start), or those of one project's.
    func places(ofProject project: String? = nil) async throws -> [(cluster: String, namespace: String)] {
        try await database.read { sql in
            var query = sql.select().distinct().columns("cluster", "namespace").from("cluster_gateway_workflows")
            if let project { query = query.where("project", .equal, project) }
            return try await query.all().map {
                (try $0.decode(column: "cluster", as: String.self), try $0.decode(column: "namespace", as: String.self))
            }
        }
    }
}

/// Runs on Kubernetes clusters through Argo Workflows: each run's Workflow is created in its project's namespace,
/// followed by one watch per namespace (every change is announced on the ``ChangeFeed`` for the orchestrator), read
/// back as ``WorkflowProgress``, shut down, retried the way `argo retry` does; its pods' logs are streamed while they
/// run and kept (``PodLogArchive``) once each attempt ended, so they outlive the pods.
actor WorkflowBackend {
    let workflows: WorkflowRepository
    let clusters: ClusterRepository
    let secrets: SecretBox
    let feed: ChangeFeed
    let archive: PodLogArchive
    let logger: Logger
    /// Attempts whose logs are to be kept or being kept now (at most ``keepingAtOnce`` at once, the others waiting in
    /// order), and ended attempts none of whose pods has a log to keep.
    private var archiving: Set<String> = []
    private var waitingToKeep: [String] = []
    private var keepingNow = 0
    private var nothingToKeep: Set<String> = []
    /// One client per cluster (by name and registration instant: a cluster registered again gets a new one).
    private var clients: [String: (registered: Date, client: KubernetesClient)] = [:]
    /// The watch of each `cluster/namespace`.
    private var watches: [String: Task<Void, Never>] = [:]
    /// Where runs' Workflows are (a placement never changes), so that following one reads no table.
    private var placements: [String: WorkflowPlacement] = [:]

    init(
        workflows: WorkflowRepository, clusters: ClusterRepository, secrets: SecretBox, feed: ChangeFeed, archive: PodLogArchive,
        logger: Logger
    ) {
        self.workflows = workflows
        self.clusters = clusters
        self.secrets = secrets
        self.feed = feed
        self.archive = archive
        self.logger = logger
    }

    func access(to cluster: String) async throws -> ClusterAccess? {
        if cluster == ClusterView.local.name {
            return ClusterAccess(kind: .local, policy: try await clusters.policy(of: cluster) ?? .localDefault)
        }
        guard let record = try await clusters.cluster(named: cluster), let kind = ClusterKind(rawValue: record.view.kind) else {
            return nil
        }
        return ClusterAccess(kind: kind, policy: record.policy)
    }

    // MARK: Workflows

    /// Creates the Workflow (and its namespace) unless it exists: the Workflow's name is the run's, so a second
    /// submission — after a restart of either side — finds it and creates nothing.
    func submit(_ submission: WorkflowSubmission) async throws {
        guard let namespace = submission.workflow["metadata"]?["namespace"]?.string,
            let name = submission.workflow["metadata"]?["name"]?.string
        else { throw APIError.invalidField("workflow.metadata", "a Workflow needs a name and a namespace") }
        let client = try await client(for: submission.cluster)
        try await workflows.place(
            WorkflowPlacement(
                run: submission.run, project: submission.project, cluster: submission.cluster, namespace: namespace, name: name,
                created_at: Date().milliseconds))
        follow(cluster: submission.cluster, namespace: namespace)
        // Labelled with the cluster's Pod Security level, which the cluster's admission then enforces on every pod.
        let policy = try await clusters.cluster(named: submission.cluster)?.policy ?? .kubernetesDefault
        try await client.ensureNamespace(namespace, labels: policy.namespaceLabels)
        if !submission.registries.isEmpty { try await savePullSecret(submission.registries, namespace: namespace, client: client) }
        if !submission.secretEnvironment.isEmpty {
            try await saveSecretEnvironment(submission.secretEnvironment, namespace: namespace, client: client)
        }
        let created: JSONValue
        do {
            created = try await client.create(.workflows, namespace: namespace, submission.workflow)
            logger.info("workflow created", metadata: ["run": .string(submission.run), "cluster": .string(submission.cluster)])
        } catch let error as KubernetesError where error.reason == "AlreadyExists" {
            guard let existing = try await client.get(.workflows, namespace: namespace, name: name) else { throw error }
            created = existing
        }
        try await createReplicaServices(of: created, namespace: namespace, client: client)
    }

    /// The headless Services of the Workflow's replicated tasks (``ReplicaService``), owned by the Workflow so that
    /// they go with it; those that exist already are left.
    func createReplicaServices(of workflow: JSONValue, namespace: String, client: KubernetesClient) async throws {
        let services = ReplicaService.services(of: workflow)
        guard !services.isEmpty, let name = workflow["metadata"]?["name"]?.string, let uid = workflow["metadata"]?["uid"]?.string else {
            return
        }
        let owner: JSONValue = .array([
            .object([
                "apiVersion": .string("argoproj.io/v1alpha1"), "kind": .string("Workflow"), "name": .string(name), "uid": .string(uid),
            ])
        ])
        for case .object(var service) in services {
            if case .object(var metadata)? = service["metadata"] {
                metadata["ownerReferences"] = owner
                service["metadata"] = .object(metadata)
            }
            do {
                _ = try await client.create(.services, namespace: namespace, .object(service))
            } catch let error as KubernetesError where error.reason == "AlreadyExists" {
                continue
            }
        }
    }

    /// The values of the project's secret env entries as the Secret its pods read them from, created or brought up
    /// to date (a value the project no longer has is removed from it).
    func saveSecretEnvironment(_ values: [String: String], namespace: String, client: KubernetesClient) async throws {
        let name = ArgoWorkflow.secretEnvironment
        var data = values.mapValues { JSONValue.string(Data($0.utf8).base64EncodedString()) }
        if let existing = try await client.get(.secrets, namespace: namespace, name: name) {
            if case .object(let stored)? = existing["data"] {
                for key in stored.keys where values[key] == nil { data[key] = .null }
            }
            _ = try await client.patch(.secrets, namespace: namespace, name: name, merge: .object(["data": .object(data)]))
            return
        }
        let secret: JSONValue = .object(["metadata": .object(["name": .string(name)]), "type": .string("Opaque"), "data": .object(data)])
        _ = try await client.create(.secrets, namespace: namespace, secret)
    }

    /// The project's registry logins as a `kubernetes.io/dockerconfigjson` Secret, created or brought up to date.
    func savePullSecret(_ registries: [RegistryCredential], namespace: String, client: KubernetesClient) async throws {
        var auths: [String: JSONValue] = [:]
        for login in registries {
            auths[login.registry] = .object([
                "username": .string(login.username), "password": .string(login.password),
                "auth": .string(Data("\(login.username):\(login.password)".utf8).base64EncodedString()),
            ])
        }
        let data: JSONValue = .object([
            ".dockerconfigjson": .string(Data(JSONValue.object(["auths": .object(auths)]).jsonText.utf8).base64EncodedString())
        ])
        let secret: JSONValue = .object([
            "metadata": .object(["name": .string(WorkflowSubmission.pullSecret)]),
            "type": .string("kubernetes.io/dockerconfigjson"), "data": data,
        ])
        do {
            _ = try await client.create(.secrets, namespace: namespace, secret)
        } catch let error as KubernetesError where error.reason == "AlreadyExists" {
            _ = try await client.patch(.secrets, namespace: namespace, name: WorkflowSubmission.pullSecret, merge: .object(["data": data]))
        }
    }

    /// Where the run's Workflow is, remembered.
    func placement(ofRun run: String) async throws -> WorkflowPlacement? {
        if let known = placements[run] { return known }
        guard let found = try await workflows.placement(ofRun: run) else { return nil }
        if placements.count >= 10_000 { placements.removeAll() }
        placements[run] = found
        return found
    }

    /// The run's Workflow as the cluster has it now.
    func object(ofRun run: String) async throws -> (placement: WorkflowPlacement, client: KubernetesClient, workflow: JSONValue)? {
        guard let placement = try await placement(ofRun: run) else { return nil }
        let client = try await client(for: placement.cluster)
        guard let workflow = try await client.get(.workflows, namespace: placement.namespace, name: placement.name) else { return nil }
        return (placement, client, workflow)
    }

    func progress(ofRun run: String) async throws -> WorkflowProgress? {
        try await object(ofRun: run).map { ArgoStatus.progress(of: $0.workflow) }
    }

    /// Argo's stop: its controller stops the running pods and fails the Workflow; the run ends cancelled.
    /// A training job its step created is not Argo's to stop: it is deleted, its log kept first as far as it got.
    func stop(run: String) async throws {
        guard let found = try await object(ofRun: run) else { throw APIError.notFound("no Workflow of run \(run)") }
        _ = try await found.client.patch(
            .workflows, namespace: found.placement.namespace, name: found.placement.name,
            merge: .object(["spec": .object(["shutdown": .string("Stop")])]))
        for attempt in ArgoStatus.progress(of: found.workflow).attempts where !attempt.state.isFinished {
            guard let framework = attempt.framework, let id = attempt.nodes.first else { continue }
            do {
                try await keepLogOnce(of: id)
            } catch {
                logger.warning("cannot keep a stopped job's log", metadata: ["execution": .string(id), "error": .string("\(error)")])
            }
            try await deleteJobs(
                of: framework, selector: TrainingJob.selector(run: run, task: attempt.task, attempt: attempt.number),
                placement: found.placement, client: found.client)
        }
    }

    /// `argo retry`, on the Workflow object: failed nodes and their pods removed, succeeded ones kept — but those of
    /// the `restarting` tasks. False when the cluster has no Workflow of the run.
    func retry(run: String, restarting tasks: Set<String>) async throws -> Bool {
        guard let found = try await object(ofRun: run) else { return false }
        guard let retry = ArgoStatus.retry(found.workflow, restarting: tasks) else {
            throw APIError.conflict("the Workflow of run \(run) has not ended, or has nothing to run again")
        }
        let pods = try await podNames(of: found.placement, client: found.client)
        _ = try await found.client.patch(.workflows, namespace: found.placement.namespace, name: found.placement.name, merge: retry.patch)
        for node in retry.podNodes {
            try await found.client.delete(.pods, namespace: found.placement.namespace, name: pods[node] ?? node)
        }
        // The jobs of training tasks that run again go, with their pods: the new attempts' labels find only theirs.
        var jobs: [String: TrainingFramework] = [:]
        for attempt in ArgoStatus.progress(of: found.workflow).attempts where retry.podNodes.contains(attempt.nodes.first ?? "") {
            jobs[attempt.task] = attempt.framework
        }
        for (task, framework) in jobs {
            try await deleteJobs(
                of: framework, selector: TrainingJob.selector(run: run, task: task), placement: found.placement, client: found.client)
        }
        logger.info("workflow retried", metadata: ["run": .string(run), "pods": .stringConvertible(retry.podNodes.count)])
        return true
    }

    /// Deletes a training task's jobs and their pods (the operator's owner references would take the pods with the job,
    /// but only where a garbage collector runs).
    func deleteJobs(of framework: TrainingFramework, selector: String, placement: WorkflowPlacement, client: KubernetesClient) async throws
    {
        for resource in [KubernetesResource.jobs(of: framework), .pods] {
            for item in try await client.list(resource, namespace: placement.namespace, labelSelector: selector).items {
                guard let name = item["metadata"]?["name"]?.string else { continue }
                _ = try await client.delete(resource, namespace: placement.namespace, name: name)
            }
        }
    }

    /// The Workflow's pods by Argo node id (Argo writes the node id on each pod it creates).
    func podNames(of placement: WorkflowPlacement, client: KubernetesClient) async throws -> [String: String] {
        let pods = try await client.list(
            .pods, namespace: placement.namespace, labelSelector: "workflows.argoproj.io/workflow=\(placement.name)")
        var names: [String: String] = [:]
        for pod in pods.items {
            guard let name = pod["metadata"]?["name"]?.string else { continue }
            names[pod["metadata"]?["annotations"]?["workflows.argoproj.io/node-id"]?.string ?? name] = name
        }
        return names
    }

    // MARK: Attempts

    /// A Kubernetes attempt: its execution id is its first pod's Argo node id, `trellis-{run}-…`.
    struct Attempt {
        let placement: WorkflowPlacement
        let client: KubernetesClient
        let progress: WorkflowProgress.Attempt
        /// Its pods' names, by replica.
        let pods: [String]
        /// The container of each pod whose log is the attempt's.
        let container: String
    }

    func attempt(ofExecution id: String) async throws -> Attempt? {
        let prefix = ArgoWorkflow.name(ofRun: "")
        let run = String(id.dropFirst(prefix.count).prefix(36))
        guard id.hasPrefix(prefix), let found = try await object(ofRun: run),
            let attempt = ArgoStatus.progress(of: found.workflow).attempts.first(where: { $0.nodes.first == id })
        else { return nil }
        if let framework = attempt.framework {
            let pods = try await replicaPods(
                of: framework, selector: TrainingJob.selector(run: run, task: attempt.task, attempt: attempt.number),
                placement: found.placement, client: found.client)
            return Attempt(placement: found.placement, client: found.client, progress: attempt, pods: pods, container: framework.container)
        }
        let names = try await podNames(of: found.placement, client: found.client)
        return Attempt(
            placement: found.placement, client: found.client, progress: attempt, pods: attempt.nodes.map { names[$0] ?? $0 },
            container: "main")
    }

    /// The pods of a training job's attempt in rank order: by role as the framework orders them, then by the
    /// operator's replica index. None while the operator has made none; pods being deleted (a job's that ran before,
    /// or stopped) are not the attempt's.
    func replicaPods(of framework: TrainingFramework, selector: String, placement: WorkflowPlacement, client: KubernetesClient)
        async throws -> [String]
    {
        let roles = framework.podRoles.map { $0.lowercased() }
        let pods = try await client.list(.pods, namespace: placement.namespace, labelSelector: selector).items.compactMap {
            pod -> (role: Int, index: Int, name: String)? in
            guard let name = pod["metadata"]?["name"]?.string, pod["metadata"]?["deletionTimestamp"] == nil else { return nil }
            let labels = pod["metadata"]?["labels"]
            return (
                roles.firstIndex(of: labels?[TrainingJob.roleLabel]?.string ?? "") ?? roles.count,
                Int(labels?["training.kubeflow.org/replica-index"]?.string ?? "") ?? 0, name
            )
        }
        return pods.sorted { ($0.role, $0.index, $0.name) < ($1.role, $1.index, $1.name) }.map(\.name)
    }

    /// How a Kubernetes attempt is doing, with its pods' phase, node, conditions and events.
    func status(ofExecution id: String) async throws -> ExecutionStatus {
        guard let attempt = try await attempt(ofExecution: id) else { return ExecutionStatus(id: id, phase: .unknown) }
        var pods: [PodStatus] = []
        for name in attempt.pods { pods.append(try await podStatus(name, of: attempt)) }
        let phase: ExecutionStatus.Phase =
            switch attempt.progress.state {
            case .succeeded: .succeeded
            case .failed, .upstreamFailed: .failed
            case .timedOut: .timedOut
            case .cancelled, .skipped: .cancelled
            case .pending, .running: .running
            }
        var status = ExecutionStatus(
            id: id, phase: phase, exitCode: attempt.progress.exitCode, reason: attempt.progress.message,
            startedAt: attempt.progress.startedAt, finishedAt: attempt.progress.finishedAt,
            replicas: attempt.pods.indices.map { ExecutionStatus.Replica(rank: $0, pid: nil) }, pods: pods)
        status.storedBytes = archive.bytes(of: id)
        return status
    }

    /// A Kubernetes attempt's samples after `after` (the instant of the last one, in milliseconds), from its cluster's
    /// Prometheus: finished once the attempt ended and Prometheus has had time to scrape its pods' last moments.
    func samples(ofExecution id: String, after: Int64, prometheus client: (String) -> PrometheusClient, now: Date) async throws
        -> SampleBatch
    {
        guard let attempt = try await attempt(ofExecution: id) else { return SampleBatch(samples: [], next: after, finished: true) }
        let ended = attempt.progress.state.isFinished
        let settled = ended && now.timeIntervalSince(attempt.progress.finishedAt ?? now) > PodUsage.step * 3
        guard let base = try await clusters.cluster(named: attempt.placement.cluster)?.view.prometheus else {
            return SampleBatch(samples: [], next: after, finished: ended)
        }
        let prometheus = client(base)
        let window = PodUsage.window(
            after: after, startedAt: attempt.progress.startedAt, finishedAt: ended ? attempt.progress.finishedAt : nil, now: now)
        guard window.end > window.start else { return SampleBatch(samples: [], next: after, finished: settled) }
        let queries = PodUsage.queries(namespace: attempt.placement.namespace, pods: attempt.pods)
        func range(_ query: String) async throws -> [String: [(at: Double, value: Double)]] {
            try await prometheus.range(query, start: window.start, end: window.end, step: window.step)
        }
        let samples: [ResourceSample]
        do {
            samples = PodUsage.samples(
                pods: attempt.pods, cpu: try await range(queries.cpu), memory: try await range(queries.memory),
                gpu: try await range(queries.gpu), gpuMemory: try await range(queries.gpuMemory))
        } catch {
            logger.warning("cannot read pods' resource use", metadata: ["execution": .string(id), "error": .string("\(error)")])
            // Given up on an hour after the attempt's end: it has no more samples to wait for.
            let abandoned = ended && now.timeIntervalSince(attempt.progress.finishedAt ?? now) > 3600
            return SampleBatch(samples: [], next: after, finished: abandoned)
        }
        // Points come a scrape late: an empty window is passed over only once it lies a minute back.
        let last = samples.map { $0.at.milliseconds }.max()
        let next = last ?? (window.end < now.timeIntervalSince1970 - 60 ? Int64(window.end * 1000) : after)
        return SampleBatch(samples: samples, next: max(next, after), finished: settled && last == nil)
    }

    func podStatus(_ name: String, of attempt: Attempt) async throws -> PodStatus {
        let namespace = attempt.placement.namespace
        guard let pod = try await attempt.client.get(.pods, namespace: namespace, name: name) else { return .gone(name) }
        let events = try await attempt.client.list(
            .events, namespace: namespace, fieldSelector: "involvedObject.kind=Pod,involvedObject.name=\(name)")
        return PodStatus(pod: pod, events: events.items)
    }

    // MARK: Logs

    /// An attempt's kept log at most this big, shared by its replicas (the API server's `limitBytes` for each pod):
    /// what one copy holds in memory.
    static let keptLogBytes = 64 << 20
    /// Attempts whose logs are copied at once (a Workflow of a thousand tasks that ends asks for a thousand).
    static let keepingAtOnce = 4

    /// The log of an attempt: one replica's, or every replica's interleaved by time, each line stamped and prefixed as
    /// local runs' are, the project's secret env values masked (``logMask(namespace:client:)``). Once the attempt ended
    /// its kept copy is read; before, its pods' (a followed log as each replica writes it, none holding back the
    /// others). Nil when no Workflow has the attempt and nothing of it is kept; a pod that is gone or not on a node yet
    /// is said so.
    func logs(ofExecution id: String, replica: Int?, follow: Bool) async throws -> LogStream? {
        if let kept = archive.logs(of: id, replica: replica) { return kept }
        guard let attempt = try await attempt(ofExecution: id) else { return nil }
        if let framework = attempt.progress.framework, attempt.pods.isEmpty {
            throw APIError.failedPrecondition("the \(framework.kind) of this attempt has no pods yet; it has no log yet")
        }
        let ranks = replica.map { [$0] } ?? Array(attempt.pods.indices)
        guard ranks.allSatisfy(attempt.pods.indices.contains) else { return nil }
        for rank in ranks {
            let pod = try await podStatus(attempt.pods[rank], of: attempt)
            if pod.phase == "Gone" {
                throw APIError.notFound("pod \(pod.name) is gone (a Workflow's pods are kept \(ArgoWorkflow.keptSeconds / 86_400) days)")
            }
            guard pod.node != nil else {
                let why = pod.events.last.map { ": \($0.reason) \($0.message)" } ?? ""
                throw APIError.failedPrecondition("pod \(pod.name) is not on a node yet (\(pod.phase)\(why)); it has no log yet")
            }
        }
        let client = attempt.client
        let namespace = attempt.placement.namespace
        let pods = attempt.pods
        let container = attempt.container
        let replicas = replica == nil ? pods.count : 1
        let mask = try await Self.logMask(namespace: namespace, client: client)
        return LogStream { continuation in
            let task = Task {
                do {
                    if follow {
                        // As each replica writes: every stream read at once.
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            for rank in ranks {
                                group.addTask {
                                    var previous: Int64 = 0
                                    for try await text in client.logs(
                                        pod: pods[rank], namespace: namespace, container: container, follow: true, timestamps: true)
                                    {
                                        var line = PodLogLine(kubernetes: text, previous: previous)
                                        previous = line.milliseconds
                                        line.text = mask.apply(line.text)
                                        continuation.yield(
                                            ByteBuffer(string: line.written(prefix: PodLogLine.prefix(rank: rank, of: replicas))))
                                    }
                                }
                            }
                            try await group.waitForAll()
                        }
                    } else {
                        var lines: [[PodLogLine]] = []
                        for rank in ranks {
                            lines.append(
                                try await Self.lines(
                                    of: pods[rank], container: container, namespace: namespace, client: client,
                                    limitBytes: Self.keptLogBytes / ranks.count, mask: mask))
                        }
                        for (position, line) in PodLogLine.interleave(lines) {
                            continuation.yield(
                                ByteBuffer(string: line.written(prefix: PodLogLine.prefix(rank: ranks[position], of: replicas))))
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// A pod's whole log, stamped, up to `limitBytes`, masked.
    static func lines(
        of pod: String, container: String, namespace: String, client: KubernetesClient, limitBytes: Int, mask: LogMask
    ) async throws -> [PodLogLine] {
        var lines: [PodLogLine] = []
        var previous: Int64 = 0
        for try await text in client.logs(pod: pod, namespace: namespace, container: container, timestamps: true, limitBytes: limitBytes) {
            var line = PodLogLine(kubernetes: text, previous: previous)
            previous = line.milliseconds
            line.text = mask.apply(line.text)
            lines.append(line)
        }
        return lines
    }

    /// What pods' logs in `namespace` must not show: the values of the project's secret env entries, read from the
    /// Secret its pods read them from (``saveSecretEnvironment(_:namespace:client:)``), so a value is masked as long as
    /// the project has it. A log is not read when the Secret cannot be.
    static func logMask(namespace: String, client: KubernetesClient) async throws -> LogMask {
        guard case .object(let data)? = try await client.get(.secrets, namespace: namespace, name: ArgoWorkflow.secretEnvironment)?["data"]
        else { return LogMask([]) }
        return LogMask(data.values.compactMap { $0.string.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) } })
    }

    /// Keeps the logs of the Workflow's attempts that ended and are not kept yet, in order, a few at once.
    func keepLogs(of workflow: JSONValue) {
        for attempt in ArgoStatus.progress(of: workflow).attempts where attempt.state.isFinished {
            guard let id = attempt.nodes.first, !archiving.contains(id), !nothingToKeep.contains(id), !archive.isComplete(id) else {
                continue
            }
            archiving.insert(id)
            waitingToKeep.append(id)
        }
        keepWaiting()
    }

    /// Starts copying waiting attempts' logs while fewer than ``keepingAtOnce`` are being copied.
    private func keepWaiting() {
        while keepingNow < Self.keepingAtOnce, !waitingToKeep.isEmpty {
            let id = waitingToKeep.removeFirst()
            keepingNow += 1
            Task {
                await self.keepLog(of: id)
                self.kept(id)
            }
        }
    }

    private func kept(_ id: String) {
        archiving.remove(id)
        keepingNow -= 1
        keepWaiting()
    }

    /// Copies the ended attempt's pods' logs into the archive, trying again a few times when the cluster cannot be
    /// read.
    private func keepLog(of id: String) async {
        for trial in 1...Self.keepTrials {
            do {
                try await keepLogOnce(of: id)
                return
            } catch {
                logger.warning(
                    "cannot keep an attempt's pod logs yet",
                    metadata: ["execution": .string(id), "trial": .stringConvertible(trial), "error": .string("\(error)")])
                try? await Task.sleep(for: .seconds(min(60, 1 << trial)))
            }
        }
    }

    /// Copies the attempt's pods' logs into the archive. A pod that never reached a node has no log, and one already
    /// gone leaves a line saying so; when no pod has a log nothing is kept, and reading the log says why as before
    /// (not on a node, gone).
    private func keepLogOnce(of id: String) async throws {
        guard let attempt = try await attempt(ofExecution: id) else { return }
        let mask = try await Self.logMask(namespace: attempt.placement.namespace, client: attempt.client)
        var replicas: [[PodLogLine]] = []
        var logged = false
        for name in attempt.pods {
            let pod = try await podStatus(name, of: attempt)
            if pod.phase == "Gone" {
                let at = attempt.progress.finishedAt.map { Int64($0.timeIntervalSince1970 * 1000) } ?? 0
                replicas.append([PodLogLine(milliseconds: at, text: "(pod \(name) was gone before its log was kept)")])
            } else if pod.node == nil {
                replicas.append([])
            } else {
                replicas.append(
                    try await Self.lines(
                        of: name, container: attempt.container, namespace: attempt.placement.namespace, client: attempt.client,
                        limitBytes: Self.keptLogBytes / attempt.pods.count, mask: mask))
                logged = true
            }
        }
        guard logged else {
            if nothingToKeep.count >= 10_000 { nothingToKeep.removeAll() }
            nothingToKeep.insert(id)
            return
        }
        try archive.store(id, replicas: replicas)
        logger.info("pod logs kept", metadata: ["execution": .string(id), "pods": .stringConvertible(attempt.pods.count)])
    }

    static let keepTrials = 8

    /// Removes an attempt's kept logs (its run was deleted).
    func discardLogs(of id: String) throws {
        try archive.discard(id)
    }

    // MARK: A deleted project

    /// Deletes a deleted project's namespace on each cluster it ran on — its Workflows, pods and registry pull
    /// secret go with it — stops watching there, and forgets the placements. A cluster removed meanwhile has
    /// nothing of it left to reach.
    func purge(project: String) async throws {
        for place in try await workflows.places(ofProject: project) {
            let key = "\(place.cluster)/\(place.namespace)"
            watches[key]?.cancel()
            watches[key] = nil
            guard let record = try await clusters.cluster(named: place.cluster) else { continue }
            let deleted = try await client(for: place.cluster, record: record).delete(.namespaces, namespace: nil, name: place.namespace)
            logger.notice(
                "namespace of a deleted project deleted",
                metadata: ["cluster": .string(place.cluster), "namespace": .string(place.namespace), "found": .stringConvertible(deleted)])
        }
        try await workflows.deleteAll(ofProject: project)
    }

    // MARK: Watching

    /// Watches the namespace's Workflows from now on (once per namespace): every change of a run's Workflow is
    /// announced. A watch that ends or fails lists again (announcing every run there) and watches on.
    func follow(cluster: String, namespace: String) {
        let key = "\(cluster)/\(namespace)"
        guard watches[key] == nil else { return }
        watches[key] = Task { await self.watch(cluster: cluster, namespace: namespace) }
    }

    /// Watches every namespace that has Workflows.
    func followAll() async throws {
        for place in try await workflows.places() { follow(cluster: place.cluster, namespace: place.namespace) }
    }

    private func watch(cluster: String, namespace: String) async {
        let selector = "trellis/run"
        while !Task.isCancelled {
            do {
                guard let record = try await clusters.cluster(named: cluster) else {
                    // Removed: its runs can no longer be followed (a cluster registered again is watched on submission).
                    logger.notice(
                        "no longer watching Workflows", metadata: ["cluster": .string(cluster), "reason": "the cluster was removed"])
                    watches["\(cluster)/\(namespace)"] = nil
                    return
                }
                let client = try client(for: cluster, record: record)
                let listed = try await client.list(.workflows, namespace: namespace, labelSelector: selector)
                for workflow in listed.items { await announce(workflow) }
                for try await event in client.watch(
                    .workflows, namespace: namespace, resourceVersion: listed.resourceVersion, labelSelector: selector)
                {
                    // ERROR: the version is too old to watch from (410 Gone); list again.
                    if event.type == "ERROR" { break }
                    await announce(event.object)
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning(
                    "cannot watch Workflows; trying again",
                    metadata: ["cluster": .string(cluster), "namespace": .string(namespace), "error": .string("\(error)")])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func announce(_ workflow: JSONValue) async {
        if let run = workflow["metadata"]?["labels"]?["trellis/run"]?.string { await feed.record(run: run) }
        keepLogs(of: workflow)
    }

    func shutdown() async {
        for watch in watches.values { watch.cancel() }
        watches.removeAll()
        for entry in clients.values { try? await entry.client.shutdown() }
        clients.removeAll()
    }

    // MARK: Clients

    private func client(for cluster: String) async throws -> KubernetesClient {
        try client(for: cluster, record: try await clusters.cluster(named: cluster))
    }

    private func client(for cluster: String, record: ClusterRecord?) throws -> KubernetesClient {
        guard let record else { throw APIError.notFound("no cluster named \"\(cluster)\"") }
        guard let kubernetes = try record.kubernetes(secrets: secrets) else {
            throw APIError.badRequest("cluster \"\(cluster)\" runs tasks as local processes, not Workflows")
        }
        if let known = clients[cluster], known.registered == record.view.createdAt { return known.client }
        let client = try KubernetesClient(cluster: kubernetes)
        if let replaced = clients[cluster]?.client { Task { try? await replaced.shutdown() } }
        clients[cluster] = (record.view.createdAt, client)
        return client
    }
}
