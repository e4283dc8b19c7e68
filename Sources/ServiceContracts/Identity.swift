import TrellisCore

/// Who made a request, from a verified token.
public struct AuthenticatedUser: Sendable, Equatable, Codable {
    public let id: String
    public let username: String
    public let isAdmin: Bool
    /// Set when the caller used a personal API token: what it may reach.
    public let scope: TokenScope?

    public init(id: String, username: String, isAdmin: Bool, scope: TokenScope? = nil) {
        self.id = id
        self.username = username
        self.isAdmin = isAdmin
        self.scope = scope
    }

    /// `role` as this caller may use it in `project`: unchanged for a login; with an API token nil outside its
    /// projects and at most its ceiling.
    public func limited(_ role: ProjectRole?, in project: String) -> ProjectRole? {
        guard let scope else { return role }
        guard scope.projects.map({ $0.contains(project) }) ?? true, let role else { return nil }
        return min(role, scope.ceiling)
    }
}

/// What a personal API token may do: act in `projects` (nil: every project of its user) with at most `ceiling`.
/// API tokens never act as a platform admin.
public struct TokenScope: Sendable, Equatable, Codable {
    public let projects: [String]?
    public let ceiling: ProjectRole

    public init(projects: [String]?, ceiling: ProjectRole) {
        self.projects = projects
        self.ceiling = ceiling
    }
}

/// Who asks another service, on whose behalf: the caller and their bearer token.
public struct Caller: Sendable {
    public let user: AuthenticatedUser
    public let token: String

    public init(user: AuthenticatedUser, token: String) {
        self.user = user
        self.token = token
    }
}
