/// What a run or a schedule tick ends in that can alert (cube-studio's pipeline `alert_status`).
public enum AlertTrigger: String, Codable, Sendable, CaseIterable {
    case succeeded, failed, cancelled
    /// The run failed because it or one of its tasks ran out of time.
    case timedOut = "timed_out"
    /// A schedule tick expired unlaunched (`expiredLimit`).
    case tickExpired = "tick_expired"
    /// A schedule tick's run could not be created.
    case tickFailed = "tick_failed"
}

/// Who hears of what: `spec.alerts` of a pipeline, and a project's defaults (`settings.alerts`). A pipeline's field
/// left out takes the project's.
public struct AlertRule: Codable, Sendable, Equatable {
    /// The ends that alert.
    public var on: [AlertTrigger]?
    /// Alert once when a run has been running this long (`2h`, `30m`).
    public var runningLongerThan: String?
    /// Project members who get the alert in the portal's notifications.
    public var users: [String]?
    /// Names of the project's webhooks (``Webhook``) that are called.
    public var webhooks: [String]?

    public init(on: [AlertTrigger]? = nil, runningLongerThan: String? = nil, users: [String]? = nil, webhooks: [String]? = nil) {
        self.on = on
        self.runningLongerThan = runningLongerThan
        self.users = users
        self.webhooks = webhooks
    }

    /// This rule with each field it leaves out taken from `defaults`.
    public func over(_ defaults: AlertRule?) -> AlertRule {
        AlertRule(
            on: on ?? defaults?.on, runningLongerThan: runningLongerThan ?? defaults?.runningLongerThan, users: users ?? defaults?.users,
            webhooks: webhooks ?? defaults?.webhooks)
    }

    /// Whether an event of `kind` alerts under this rule.
    public func alerts(_ kind: AlertEvent.Kind) -> Bool {
        switch kind {
        case .runningLong: runningLongerThanMilliseconds != nil
        case .ended(let trigger):
            // A run that timed out also failed: a rule on `failed` hears of it.
            on?.contains(trigger) == true || (trigger == .timedOut && on?.contains(.failed) == true)
        }
    }

    /// Nil when absent or not a duration (validation says so at save).
    public var runningLongerThanMilliseconds: Int64? {
        guard let runningLongerThan, let duration = try? DurationText.parse(runningLongerThan, field: "") else { return nil }
        return duration.milliseconds
    }

    /// Every problem, naming its field under `field` (`spec.alerts`, `settings.alerts`); `webhooks` are the names the
    /// project defines, when known.
    public func problems(at field: String, webhooks known: Set<String>?) -> [ValidationError] {
        var problems: [ValidationError] = []
        if let runningLongerThan {
            problems.record { () throws(ValidationError) in
                let duration = try DurationText.parse(runningLongerThan, field: "\(field).runningLongerThan")
                if duration < .seconds(1) { throw ValidationError(field: "\(field).runningLongerThan", "must be at least 1s") }
            }
        }
        if let on, Set(on).count != on.count { problems.append(ValidationError(field: "\(field).on", "names a state twice")) }
        let users = users ?? []
        if users.count > 100 { problems.append(ValidationError(field: "\(field).users", "at most 100 users")) }
        for (index, user) in users.enumerated() {
            problems.record { () throws(ValidationError) in try Names.validateUsername(user, field: "\(field).users[\(index)]") }
        }
        let webhooks = webhooks ?? []
        if webhooks.count > 20 { problems.append(ValidationError(field: "\(field).webhooks", "at most 20 webhooks")) }
        for (index, name) in webhooks.enumerated() {
            if let known, !known.contains(name) {
                problems.append(
                    ValidationError(field: "\(field).webhooks[\(index)]", "the project has no webhook \"\(name)\" (settings.webhooks)"))
            }
        }
        return problems
    }
}
