/// The services of Trellis, each its own executable in split mode, with the port it listens on by default.
public enum ServiceName: String, Sendable, CaseIterable {
    case identity
    case templates
    case pipelines
    case orchestrator
    case clusterGateway = "cluster-gateway"
    case metrics

    public var defaultPort: Int {
        switch self {
        case .identity: 8081
        case .templates: 8082
        case .pipelines: 8083
        case .orchestrator: 8084
        case .clusterGateway: 8085
        case .metrics: 8086
        }
    }

    /// The gateway's port.
    public static let gatewayPort = 8080

    /// The service that owns an API path (`/api/v1/...`), or nil when none does. The gateway routes by this in
    /// split mode; in embedded mode every service's routes share one router and this is not consulted.
    public static func owner(ofPath path: String) -> ServiceName? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        guard segments.count >= 3, segments[0] == "api", segments[1] == "v1" else { return nil }
        let rest = Array(segments.dropFirst(2))
        switch rest[0] {
        case "auth", "me", "users", "tokens", "project-deletions": return .identity
        case "templates": return .templates
        // How many pipelines use a template: the pipeline store counts them.
        case "template-usage": return .pipelines
        case "clusters": return .clusterGateway
        // A run by its id alone (the CLI's `trellis run logs RUN`).
        case "runs": return .orchestrator
        // The caller's alert notifications.
        case "notifications": return .orchestrator
        case "projects": return owner(ofProjectPath: Array(rest.dropFirst()))
        default: return nil
        }
    }

    /// `rest` is what follows `/api/v1/projects`.
    private static func owner(ofProjectPath rest: [Substring]) -> ServiceName? {
        guard rest.count >= 2 else { return .identity }  // the project list and one project
        switch rest[1] {
        case "members": return .identity
        case "templates", "images": return .templates
        case "pipelines":
            // Runs, their grid, single-task runs, the schedule, its records and backfills belong to the orchestrator; the resource
            // use of its tasks (and suggested requests) to the metrics collector.
            if rest.count == 4, rest[3] == "usage" { return .metrics }
            if rest.count >= 4, ["runs", "grid", "tasks", "schedule", "schedule-records", "backfill"].contains(rest[3]) {
                return .orchestrator
            }
            return .pipelines
        // A run's and an attempt's resource use are the metrics collector's.
        case "runs": return rest.last == "usage" && [4, 8].contains(rest.count) ? .metrics : .orchestrator
        case "clusters": return .clusterGateway
        case "metrics": return .metrics
        // Alerts' webhook deliveries; what the project's runs take.
        case "alerts", "storage": return .orchestrator
        default: return nil
        }
    }
}
