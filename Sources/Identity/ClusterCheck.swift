import ServiceContracts
import TrellisCore
import TrellisHTTP

/// Whether a cluster a project is bound to is registered and granted to it, asked of the cluster gateway; with no
/// gateway known (in embedded mode, before it is bound), any name is taken.
struct ClusterCheck: Sendable {
    let directory: ClusterDirectory

    /// Throws naming `settings.cluster` when no cluster has the name, or when its admins have not granted it to
    /// `project`.
    func requireGranted(_ name: String, to project: String) async throws {
        guard let executor = directory.gateway else { return }
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
