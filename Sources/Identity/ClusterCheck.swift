import Synchronization
import TrellisCore
import TrellisHTTP

/// Whether a cluster a project is bound to is registered and granted to it, asked of the cluster gateway. In embedded mode the identity
/// service is built before the gateway, which is bound to it afterwards (``bind(_:)``); with no gateway known, any
/// name is taken.
final class ClusterCheck: Sendable {
    private let executor: Mutex<(any ExecutorClient)?>

    init(_ executor: (any ExecutorClient)?) {
        self.executor = Mutex(executor)
    }

    func bind(_ executor: any ExecutorClient) {
        self.executor.withLock { $0 = executor }
    }

    /// Throws naming `settings.cluster` when no cluster has the name, or when its admins have not granted it to
    /// `project`.
    func requireGranted(_ name: String, to project: String) async throws {
        guard let executor = executor.withLock({ $0 }) else { return }
        guard let access = try await executor.cluster(named: name) else {
            throw ValidationError(field: "settings.cluster", "no cluster named \"\(name)\" is registered (GET /api/v1/clusters lists them)")
        }
        guard access.policy.grants(project) else {
            throw ValidationError(
                field: "settings.cluster",
                "cluster \(name) is not granted to project \(project): a platform admin can grant it (PUT /api/v1/clusters/\(name)/policy)")
        }
    }
}
