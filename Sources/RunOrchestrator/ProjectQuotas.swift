import ServiceContracts
import TrellisCore
import TrellisHTTP

/// Projects' quotas as the engine applies them, from the identity service's project settings, each kept five
/// seconds (a changed quota holds within them).
struct ProjectQuotas: Sendable {
    struct Limits: Sendable, Equatable {
        var runs: Int?
        var tasks: Int?

        var any: Bool { runs != nil || tasks != nil }
    }

    let identity: any IdentityClient
    private let known = ExpiringCache<String, Limits>(ttl: .seconds(5))

    init(identity: any IdentityClient) {
        self.identity = identity
    }

    /// The project's limits; none when its settings cannot be read (a quota is not a reason to stop running).
    func limits(of project: String) async -> Limits {
        await known.value(for: project) { [identity] in
            let settings = try? await identity.settings(ofProject: project)
            return Limits(runs: settings?.maxConcurrentRuns, tasks: settings?.maxConcurrentTasks)
        }
    }
}
