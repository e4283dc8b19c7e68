/// A project being deleted. Deleting a project hides it at once (no one is a member, its name is held) and asks
/// every service that keeps data of it to purge that data; each says when it has, and the identity service frees
/// the name once all have. A service that stops half-way is asked again after its restart, so each purge is
/// idempotent (docs/identity.md, "Deleting a project").
public struct ProjectDeletion: Codable, Sendable, Equatable {
    /// The project's id: a project later created under the same name is another one.
    public let projectID: String
    public let project: String

    public init(projectID: String, project: String) {
        self.projectID = projectID
        self.project = project
    }

    /// The services that keep data of a project, in the order they purge: the pipeline store first (no schedule is
    /// left to fire), then the orchestrator (runs stopped, their records and executions' files removed), and the
    /// cluster gateway last (the project's namespaces and task user, once no run can launch anything there). The
    /// template registry purges alongside; the metrics collector after the orchestrator (no attempt left to sample).
    public static let services: [ServiceName] = [.pipelines, .templates, .orchestrator, .clusterGateway, .metrics]

    /// The services that must have finished before `service` starts.
    public static func prerequisites(of service: ServiceName) -> [ServiceName] {
        switch service {
        case .orchestrator: [.pipelines]
        case .clusterGateway, .metrics: [.orchestrator]
        default: []
        }
    }
}

/// A purge that cannot finish yet (runs still stopping): asked again on the next pass, not an error.
public struct PurgeNotDone: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
