import Foundation
import SQLKit
import ServiceContracts
import TrellisCore
import TrellisStore

/// The identity service's tables: `identity_users`, `identity_projects`, `identity_memberships`,
/// `identity_signing_keys` (migrations/identity).
public protocol IdentityRepository: Sendable {
    func userCount() async throws -> Int
    func createUser(_ user: User, passwordHash: String?) async throws
    func user(named username: String) async throws -> (user: User, passwordHash: String?)?
    /// Writes the user's admin flag, display name and email (a directory login refreshes them).
    func updateProfile(of user: User) async throws
    /// Up to `limit` users named after `after`, by name; with `token`, whether it was revoked, asked in the same statement.
    func users(after: String?, limit: Int, checking token: TokenSession?) async throws -> Checked<[User]>

    func createProject(_ project: Project, owner: Identifier<User>) async throws
    func project(named name: String) async throws -> Project?
    /// A project by name with `user`'s role in it (nil: not a member), in one statement; with `token`, whether it was
    /// revoked, asked in the same statement.
    func project(named name: String, roleOf user: Identifier<User>, checking token: TokenSession?) async throws
        -> Checked<(project: Project, role: ProjectRole?)?>
    /// The projects `user` is a member of, with the role; every project (as owner) when `all` is set. By name, up to
    /// `limit` named after `after`. With `token`, whether it was revoked, asked in the same statement.
    func projects(of user: Identifier<User>, all: Bool, after: String?, limit: Int, checking token: TokenSession?) async throws
        -> Checked<[(project: Project, role: ProjectRole)]>
    /// Saves the project's settings with the sealed values of its secret env entries: `sealed` adds or replaces
    /// values; a stored value its settings no longer name goes.
    func updateProject(_ project: Project, sealedSecrets sealed: [String: String]) async throws
    /// The sealed values of the project's secret env entries, by name.
    func sealedSecrets(of project: Identifier<Project>) async throws -> [String: String]
    /// Hides the project from everyone (its memberships go) and holds its name until every service of
    /// ``ProjectDeletion/services`` has finished purging it.
    func beginDeletion(of project: Identifier<Project>, services: [ServiceName], at date: Date) async throws
    /// Deletions `service` has still to purge whose prerequisites have finished.
    func pendingDeletions(for service: ServiceName) async throws -> [ProjectDeletion]
    /// Records that `service` finished; the last to finish removes the project and frees its name.
    func finishDeletion(of project: Identifier<Project>, by service: ServiceName, at date: Date) async throws
    /// Every deletion under way: the project, since when, and the services not finished yet.
    func deletionsUnderWay() async throws -> [(project: String, since: Date, waitingFor: [String])]

    func role(of user: Identifier<User>, in project: Identifier<Project>) async throws -> ProjectRole?
    func members(of project: Identifier<Project>) async throws -> [Member]
    /// Adds the member or changes their role; true when they were added.
    func setMember(_ user: Identifier<User>, role: ProjectRole, in project: Identifier<Project>, at date: Date) async throws -> Bool
    /// Removes the member unless that would leave the project without an owner.
    func removeMember(_ user: Identifier<User>, from project: Identifier<Project>, projectName: String) async throws

    /// The signing key in use (the oldest), creating `candidate` when there is none.
    func signingKey(orCreate candidate: SigningKey) async throws -> SigningKey
    func signingKeys() async throws -> [SigningKey]
    /// Replaces a key stored in clear (before keys were sealed) with its sealed form.
    func sealSigningKey(kid: String, sealed: String) async throws
    func createAPIToken(_ token: APIToken, hash: String) async throws
    func apiTokens(of user: Identifier<User>) async throws -> [APIToken]
    /// Revokes one of the user's tokens; false when they have no such token.
    func revokeAPIToken(_ id: String, of user: Identifier<User>, at date: Date) async throws -> Bool
    /// The token with this hash and its user, revoked or not.
    func apiToken(hash: String) async throws -> (token: APIToken, user: User)?
    /// Revokes a token until it expires (expired revocations are dropped on the way).
    func revoke(_ tokenID: String, expiresAt: Date, now: Date) async throws
    /// Whether the token `tokenID` of `userID`, issued at `issuedAt`, was revoked, or all the user's sessions then.
    func isRevoked(_ tokenID: String, user userID: String, issuedAt: Date) async throws -> Bool
    /// Revoked tokens and voided sessions that have not expired, after `revision`.
    func revocations(after revision: Int64, now: Date) async throws -> RevocationFeed

