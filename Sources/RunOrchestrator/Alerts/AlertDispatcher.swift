import Foundation
import Logging
import ServiceContracts
import ServiceLifecycle
import TrellisCore
import TrellisHTTP
import TrellisStore

/// Follows the alert outbox each second: records runs running longer than their rule allows, decides who hears of
/// each new event (the pipeline's rule over the project's defaults; users only while members of the project), and
/// sends due webhook deliveries, a failed try again after a doubling backoff, dead after `attempts` tries.
struct AlertDispatcher: Service {
    let repository: AlertRepository
    let pipelines: any PipelineClient
    let identity: any IdentityClient
    let sender: WebhookSender
    /// Tries of a delivery before it is dead.
    let attempts: Int
    /// The wait before the second try.
    let backoff: Duration
    let ready: Gate
    let logger: Logger
    let now: @Sendable () -> Date

    /// A claim holds this long: longer than a try can take (resolving, connecting, the answer's timeout).
    static let lease: Int64 = 30_000
    static let longestBackoff = Duration.seconds(600)

    /// Rules as the "running longer than" scan reads them, each at most 5 s old (it looks at every running run every
    /// 5 s); an event is decided, and a delivery sent, with the rules and webhooks as they are at that moment.
    private let scannedRules = ExpiringCache<[String], AlertRule>(ttl: .seconds(5))
    private let memberships = ExpiringCache<[String], Bool>(ttl: .seconds(30))

    func run() async throws {
        await cancelWhenGracefulShutdown {
            guard await ready.wait() else { return }
            var recordedLong: Set<String> = []
            var pass = 0
            while !Task.isCancelled {
                do {
                    if pass % 5 == 0 { try await recordRunningLong(skipping: &recordedLong) }
                    try await dispatchNew()
                    try await deliverDue()
                } catch {
                    logger.warning("alerts: a pass failed; trying again", metadata: ["error": .string("\(error)")])
                }
                pass += 1
                try? await Task.sleep(for: .seconds(1))
            }
        }
        try await sender.client.shutdown()
    }

    /// The rule for a pipeline's events: its `spec.alerts` over the project's defaults.
    func rule(project: String, pipeline: String) async throws -> AlertRule {
        let alerting = try await identity.alerting(ofProject: project)
        let own = try await pipelines.alerts(ofPipeline: pipeline, project: project)
        return (own?.alerts ?? AlertRule()).over(alerting?.alerts)
    }

    /// Runs past their rule's `runningLongerThan`, recorded once per run and round.
    func recordRunningLong(skipping recorded: inout Set<String>) async throws {
        let now = now().milliseconds
        var events: [AlertEvent] = []
        for run in try await repository.runningRuns() {
            let id = AlertEvent.runningLongID(run: run.id, startedAt: run.startedAt)
            guard !recorded.contains(id),
                let rule = try? await scannedRules.value(
                    for: [run.project, run.pipeline], fetch: { try await self.rule(project: run.project, pipeline: run.pipeline) }),
                let limit = rule.runningLongerThanMilliseconds, now - run.startedAt >= limit
            else { continue }
            events.append(
                AlertEvent(
                    id: id, kind: .runningLong, project: run.project, pipeline: run.pipeline, run: run.id, state: RunState.running.rawValue,
                    reason: "running for \(DurationText.format(milliseconds: (now - run.startedAt) / 1000 * 1000)) "
                        + "(runningLongerThan: \(rule.runningLongerThan ?? ""))",
                    occurredAt: .fromMilliseconds(now)))
        }
        try await repository.record(events)
        if recorded.count > 100_000 { recorded.removeAll() }
        recorded.formUnion(events.map(\.id))
    }

