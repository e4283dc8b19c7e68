/// What can be done in a project, each with the least role that may do it: the permission table of
/// docs/permissions.md, which the services enforce through `ProjectAccess` and the access-matrix test checks route by
/// route. Platform admins may do all of it in every project.
public enum ProjectAction: String, Sendable, CaseIterable {
    /// See the project, its members and settings, pipelines, runs, logs, schedules, templates and images; preview a
    /// pipeline's rendered commands.
    case read
    /// Save, lay out and delete pipelines (a pipeline's schedule is part of its file).
    case editPipelines
    /// Start runs and single tasks, cancel, resume, pin and unpin them.
    case runPipelines
    /// Pause and unpause schedules, backfill, retry and skip ticks.
    case manageSchedules
    /// Register templates and template versions in the project, save and delete its images.
    case manageTemplates
    /// Publish the project's templates to the marketplace, unpublish and deprecate them.
    case publishTemplates
    /// Add members, change their roles, remove them.
    case manageMembers
    /// Change the description and the settings: the cluster the project runs on, default env and mounts, quotas.
    case configure
    /// Delete the project with everything in it.
    case deleteProject

    public var minimumRole: ProjectRole {
        switch self {
        case .read: .viewer
        case .editPipelines, .runPipelines, .manageSchedules, .manageTemplates: .developer
        case .publishTemplates, .manageMembers, .configure, .deleteProject: .owner
        }
    }

    /// What a role may do: its actions and every lower role's.
    public static func allowed(to role: ProjectRole) -> [ProjectAction] {
        allCases.filter { $0.minimumRole <= role }
    }

    /// Why a member with `role` may not do this, for the 403 answer.
    public func refusal(in project: String, for role: ProjectRole) -> String {
        "\(gerund) in project \"\(project)\" needs the \(minimumRole.rawValue) role; you are a \(role.rawValue)"
    }

    private var gerund: String {
        switch self {
        case .read: "reading"
        case .editPipelines: "editing pipelines"
        case .runPipelines: "running pipelines"
        case .manageSchedules: "managing schedules"
        case .manageTemplates: "managing templates and images"
        case .publishTemplates: "publishing templates"
        case .manageMembers: "managing members"
        case .configure: "changing the project's settings"
        case .deleteProject: "deleting the project"
        }
    }
}