    /// Disables (or enables again) the user and voids their sessions.
    func setDisabled(_ user: Identifier<User>, _ disabled: Bool, now: Date, tokenLifetime: TimeInterval) async throws
    /// Sets the admin flag and voids their sessions, so the old flag in their tokens stops counting at once.
    func setAdmin(_ user: Identifier<User>, _ isAdmin: Bool, now: Date, tokenLifetime: TimeInterval) async throws
    /// Deletes the user, their memberships and API tokens, and voids their sessions.
    func deleteUser(_ user: Identifier<User>, now: Date, tokenLifetime: TimeInterval) async throws
}

/// A token signing key as stored: its PEM sealed with the secrets key (``SecretBox``), or in clear when written
/// before keys were sealed.
public struct SigningKey: Sendable, Equatable {
    public let kid: String
    public let privateKeyPEM: String
    public let createdAt: Date
}

/// What a read found, and whether the token it was asked to check was revoked (nil: not checked).
public struct Checked<Value> {
    public let value: Value
    public let revoked: Bool?

    func map<Other>(_ transform: (Value) throws -> Other) rethrows -> Checked<Other> {
        Checked<Other>(value: try transform(value), revoked: revoked)
    }
}

/// ``IdentityRepository`` in SQL, the same on SQLite and PostgreSQL.
public struct SQLIdentityRepository: IdentityRepository {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    struct UserRow: Decodable {
        let id: String
        let username: String
        let password_hash: String?
        let is_admin: Bool
        let source: String
        let created_at: Int64
        let display_name: String?
        let email: String?
        let disabled_at: Int64?

        var user: User {
            User(
                id: .init(id), username: username, isAdmin: is_admin, source: source, createdAt: .fromMilliseconds(created_at),
                displayName: display_name, email: email, disabled: disabled_at != nil)
        }
    }

    struct ProjectRow: Decodable {
        let id: String
        let name: String
        let description: String
        let created_by: String
        let created_at: Int64
        let updated_at: Int64
        let settings: String?

        var project: Project {
            Project(
                id: .init(id), name: name, description: description, createdBy: created_by,
                createdAt: .fromMilliseconds(created_at), updatedAt: .fromMilliseconds(updated_at),
                settings: settings.flatMap { try? JSONDecoder().decode(ProjectSettings.self, from: Data($0.utf8)) } ?? ProjectSettings()
            )
        }
    }

