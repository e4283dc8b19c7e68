import TrellisCore
import TrellisHTTP

/// Projects' quotas as the engine applies them, from the identity service's project settings, each kept a few
/// seconds (a changed quota holds within ``ttl``).
actor ProjectQuotas {
    struct Limits: Sendable, Equatable {
        var runs: Int?
        var tasks: Int?

        var any: Bool { runs != nil || tasks != nil }
    }

    let identity: any IdentityClient
    static let ttl = Duration.seconds(5)
    private var known: [String: (limits: Limits, at: ContinuousClock.Instant)] = [:]

    init(identity: any IdentityClient) {
        self.identity = identity
    }

    /// The project's limits; none when its settings cannot be read (a quota is not a reason to stop running).
    func limits(of project: String) async -> Limits {
        if let entry = known[project], ContinuousClock.now - entry.at < Self.ttl { return entry.limits }
        let settings = try? await identity.settings(ofProject: project)
        let limits = Limits(runs: settings?.maxConcurrentRuns, tasks: settings?.maxConcurrentTasks)
        known[project] = (limits, .now)
        return limits
    }
}
