/// A member's role in a project (cube-studio's dev/ops/creator). Each role can do what the ones below it can;
/// `ProjectAction` says what that is.
public enum ProjectRole: String, Codable, Sendable, CaseIterable, Comparable {
    /// Sees everything in the project.
    case viewer
    /// Also edits pipelines, runs them, manages schedules, templates and images.
    case developer
    /// Also publishes the project's templates, manages members and settings, deletes the project.
    case owner

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .developer: 1
        case .owner: 2
        }
    }

    public static func < (lhs: ProjectRole, rhs: ProjectRole) -> Bool { lhs.rank < rhs.rank }

    /// Parses a role named in a request, naming the field and the accepted values when it is not one.
    public static func parse(_ text: String, field: String = "role") throws(ValidationError) -> ProjectRole {
        guard let role = ProjectRole(rawValue: text) else {
            let accepted = allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationError(field: field, "must be one of \(accepted), got \"\(text)\"")
        }
        return role
    }
}