    public func userCount() async throws -> Int {
        try await database.read { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM identity_users").first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    public func createUser(_ user: User, passwordHash: String?) async throws {
        try await database.transaction { sql in
            let existing = try await sql.select().column("id").from("identity_users").where("username", .equal, user.username).first()
            guard existing == nil else { throw IdentityError.userExists(user.username) }
            try await sql.insert(into: "identity_users")
                .columns("id", "username", "password_hash", "is_admin", "source", "created_at", "display_name", "email")
                .values(
                    SQLBind(user.id.rawValue), SQLBind(user.username), SQLBind(passwordHash), SQLBind(user.isAdmin),
                    SQLBind(user.source), SQLBind(user.createdAt.milliseconds), SQLBind(user.displayName), SQLBind(user.email)
                )
                .run()
        }
    }

    public func updateProfile(of user: User) async throws {
        try await database.transaction { sql in
            try await sql.update("identity_users").set("is_admin", to: SQLBind(user.isAdmin)).set(
                "display_name", to: SQLBind(user.displayName)
            )
            .set("email", to: SQLBind(user.email)).where("id", .equal, user.id.rawValue).run()
        }
    }

    public func user(named username: String) async throws -> (user: User, passwordHash: String?)? {
        try await database.read { sql in
            let row = try await sql.select().column("*").from("identity_users").where("username", .equal, username)
                .first(decoding: UserRow.self)
            return row.map { ($0.user, $0.password_hash) }
        }
    }

    public func users(after: String?, limit: Int, checking token: TokenSession?) async throws -> Checked<[User]> {
        try await rows(UserPage(after: after ?? "", limit: Int64(limit)), checking: token).map { rows in
            try rows.map { try $0.decode(model: UserRow.self).user }
        }
    }

    /// A page of users by name, without their password hashes.
    struct UserPage: PreparedRead {
        static let text = """
            SELECT id, username, is_admin, source, created_at, display_name, email, disabled_at FROM identity_users
            WHERE username > $1 ORDER BY username LIMIT $2
            """
        let after: String
        let limit: Int64
        var parameters: [PreparedValue] { [.text(after), .integer(limit)] }
    }

    public func createProject(_ project: Project, owner: Identifier<User>) async throws {
        try await database.transaction { sql in
            let existing = try await sql.select().columns("id", "deleting_since").from("identity_projects")
                .where("name", .equal, project.name).first()
            if let existing {
                let deleting = try existing.decode(column: "deleting_since", as: Int64?.self) != nil
                throw deleting ? IdentityError.projectBeingDeleted(project.name) : IdentityError.projectExists(project.name)
            }
            try await sql.insert(into: "identity_projects")
                .columns("id", "name", "description", "created_by", "created_at", "updated_at")
                .values(
                    SQLBind(project.id.rawValue), SQLBind(project.name), SQLBind(project.description), SQLBind(project.createdBy),
                    SQLBind(project.createdAt.milliseconds), SQLBind(project.updatedAt.milliseconds)
                )
                .run()
            try await sql.insert(into: "identity_memberships")
                .columns("project_id", "user_id", "role", "created_at")
                .values(
                    SQLBind(project.id.rawValue), SQLBind(owner.rawValue), SQLBind(ProjectRole.owner.rawValue),
                    SQLBind(project.createdAt.milliseconds)
                )
                .run()
        }
    }

    public func project(named name: String) async throws -> Project? {
        try await database.rows(ProjectNamed(name: name)).first?.decode(model: ProjectRow.self).project
    }

    public func project(named name: String, roleOf user: Identifier<User>, checking token: TokenSession?) async throws
        -> Checked<(project: Project, role: ProjectRole?)?>
    {
        try await rows(ProjectWithRole(name: name, user: user.rawValue), checking: token).map { rows in
            try rows.first.map { row in
                (try row.decode(model: ProjectRow.self).project, try row.decode(column: "role", as: String?.self).flatMap(ProjectRole.init))
            }
        }
    }

    /// A project by name, unless it is being deleted, and a user's role in it: every request on one project asks.
    struct ProjectWithRole: PreparedRead {
        static let text = """
            SELECT p.id, p.name, p.description, p.created_by, p.created_at, p.updated_at, p.settings, m.role
            FROM identity_projects p
            LEFT JOIN identity_memberships m ON m.project_id = p.id AND m.user_id = $2
            WHERE p.name = $1 AND p.deleting_since IS NULL
            """
        let name: String
        let user: String
        var parameters: [PreparedValue] { [.text(name), .text(user)] }
    }

    /// A project by name, unless it is being deleted: every request on a project's resources asks.
    struct ProjectNamed: PreparedRead {
        static let text = """
            SELECT id, name, description, created_by, created_at, updated_at, settings FROM identity_projects
            WHERE name = $1 AND deleting_since IS NULL
            """
        let name: String
        var parameters: [PreparedValue] { [.text(name)] }
    }

    public func projects(of user: Identifier<User>, all: Bool, after: String?, limit: Int, checking token: TokenSession?) async throws
        -> Checked<[(project: Project, role: ProjectRole)]>
    {
        let read = ProjectsOfUser(user: user.rawValue, all: all, after: after ?? "", limit: Int64(limit))
        return try await rows(read, checking: token).map { rows in
            try rows.map { row in
                // Admins listing every project see the ones they are not a member of as owners.
                let role = try row.decode(column: "role", as: String?.self).flatMap(ProjectRole.init(rawValue:)) ?? .owner
                return (try row.decode(model: ProjectRow.self).project, role)
            }
        }
    }

    /// A page of the projects a user is a member of (with their role), or of all projects; every project list reads it.
    /// Its columns are named: a prepared statement's result may not change shape when a migration adds one.
    struct ProjectsOfUser: PreparedRead {
        static let text = """
            SELECT p.id, p.name, p.description, p.created_by, p.created_at, p.updated_at, p.settings, m.role
            FROM identity_projects p
            LEFT JOIN identity_memberships m ON m.project_id = p.id AND m.user_id = $1
            WHERE (m.role IS NOT NULL OR $2) AND p.deleting_since IS NULL AND p.name > $3
            ORDER BY p.name
            LIMIT $4
            """
        let user: String
        let all: Bool
        let after: String
        let limit: Int64
        var parameters: [PreparedValue] { [.text(user), .bool(all), .text(after), .integer(limit)] }
    }

    static func update(_ project: Project, sql: any SQLDatabase) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try await sql.update("identity_projects")
            .set("description", to: SQLBind(project.description))
            .set("settings", to: SQLBind(String(decoding: try encoder.encode(project.settings), as: UTF8.self)))
            .set("updated_at", to: SQLBind(project.updatedAt.milliseconds))
            .where("id", .equal, project.id.rawValue)
            .run()
    }

