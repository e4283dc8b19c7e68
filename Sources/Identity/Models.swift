import Foundation
import TrellisCore

/// A person who can log in: a local account (bcrypt hash) or, later, an LDAP one.
public struct User: Codable, Sendable, Equatable {
    public let id: Identifier<User>
    public let username: String
    public var isAdmin: Bool
    /// `local` (a password kept here) or `ldap` (the directory checks the password).
    public let source: String
    public let createdAt: Date
    public var displayName: String?
    public var email: String?
    /// Disabled by an admin: no login, and every token of theirs refused.
    public var disabled = false

    static let localSource = "local"
    static let ldapSource = "ldap"
}

/// A personal API token, without its secret.
public struct APIToken: Codable, Sendable, Equatable {
    public let id: String
    public let userID: String
    public let name: String
    /// The projects it may reach; nil: every project of its user.
    public let projects: [String]?
    /// The highest role it acts with.
    public let role: ProjectRole
    public let createdAt: Date
    public let expiresAt: Date
    public var revokedAt: Date?
}

/// A team space: pipelines, runs and templates live in a project; members have a role in it.
public struct Project: Codable, Sendable, Equatable {
    public let id: Identifier<Project>
    public let name: String
    public var description: String
    public let createdBy: String
    public let createdAt: Date
    public var updatedAt: Date
    public var settings = ProjectSettings()
}

/// A member of a project with their role.
public struct Member: Codable, Sendable, Equatable {
    public let username: String
    public let role: ProjectRole
    public let addedAt: Date
}

/// What can go wrong in the identity service, with the names involved.
public enum IdentityError: Error, Sendable, Equatable {
    case invalidCredentials
    case userExists(String)
    case userNotFound(String)
    case projectExists(String)
    /// The name is held until the project's data is purged in every service.
    case projectBeingDeleted(String)
    /// Also what a non-member sees: a project they cannot see does not exist for them.
    case projectNotFound(String)
    case notAllowed(ProjectAction, project: String, role: ProjectRole)
    case lastOwner(project: String)
    /// A directory user without a Trellis account, with `ldap.provision: deny`.
    case notProvisioned(String)
    /// The directory could not be asked.
    case directoryUnavailable
}
