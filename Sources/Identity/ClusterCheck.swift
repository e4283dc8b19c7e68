import Synchronization
import TrellisCore
import TrellisHTTP

/// Whether a cluster a project is bound to is registered, asked of the cluster gateway. In embedded mode the identity
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

    /// Throws naming `settings.cluster` when no cluster has the name.
    func requireRegistered(_ name: String) async throws {
        guard name != "local", let executor = executor.withLock({ $0 }) else { return }
        guard try await executor.clusterKind(of: name) != nil else {
            throw ValidationError(field: "settings.cluster", "no cluster named \"\(name)\" is registered (GET /api/v1/clusters lists them)")
        }
    }
}