    public func updateProject(_ project: Project, sealedSecrets sealed: [String: String]) async throws {
        try await database.transaction { sql in
            try await Self.update(project, sql: sql)
            let kept = project.settings.sealedNames + [""]
            try await sql.delete(from: "identity_project_secrets").where("project_id", .equal, project.id.rawValue)
                .where("name", .notIn, kept).run()
            for (name, value) in sealed.sorted(by: { $0.key < $1.key }) {
                try await sql.raw(
                    """
                    INSERT INTO identity_project_secrets (project_id, name, sealed)
                    VALUES (\(bind: project.id.rawValue), \(bind: name), \(bind: value))
                    ON CONFLICT (project_id, name) DO UPDATE SET sealed = excluded.sealed
                    """
                ).run()
            }
        }
    }

    public func sealedSecrets(of project: Identifier<Project>) async throws -> [String: String] {
        try await database.read { sql in
            var found: [String: String] = [:]
            for row in try await sql.select().columns("name", "sealed").from("identity_project_secrets")
                .where("project_id", .equal, project.rawValue).all()
            {
                found[try row.decode(column: "name", as: String.self)] = try row.decode(column: "sealed", as: String.self)
            }
            return found
        }
    }

    public func beginDeletion(of project: Identifier<Project>, services: [ServiceName], at date: Date) async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "identity_memberships").where("project_id", .equal, project.rawValue).run()
            try await sql.update("identity_projects").set("deleting_since", to: SQLBind(date.milliseconds))
                .where("id", .equal, project.rawValue).where("deleting_since", .is, SQLLiteral.null).run()
            for service in services {
                let existing = try await sql.select().column("service").from("identity_project_deletions")
                    .where("project_id", .equal, project.rawValue).where("service", .equal, service.rawValue).first()
                guard existing == nil else { continue }
                try await sql.insert(into: "identity_project_deletions").columns("project_id", "service")
                    .values(SQLBind(project.rawValue), SQLBind(service.rawValue)).run()
            }
        }
    }

    public func pendingDeletions(for service: ServiceName) async throws -> [ProjectDeletion] {
        let prerequisites = ProjectDeletion.prerequisites(of: service).map(\.rawValue)
        return try await database.read { sql in
            try await sql.raw(
                """
                SELECT p.id, p.name
                FROM identity_project_deletions d JOIN identity_projects p ON p.id = d.project_id
                WHERE d.service = \(bind: service.rawValue) AND d.done_at IS NULL
                AND NOT EXISTS (
                    SELECT 1 FROM identity_project_deletions q
                    WHERE q.project_id = d.project_id AND q.done_at IS NULL AND q.service IN (\(binds: prerequisites + [""]))
                )
                ORDER BY p.deleting_since
                """
            ).all().map { row in
                ProjectDeletion(
                    projectID: try row.decode(column: "id", as: String.self), project: try row.decode(column: "name", as: String.self))
            }
        }
    }

    public func finishDeletion(of project: Identifier<Project>, by service: ServiceName, at date: Date) async throws {
        try await database.transaction { sql in
            let deleting = try await sql.select().column("id").from("identity_projects").where("id", .equal, project.rawValue)
                .where("deleting_since", .isNot, SQLLiteral.null).first()
            guard deleting != nil else { return }
            try await sql.update("identity_project_deletions").set("done_at", to: SQLBind(date.milliseconds))
                .where("project_id", .equal, project.rawValue).where("service", .equal, service.rawValue).run()
            let waiting = try await sql.select().column("service").from("identity_project_deletions")
                .where("project_id", .equal, project.rawValue).where("done_at", .is, SQLLiteral.null).all()
            guard waiting.isEmpty else { return }
            try await sql.delete(from: "identity_project_deletions").where("project_id", .equal, project.rawValue).run()
            try await sql.delete(from: "identity_memberships").where("project_id", .equal, project.rawValue).run()
            try await sql.delete(from: "identity_project_secrets").where("project_id", .equal, project.rawValue).run()
            try await sql.delete(from: "identity_projects").where("id", .equal, project.rawValue)
                .where("deleting_since", .isNot, SQLLiteral.null).run()
        }
    }

    public func deletionsUnderWay() async throws -> [(project: String, since: Date, waitingFor: [String])] {
        try await database.read { sql in
            let rows = try await sql.raw(
                """
                SELECT p.name, p.deleting_since, d.service
                FROM identity_projects p JOIN identity_project_deletions d ON d.project_id = p.id
                WHERE d.done_at IS NULL
                ORDER BY p.deleting_since, p.name, d.service
                """
            ).all()
            var found: [(project: String, since: Date, waitingFor: [String])] = []
            for row in rows {
                let name = try row.decode(column: "name", as: String.self)
                let service = try row.decode(column: "service", as: String.self)
                if found.last?.project == name {
                    found[found.count - 1].waitingFor.append(service)
                } else {
                    found.append((name, .fromMilliseconds(try row.decode(column: "deleting_since", as: Int64.self)), [service]))
                }
            }
            return found
        }
    }

    public func role(of user: Identifier<User>, in project: Identifier<Project>) async throws -> ProjectRole? {
        let row = try await database.rows(Membership(project: project.rawValue, user: user.rawValue)).first
        return try row.flatMap { ProjectRole(rawValue: try $0.decode(column: "role", as: String.self)) }
    }

    /// A user's role in a project: every request on a project's resources asks.
    struct Membership: PreparedRead {
        static let text = "SELECT role FROM identity_memberships WHERE project_id = $1 AND user_id = $2"
        let project: String
        let user: String
        var parameters: [PreparedValue] { [.text(project), .text(user)] }
    }

    public func members(of project: Identifier<Project>) async throws -> [Member] {
        struct Row: Decodable {
            let username: String, role: String, created_at: Int64
        }
        return try await database.read { sql in
            try await sql.raw(
                """
                SELECT u.username, m.role, m.created_at FROM identity_memberships m
                JOIN identity_users u ON u.id = m.user_id
                WHERE m.project_id = \(bind: project.rawValue) ORDER BY u.username
                """
            ).all(decoding: Row.self)
        }.map { Member(username: $0.username, role: ProjectRole(rawValue: $0.role) ?? .viewer, addedAt: .fromMilliseconds($0.created_at)) }
    }

    public func setMember(_ user: Identifier<User>, role: ProjectRole, in project: Identifier<Project>, at date: Date) async throws -> Bool
    {
        try await database.transaction { sql in
            let current = try await sql.select().column("role").from("identity_memberships")
                .where("project_id", .equal, project.rawValue).where("user_id", .equal, user.rawValue).first()
            if current == nil {
                try await sql.insert(into: "identity_memberships")
                    .columns("project_id", "user_id", "role", "created_at")
                    .values(SQLBind(project.rawValue), SQLBind(user.rawValue), SQLBind(role.rawValue), SQLBind(date.milliseconds))
                    .run()
                return true
            }
            try await sql.update("identity_memberships").set("role", to: SQLBind(role.rawValue))
                .where("project_id", .equal, project.rawValue).where("user_id", .equal, user.rawValue).run()
            try await Self.requireOwner(sql, project: project)
            return false
        }
    }

    public func removeMember(_ user: Identifier<User>, from project: Identifier<Project>, projectName: String) async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "identity_memberships")
                .where("project_id", .equal, project.rawValue).where("user_id", .equal, user.rawValue).run()
            do {
                try await Self.requireOwner(sql, project: project)
            } catch IdentityError.lastOwner {
                throw IdentityError.lastOwner(project: projectName)
            }
        }
    }

    /// Inside a transaction: the project still has an owner, or the change is rolled back.
    static func requireOwner(_ sql: any SQLDatabase, project: Identifier<Project>) async throws {
        let owners =
            try await sql.raw(
                "SELECT COUNT(*) AS n FROM identity_memberships WHERE project_id = \(bind: project.rawValue) AND role = \(bind: ProjectRole.owner.rawValue)"
            ).first()?.decode(column: "n", as: Int.self) ?? 0
        if owners == 0 { throw IdentityError.lastOwner(project: project.rawValue) }
    }

    public func signingKey(orCreate candidate: SigningKey) async throws -> SigningKey {
        if let key = try await signingKeys().first { return key }
        try await database.read { sql in
            try await sql.insert(into: "identity_signing_keys")
                .columns("kid", "algorithm", "private_key_pem", "created_at")
                .values(
                    SQLBind(candidate.kid), SQLBind("EdDSA"), SQLBind(candidate.privateKeyPEM), SQLBind(candidate.createdAt.milliseconds)
                )
                .run()
        }
        // Two identity replicas starting together may both insert: both then use the oldest.
        return try await signingKeys().first ?? candidate
    }

    public func sealSigningKey(kid: String, sealed: String) async throws {
        try await database.transaction { sql in
            try await sql.update("identity_signing_keys").set("private_key_pem", to: SQLBind(sealed)).where("kid", .equal, kid).run()
        }
    }

    public func signingKeys() async throws -> [SigningKey] {
        struct Row: Decodable {
            let kid: String, private_key_pem: String, created_at: Int64
        }
        return try await database.read { sql in
            try await sql.raw("SELECT kid, private_key_pem, created_at FROM identity_signing_keys ORDER BY created_at, kid")
                .all(decoding: Row.self)
        }.map { SigningKey(kid: $0.kid, privateKeyPEM: $0.private_key_pem, createdAt: .fromMilliseconds($0.created_at)) }
    }

    public func revoke(_ tokenID: String, expiresAt: Date, now: Date) async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "identity_revoked_tokens").where("expires_at", .lessThan, now.milliseconds).run()
            let revision = try await Self.nextRevocationRevision(sql)
            try await sql.insert(into: "identity_revoked_tokens").columns("token_id", "expires_at", "revision")
                .values(SQLBind(tokenID), SQLBind(expiresAt.milliseconds), SQLBind(revision)).ignoringConflicts(with: ["token_id"]).run()
        }
    }

    public func isRevoked(_ tokenID: String, user userID: String, issuedAt: Date) async throws -> Bool {
        let token = TokenSession(tokenID: tokenID, userID: userID, issuedAt: issuedAt)
        guard let row = try await database.rows(Revocation(token: token)).first else { return false }
        return try Revocation.revoked(token, in: row)
    }

    /// The rows of `read`; with `token`, read in the same statement as the token's revocation (``Unrevoked``), one
    /// round trip to the database instead of two. An empty answer has no row to carry it: the token is then unchecked.
    func rows<Read: PreparedRead>(_ read: Read, checking token: TokenSession?) async throws -> Checked<[any SQLRow]> {
        guard let token else { return Checked(value: try await database.rows(read), revoked: nil) }
        let rows = try await database.rows(Unrevoked(read: read, token: token))
        return Checked(value: rows, revoked: try rows.first.map { try Revocation.revoked(token, in: $0) })
    }

    /// Whether a token was revoked, and since when its user's sessions are void: one statement, on every request a
    /// user token makes.
    struct Revocation: PreparedRead {
        /// The two columns, their parameters numbered from `first`.
        static func columns(first: Int) -> String {
            """
            CASE WHEN EXISTS (SELECT 1 FROM identity_revoked_tokens WHERE token_id = $\(first)) THEN 1 ELSE 0 END AS trellis_revoked,
            (SELECT before FROM identity_voided_sessions WHERE user_id = $\(first + 1)) AS trellis_voided_before
            """
        }
        static var text: String { "SELECT " + columns(first: 1) }
        let token: TokenSession
        var parameters: [PreparedValue] { [.text(token.tokenID), .text(token.userID)] }

        /// What the two columns of `row` say of `token`.
        static func revoked(_ token: TokenSession, in row: any SQLRow) throws -> Bool {
            if try row.decode(column: "trellis_revoked", as: Int.self) == 1 { return true }
            return try row.decode(column: "trellis_voided_before", as: Int64?.self).map { token.issuedAt < .fromMilliseconds($0) } ?? false
        }
    }

    /// `Read` with a token's ``Revocation`` columns added to each of its rows, their parameters after `Read`'s.
    /// Uncorrelated, the two subqueries run once per statement, not per row.
    struct Unrevoked<Read: PreparedRead>: PreparedRead {
        static var text: String {
            precondition(Read.text.hasPrefix("SELECT "), "a read checked with a token's revocation starts with SELECT")
            return "SELECT " + Revocation.columns(first: Read.highestParameter + 1) + ", " + Read.text.dropFirst("SELECT ".count)
        }
        let read: Read
        let token: TokenSession
        var parameters: [PreparedValue] {
            let own = read.parameters
            precondition(own.count == Read.highestParameter, "a read's parameters are $1 to its highest, each given")
            return own + [.text(token.tokenID), .text(token.userID)]
        }
    }

    public func setDisabled(_ user: Identifier<User>, _ disabled: Bool, now: Date, tokenLifetime: TimeInterval) async throws {
        try await database.transaction { sql in
            try await sql.update("identity_users").set("disabled_at", to: SQLBind(disabled ? now.milliseconds : nil))
                .where("id", .equal, user.rawValue).run()
            try await Self.voidSessions(of: user, now: now, tokenLifetime: tokenLifetime, sql: sql)
        }
    }

    public func setAdmin(_ user: Identifier<User>, _ isAdmin: Bool, now: Date, tokenLifetime: TimeInterval) async throws {
        try await database.transaction { sql in
            try await sql.update("identity_users").set("is_admin", to: SQLBind(isAdmin)).where("id", .equal, user.rawValue).run()
            try await Self.voidSessions(of: user, now: now, tokenLifetime: tokenLifetime, sql: sql)
        }
    }

    public func deleteUser(_ user: Identifier<User>, now: Date, tokenLifetime: TimeInterval) async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "identity_memberships").where("user_id", .equal, user.rawValue).run()
            try await sql.delete(from: "identity_api_tokens").where("user_id", .equal, user.rawValue).run()
            try await sql.delete(from: "identity_users").where("id", .equal, user.rawValue).run()
            try await Self.voidSessions(of: user, now: now, tokenLifetime: tokenLifetime, sql: sql)
        }
    }

    /// The revision of the next revoked token or voided session: one counter for both, so the feed is one order.
    static func nextRevocationRevision(_ sql: any SQLDatabase) async throws -> Int64 {
        try await sql.raw("UPDATE identity_revocation_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision")
            .first()?.decode(column: "revision", as: Int64.self) ?? 0
    }

    /// Tokens of `user` issued before `now` are refused from now on, in every service (the revocation feed).
    static func voidSessions(of user: Identifier<User>, now: Date, tokenLifetime: TimeInterval, sql: any SQLDatabase) async throws {
        try await sql.delete(from: "identity_voided_sessions").where("expires_at", .lessThan, now.milliseconds).run()
        let revision = try await nextRevocationRevision(sql)
        try await sql.delete(from: "identity_voided_sessions").where("user_id", .equal, user.rawValue).run()
        try await sql.insert(into: "identity_voided_sessions").columns("user_id", "before", "expires_at", "revision")
            .values(
                SQLBind(user.rawValue), SQLBind(now.milliseconds), SQLBind(now.addingTimeInterval(tokenLifetime).milliseconds),
                SQLBind(revision)
            ).run()
    }

    /// Unexpired revocations after `revision` (all of them from 0), oldest first, with the newest revision.
    public func revocations(after revision: Int64, now: Date) async throws -> RevocationFeed {
        struct Row: Decodable {
            let token_id: String, expires_at: Int64, revision: Int64
        }
        return try await database.snapshot { sql in
            let latest =
                try await sql.select().column("revision").from("identity_revocation_revision").where("id", .equal, 1).first()?
                .decode(column: "revision", as: Int64.self) ?? 0
            let rows = try await sql.select().columns("token_id", "expires_at", "revision").from("identity_revoked_tokens")
                .where("revision", .greaterThan, revision).where("expires_at", .greaterThan, now.milliseconds).orderBy("revision")
                .all(decoding: Row.self)
            struct Voided: Decodable {
                let user_id: String, before: Int64, expires_at: Int64
            }
            let voided = try await sql.select().columns("user_id", "before", "expires_at").from("identity_voided_sessions")
                .where("revision", .greaterThan, revision).where("expires_at", .greaterThan, now.milliseconds).orderBy("revision")
                .all(decoding: Voided.self)
            return RevocationFeed(
                revision: latest, revoked: rows.map { .init(id: $0.token_id, expiresAt: .fromMilliseconds($0.expires_at)) },
                voided: voided.map {
                    .init(user: $0.user_id, before: .fromMilliseconds($0.before), expiresAt: .fromMilliseconds($0.expires_at))
                })
        }
    }

    struct APITokenRow: Codable {
        let id: String, user_id: String, name: String, token_hash: String, projects: String?, ceiling: String
        let created_at: Int64, expires_at: Int64, revoked_at: Int64?

        func token() throws -> APIToken {
            APIToken(
                id: id, userID: user_id, name: name,
                projects: try projects.map { try JSONDecoder().decode([String].self, from: Data($0.utf8)) },
                role: try ProjectRole.parse(ceiling), createdAt: .fromMilliseconds(created_at), expiresAt: .fromMilliseconds(expires_at),
                revokedAt: revoked_at.map(Date.fromMilliseconds))
        }
    }

    public func createAPIToken(_ token: APIToken, hash: String) async throws {
        let row = APITokenRow(
            id: token.id, user_id: token.userID, name: token.name, token_hash: hash,
            projects: try token.projects.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) },
            ceiling: token.role.rawValue,
            created_at: token.createdAt.milliseconds, expires_at: token.expiresAt.milliseconds, revoked_at: nil)
        try await database.transaction { sql in try await sql.insert(into: "identity_api_tokens").model(row).run() }
    }

    public func apiTokens(of user: Identifier<User>) async throws -> [APIToken] {
        try await database.read { sql in
            try await sql.select().columns("*").from("identity_api_tokens").where("user_id", .equal, user.rawValue).orderBy("created_at")
                .all(decoding: APITokenRow.self)
        }.map { try $0.token() }
    }

    public func revokeAPIToken(_ id: String, of user: Identifier<User>, at date: Date) async throws -> Bool {
        try await database.transaction { sql in
            let rows = try await sql.update("identity_api_tokens").set("revoked_at", to: SQLBind(date.milliseconds)).where("id", .equal, id)
                .where("user_id", .equal, user.rawValue).where("revoked_at", .is, SQLLiteral.null).returning("id").all()
            return !rows.isEmpty
        }
    }

    public func apiToken(hash: String) async throws -> (token: APIToken, user: User)? {
        try await database.read { sql in
            guard
                let row = try await sql.select().columns("*").from("identity_api_tokens").where("token_hash", .equal, hash)
                    .first(decoding: APITokenRow.self),
                let user = try await sql.select().columns("*").from("identity_users").where("id", .equal, row.user_id)
                    .first(decoding: UserRow.self)
            else { return nil }
            return (try row.token(), user.user)
        }
    }
}