    /// Decides who hears of each new event, a batch after another until none is left (at most `batchesPerPass`): a
    /// burst of ten thousand scheduled runs ending does not hold a failure's alert back behind it for minutes. An event
    /// whose rule cannot be read now (a service away) stays claimed until its lease ends, then is tried again.
    func dispatchNew() async throws {
        for _ in 0..<Self.batchesPerPass {
            let now = now().milliseconds
            let claimed = try await repository.claimNew(now: now, until: now + Self.lease, limit: Self.batch)
            // Each pipeline's rule read once for the batch.
            var rules: [[String]: Result<AlertRule, any Error>] = [:]
            var dispatches: [AlertRepository.Dispatch] = []
            for event in claimed {
                do {
                    let key = [event.project, event.pipeline]
                    if rules[key] == nil {
                        do { rules[key] = .success(try await rule(project: event.project, pipeline: event.pipeline)) } catch {
                            rules[key] = .failure(error)
                        }
                    }
                    let rule = try rules[key]!.get()
                    guard rule.alerts(event.kind) else {
                        dispatches.append(.init(event: event, webhooks: [], users: []))
                        continue
                    }
                    var users: [String] = []
                    for user in Set(rule.users ?? []).sorted() where try await isMember(user, of: event.project) { users.append(user) }
                    dispatches.append(.init(event: event, webhooks: rule.webhooks ?? [], users: users))
                } catch {
                    logger.warning(
                        "alerts: cannot dispatch an event yet", metadata: ["event": .string(event.id), "error": .string("\(error)")])
                }
            }
            try await repository.dispatch(dispatches, now: now)
            if claimed.count < Self.batch { return }
        }
    }

    static let batch = 100
    static let batchesPerPass = 50

    /// Whether `user` is a member of `project` now: a notification tells of the project's runs.
    func isMember(_ user: String, of project: String) async throws -> Bool {
        try await memberships.value(for: [user, project]) {
            guard let caller = try await identity.actAs(user) else { return false }
            return try await identity.role(of: caller.user, inProject: project, token: caller.token) != nil
        }
    }

    /// Sends the due deliveries, at most 20 at once, each project's webhooks read once for the pass.
    func deliverDue() async throws {
        let now = now().milliseconds
        let due = try await repository.claimDue(now: now, until: now + Self.lease, limit: 20)
        var projects: [String: Result<ProjectAlerting?, any Error>] = [:]
        for project in Set(due.map(\.event.project)) {
            do { projects[project] = .success(try await identity.alerting(ofProject: project)) } catch {
                projects[project] = .failure(error)
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for delivery in due {
                let alerting = projects[delivery.event.project] ?? .success(nil)
                group.addTask { await deliver(delivery, alerting: alerting) }
            }
        }
    }

    /// One try of `due`, to its webhook as `alerting` (its project's, read for this pass) says.
    func deliver(_ due: AlertRepository.Due, alerting: Result<ProjectAlerting?, any Error>) async {
        var failure: String?
        do {
            guard let target = try alerting.get()?.webhooks[due.webhook] else {
                throw WebhookSender.Failure("project \(due.event.project) has no webhook \"\(due.webhook)\" (settings.webhooks)")
            }
            try await sender.send(due.event, to: target, webhook: due.webhook, now: now())
        } catch {
            failure = "\(error)"
        }
        let finished = now().milliseconds
        let tries = due.attempts + 1
        let retryAt = failure == nil || tries >= attempts ? nil : finished + Self.wait(after: tries, backoff: backoff).milliseconds
        if let failure {
            logger.notice(
                "alerts: a webhook try failed",
                metadata: [
                    "event": .string(due.event.id), "webhook": .string(due.webhook), "try": .stringConvertible(tries),
                    "error": .string(failure), "retry": .string(retryAt == nil ? "no: dead" : "yes"),
                ])
        }
        do {
            try await repository.finish(due, error: failure, retryAt: retryAt, now: finished)
        } catch {
            logger.warning("alerts: cannot record a try; its claim runs out", metadata: ["error": .string("\(error)")])
        }
    }

    /// The wait after the `tries`-th failed try: `backoff`, doubling, at most ten minutes.
    static func wait(after tries: Int, backoff: Duration) -> Duration {
        var wait = backoff
        for _ in 1..<max(tries, 1) where wait < longestBackoff { wait *= 2 }
        return min(wait, longestBackoff)
    }
}
