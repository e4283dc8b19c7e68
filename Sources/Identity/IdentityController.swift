import Foundation
import Hummingbird
import HummingbirdBcrypt
import JWTKit
import NIOPosix
import ServiceContracts
import TrellisCore
import TrellisHTTP
import TrellisStore

/// The identity service's HTTP API: login, the current user, users, projects and their members.
struct IdentityController<Repository: IdentityRepository>: Sendable {
    let repository: Repository
    let issuer: TokenIssuer
    let now: @Sendable () -> Date
    /// Directory logins, when `ldap.url` is set.
    let directory: LDAPDirectory?
    let throttle: LoginThrottle
    /// Refreshes per user: each revokes a token every service follows, so they are bounded.
    let refreshes: RateLimit
    /// A bcrypt hash of a random string: a login for an unknown user still pays one bcrypt verify, so response
    /// time does not reveal which user names exist.
    let decoyHash: String
    /// The clusters projects may be bound to.
    let clusters: ClusterCheck
    /// Seals the values of projects' secret env entries.
    let secrets: SecretBox

    func addRoutes(public publicRoutes: RouterGroup<TrellisRequestContext>, authenticated: RouterGroup<TrellisRequestContext>) {
        publicRoutes.post("auth/login", use: login)
        publicRoutes.get("auth/jwks") { _, _ in JWKSResponse(jwks: try await issuer.publicKeys()) }
        publicRoutes.get("auth/revocations", use: revocations)
        authenticated.post("auth/refresh", use: refresh)
        authenticated.post("auth/logout", use: logout)
        authenticated.get("me", use: me)
        authenticated.get("users", use: listUsers)
        authenticated.post("users", use: createUser)
        authenticated.patch("users/:username", use: updateUser)
        authenticated.delete("users/:username", use: deleteUser)
        authenticated.get("projects", use: listProjects)
        authenticated.get("project-deletions", use: listDeletions)
        authenticated.post("projects", use: createProject)
        authenticated.get("projects/:project", use: getProject)
        authenticated.patch("projects/:project", use: updateProject)
        authenticated.delete("projects/:project", use: deleteProject)
        authenticated.get("projects/:project/members", use: listMembers)
        authenticated.post("projects/:project/members", use: addMember)
        authenticated.delete("projects/:project/members/:username", use: removeMember)
    }

    // MARK: Login and me

    struct LoginRequest: Decodable {
        let username: String
        let password: String
    }

    struct LoginResponse: ResponseEncodable {
        let token: String
        let user: User
    }

    /// Local users log in with the password kept here; with a directory configured, everyone else (and users who
    /// came from it) logs in against the directory.
    /// Failed logins are throttled per user name and per address (``LoginThrottle``).
    @Sendable func login(_ request: Request, context: TrellisRequestContext) async throws -> LoginResponse {
        let body = try await request.decode(as: LoginRequest.self, context: context)
        let address = context.clientAddress
        if let wait = await throttle.wait(username: body.username, address: address, now: now()) {
            throw APIError.tooManyRequests("too many failed logins for \"\(body.username)\"; try again in \(wait) s")
        }
        do {
            let response = try await authenticate(body, context: context)
            await throttle.succeeded(username: body.username, address: address)
            return response
        } catch IdentityError.invalidCredentials {
            await throttle.failed(username: body.username, address: address, now: now())
            throw IdentityError.invalidCredentials
        }
    }

    func authenticate(_ body: LoginRequest, context: TrellisRequestContext) async throws -> LoginResponse {
        let found = try await repository.user(named: body.username)
        if let directory, found == nil || found?.user.source == User.ldapSource {
            return try await directoryLogin(body, found: found?.user, directory: directory, context: context)
        }
        let valid = try await Self.verify(body.password, hash: found?.passwordHash ?? decoyHash)
        guard let found, found.passwordHash != nil, valid else {
            context.logger.notice("login failed", metadata: ["username": .string(body.username)])
            throw IdentityError.invalidCredentials
        }
        return try await loggedIn(found.user)
    }

    /// Revoked, unexpired tokens; with `?after=REVISION` only those revoked since (a service's mirror follows them).
    @Sendable func revocations(_ request: Request, context: TrellisRequestContext) async throws -> RevocationFeed {
        let after = try request.uri.queryParameters.get("after").map { text throws(APIError) in
            guard let revision = Int64(text), revision >= 0 else {
                throw APIError.invalidField("after", "must be a revision (a whole number >= 0)")
            }
            return revision
        }
        return try await repository.revocations(after: after ?? 0, now: now())
    }

    /// A fresh token for the caller (their admin flag read again); the presented one is revoked.
    @Sendable func refresh(_ request: Request, context: TrellisRequestContext) async throws -> LoginResponse {
        let username = try context.requireUser().username
        if let wait = await refreshes.wait(key: username, now: now()) {
            throw APIError.tooManyRequests("too many refreshes for \"\(username)\" (\(refreshes.limit) a minute); try again in \(wait) s")
        }
        await refreshes.count(key: username, now: now())
        try await revokePresentedToken(context)
        guard var user = try await repository.user(named: try context.requireUser().username)?.user else {
            throw APIError.unauthorized("the user no longer exists")
        }
        // A directory user is looked up again: gone from the directory, no fresh token; their groups count anew.
        if let directory, user.source == User.ldapSource {
            let person: LDAPDirectory.Person?
            do {
                person = try await directory.lookUp(username: user.username)
            } catch {
                context.logger.error(
                    "directory lookup failed", metadata: ["username": .string(user.username), "error": .string("\(error)")])
                throw IdentityError.directoryUnavailable
            }
            guard let person else { throw APIError.unauthorized("\"\(user.username)\" is no longer in the directory") }
            try await applyDirectory(person, to: &user, directory: directory, context: context)
        }
        return try await loggedIn(user)
    }

    /// Revokes the presented token everywhere (other services stop accepting it within a second).
    @Sendable func logout(_ request: Request, context: TrellisRequestContext) async throws -> HTTPResponse.Status {
        try await revokePresentedToken(context)
        return .noContent
    }

    func revokePresentedToken(_ context: TrellisRequestContext) async throws {
        guard try context.requireUser().scope == nil else {
            throw APIError.badRequest("an API token is not a session: revoke it with DELETE /api/v1/tokens/{id}")
        }
        guard let token = context.bearerToken else { throw APIError.unauthorized("a bearer token is required") }
        let claims = try await issuer.claims(of: token)
        try await repository.revoke(claims.jti.value, expiresAt: claims.exp.value, now: now())
    }

    func loggedIn(_ user: User) async throws -> LoginResponse {
        guard !user.disabled else { throw APIError.unauthorized("the account \"\(user.username)\" is disabled; ask a platform admin") }
        let token = try await issuer.issue(for: AuthenticatedUser(id: user.id.rawValue, username: user.username, isAdmin: user.isAdmin))
        return LoginResponse(token: token, user: user)
    }

    /// Checks the password with the directory; the first login provisions the user (unless `ldap.provision` is
    /// `deny`); every login refreshes the admin flag, name and email, and grants the project roles its groups map to.
    func directoryLogin(_ body: LoginRequest, found: User?, directory: LDAPDirectory, context: TrellisRequestContext) async throws
        -> LoginResponse
    {
        let person: LDAPDirectory.Person?
        do {
            person = try await directory.authenticate(username: body.username, password: body.password)
        } catch {
            context.logger.error("directory login failed", metadata: ["username": .string(body.username), "error": .string("\(error)")])
            throw IdentityError.directoryUnavailable
        }
        guard let person else {
            context.logger.notice("login failed", metadata: ["username": .string(body.username), "source": "ldap"])
            throw IdentityError.invalidCredentials
        }
        let settings = directory.settings
        var user: User
        if let existing = person.username == body.username ? found : try await repository.user(named: person.username)?.user {
            guard existing.source == User.ldapSource else {
                // A local account of the same name keeps its own password: the directory does not take it over.
                throw IdentityError.invalidCredentials
            }
            user = existing
        } else {
            guard settings.provisioning == .create else { throw IdentityError.notProvisioned(person.username) }
            try Names.validateUsername(person.username)
            user = User(
                id: .init(UUID().uuidString.lowercased()), username: person.username, isAdmin: false, source: User.ldapSource,
                createdAt: now())
            try await repository.createUser(user, passwordHash: nil)
            context.logger.notice("provisioned a directory user", metadata: ["username": .string(user.username)])
        }
        try await applyDirectory(person, to: &user, directory: directory, context: context)
        return try await loggedIn(user)
    }

    /// What the directory says of `person` onto `user`: the admin flag (when admin groups are configured), name,
    /// email, and the project roles its groups map to.
    func applyDirectory(_ person: LDAPDirectory.Person, to user: inout User, directory: LDAPDirectory, context: TrellisRequestContext)
        async throws
    {
        let settings = directory.settings
        // With admin groups configured, the directory decides who is a platform admin.
        if !settings.adminGroups.isEmpty { user.isAdmin = !settings.adminGroups.isDisjoint(with: person.groups) }
        user.displayName = person.displayName
        user.email = person.email
        try await repository.updateProfile(of: user)
        for mapping in settings.projectRoles where person.groups.contains(mapping.group) {
            guard let project = try await repository.project(named: mapping.project) else {
                context.logger.warning(
                    "ldap.project.roles names a project that does not exist", metadata: ["project": .string(mapping.project)])
                continue
            }
            _ = try await repository.setMember(user.id, role: mapping.role, in: project.id, at: now())
        }
    }

    struct MeResponse: ResponseEncodable {
        let id: String
        let username: String
        let isAdmin: Bool
        let projects: [ProjectSummary]
    }

    struct ProjectSummary: Codable {
        let name: String
        let role: ProjectRole
    }

    @Sendable func me(_ request: Request, context: TrellisRequestContext) async throws -> MeResponse {
        let caller = try context.requireUser()
        let projects = try await Self.read(settling: context.revocation) { token in
            try await repository.projects(of: .init(caller.id), all: false, after: nil, limit: PageRequest.maximumLimit, checking: token)
        }
        return MeResponse(
            id: caller.id, username: caller.username, isAdmin: caller.isAdmin,
            projects: projects.compactMap { found in
                caller.limited(found.role, in: found.project.name).map { ProjectSummary(name: found.project.name, role: $0) }
            }
        )
    }

    // MARK: Users

    struct CreateUserRequest: Decodable {
        let username: String
        /// Required for local users; a directory user has none here.
        let password: String?
        let isAdmin: Bool?
        /// `local` (default) or `ldap`: an account for a directory user, for `ldap.provision: deny`.
        let source: String?
    }

    struct UpdateUserRequest: Decodable {
        let disabled: Bool?
        let isAdmin: Bool?
    }

    /// Disables or enables a user, or changes their admin flag. Either voids their sessions at once, in every
    /// service within a second: a disabled user's tokens stop working, a demoted admin's tokens lose admin.
    @Sendable func updateUser(_ request: Request, context: TrellisRequestContext) async throws -> User {
        let admin = try context.requireAdmin(for: "managing users")
        let body = try await request.decode(as: UpdateUserRequest.self, context: context)
        let found = try await managedUser(context, by: admin)
        if let disabled = body.disabled, disabled != found.disabled {
            try await repository.setDisabled(found.id, disabled, now: now(), tokenLifetime: tokenLifetime)
            context.logger.notice(disabled ? "user disabled" : "user enabled", metadata: ["username": .string(found.username)])
        }
        if let isAdmin = body.isAdmin, isAdmin != found.isAdmin {
            try await repository.setAdmin(found.id, isAdmin, now: now(), tokenLifetime: tokenLifetime)
            context.logger.notice("user's admin flag changed", metadata: ["username": .string(found.username), "admin": "\(isAdmin)"])
        }
        guard let updated = try await repository.user(named: found.username)?.user else { throw IdentityError.userNotFound(found.username) }
        return updated
    }

    /// Deletes a user: their memberships and API tokens go, their sessions stop working; the name may be used again
    /// by a new user, who inherits nothing.
    @Sendable func deleteUser(_ request: Request, context: TrellisRequestContext) async throws -> HTTPResponse.Status {
        let admin = try context.requireAdmin(for: "managing users")
        let found = try await managedUser(context, by: admin)
        try await repository.deleteUser(found.id, now: now(), tokenLifetime: tokenLifetime)
        context.logger.notice("user deleted", metadata: ["username": .string(found.username)])
        return .noContent
    }

    /// The user of `:username`, which an admin may change: not themselves (an admin cannot lock the platform out).
    func managedUser(_ context: TrellisRequestContext, by admin: AuthenticatedUser) async throws -> User {
        let username = try context.parameters.require("username")
        guard let found = try await repository.user(named: username)?.user else { throw IdentityError.userNotFound(username) }
        guard found.id.rawValue != admin.id else {
            throw APIError.failedPrecondition("an admin cannot disable, demote or delete themselves; another admin can")
        }
        return found
    }

    var tokenLifetime: TimeInterval { TimeInterval(issuer.lifetime.components.seconds) }

    struct UserList: ResponseEncodable {
        let users: [User]
        /// The cursor of the next page; absent on the last.
        let next: String?
    }

    /// What `read` finds, asked with the caller's token while its revocation is unsettled (``DeferredRevocation``):
    /// the check rides on the read, and a revoked token is refused with 401.
    static func read<Value>(
        settling revocation: DeferredRevocation?, _ read: (TokenSession?) async throws -> Checked<Value>
    ) async throws -> Value {
        let checked = try await read(revocation.flatMap { $0.revoked == nil ? $0.token : nil })
        if let revoked = checked.revoked { try revocation?.settle(revoked: revoked) }
        return checked.value
    }

    @Sendable func listUsers(_ request: Request, context: TrellisRequestContext) async throws -> UserList {
        _ = try context.requireAdmin(for: "managing users")
        let page = try request.pageRequest()
        let after = try page.key(0)
        let found = try await Self.read(settling: context.revocation) { token in
            try await repository.users(after: after, limit: page.limit + 1, checking: token)
        }
        let listed = Page(fetched: found, request: page) { [$0.username] }
        return UserList(users: listed.items, next: listed.next)
    }

    @Sendable func createUser(_ request: Request, context: TrellisRequestContext) async throws -> EditedResponse<User> {
        _ = try context.requireAdmin(for: "managing users")
        let body = try await request.decode(as: CreateUserRequest.self, context: context)
        switch body.source ?? User.localSource {
        case User.localSource:
            guard let password = body.password else { throw ValidationError(field: "password", "is required for a local user") }
            let user = try await createLocalUser(username: body.username, password: password, isAdmin: body.isAdmin ?? false)
            return EditedResponse(status: .created, response: user)
        case User.ldapSource:
            guard directory != nil else { throw ValidationError(field: "source", "ldap needs a directory: set ldap.url") }
            guard body.password == nil else { throw ValidationError(field: "password", "a directory user's password is the directory's") }
            try Names.validateUsername(body.username)
            let user = User(
                id: .init(UUID().uuidString.lowercased()), username: body.username, isAdmin: body.isAdmin ?? false, source: User.ldapSource,
                createdAt: now())
            try await repository.createUser(user, passwordHash: nil)
            return EditedResponse(status: .created, response: user)
        case let other:
            throw ValidationError(field: "source", "\"\(other)\" is not local or ldap")
        }
    }

    func createLocalUser(username: String, password: String, isAdmin: Bool) async throws -> User {
        try Names.validateUsername(username)
        try Names.validatePassword(password)
        let user = User(
            id: .init(UUID().uuidString.lowercased()), username: username, isAdmin: isAdmin, source: User.localSource, createdAt: now())
        try await repository.createUser(user, passwordHash: try await Self.hash(password))
        return user
    }

    // MARK: Projects

    /// A project with the caller's role in it and the actions the role allows (what the portal offers them).
    struct ProjectView: ResponseEncodable {
        let project: Project
        let role: ProjectRole

        init(_ project: Project, role: ProjectRole) {
            self.project = project
            self.role = role
        }

        enum CodingKeys: CodingKey {
            case role, actions
        }

        func encode(to encoder: any Encoder) throws {
            try project.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(role, forKey: .role)
            try container.encode(ProjectAction.allowed(to: role).map(\.rawValue), forKey: .actions)
        }
    }

    struct ProjectList: ResponseEncodable {
        let projects: [ProjectView]
        /// The cursor of the next page; absent on the last.
        let next: String?
    }

    struct CreateProjectRequest: Decodable {
        let name: String
        let description: String?
    }

    struct UpdateProjectRequest: Decodable {
        let description: String?
        /// Replaces the settings: cluster, env, mounts, maxConcurrentRuns, maxConcurrentTasks, nodeSelector, network,
        /// hostPaths (platform admins only; absent: unchanged).
        let settings: ProjectSettings?
    }

    @Sendable func listProjects(_ request: Request, context: TrellisRequestContext) async throws -> ProjectList {
        let caller = try context.requireUser()
        let page = try await Page.filtering(
            try request.pageRequest(), key: { [$0.project.name] }, rowKey: { [$0.project.name] },
            read: { after, count in
                try await Self.read(settling: context.revocation) { token in
                    try await repository.projects(
                        of: .init(caller.id), all: caller.isAdmin, after: after?.first, limit: count, checking: token)
                }
            },
            keep: { found in caller.limited(found.role, in: found.project.name).map { ProjectView(found.project, role: $0) } })
        return ProjectList(projects: page.items, next: page.next)
    }

    @Sendable func createProject(_ request: Request, context: TrellisRequestContext) async throws -> EditedResponse<ProjectView> {
        let caller = try context.requireUser()
        guard caller.scope == nil else { throw APIError.forbidden("an API token cannot create projects; log in") }
        let body = try await request.decode(as: CreateProjectRequest.self, context: context)
        try Names.validateResourceName(body.name, field: "name")
        let description = body.description ?? ""
        guard description.count <= 2000 else { throw ValidationError(field: "description", "must be at most 2000 characters") }
        let date = now()
        let project = Project(
            id: .init(UUID().uuidString.lowercased()), name: body.name, description: description, createdBy: caller.username,
            createdAt: date, updatedAt: date
        )
        try await repository.createProject(project, owner: .init(caller.id))
        context.logger.info("project created", metadata: ["project": .string(project.name)])
        return EditedResponse(status: .created, response: ProjectView(project, role: .owner))
    }

    @Sendable func getProject(_ request: Request, context: TrellisRequestContext) async throws -> ProjectView {
        let (project, role) = try await access(context, needs: .read)
        return ProjectView(project, role: role)
    }

    @Sendable func updateProject(_ request: Request, context: TrellisRequestContext) async throws -> ProjectView {
        var (project, role) = try await access(context, needs: .configure)
        let body = try await request.decode(as: UpdateProjectRequest.self, context: context)
        if let description = body.description {
            guard description.count <= 2000 else { throw ValidationError(field: "description", "must be at most 2000 characters") }
            project.description = description
        }
        var sealed: [String: String] = [:]
        if var settings = body.settings {
            let problems = settings.problems()
            guard problems.isEmpty else { throw ValidationErrors(problems) }
            if settings.hostPaths == nil {
                settings.hostPaths = project.settings.hostPaths
            } else if settings.hostPaths != project.settings.hostPaths {
                _ = try context.requireAdmin(for: "choosing the host folders a project's tasks may mount (settings.hostPaths)")
            }
            // A binding that stays may name a cluster removed since: the project's runs say so when they start.
            if settings.cluster != project.settings.cluster { try await clusters.requireGranted(settings.cluster, to: project.name) }
            sealed = try await sealSecrets(of: settings, project: project)
            project.settings = settings.withoutNewValues
        }
        project.updatedAt = now()
        try await repository.updateProject(project, sealedSecrets: sealed)
        return ProjectView(project, role: role)
    }

    /// The new sealed values of `settings` (secret env values, webhooks' URLs and keys), sealed; an entry without a
    /// value keeps the stored one, and a new one without a value is a 400 naming it.
    func sealSecrets(of settings: ProjectSettings, project: Project) async throws -> [String: String] {
        let stored = try await repository.sealedSecrets(of: project.id)
        let missing = settings.missingSealedValues(stored: Set(stored.keys))
        guard missing.isEmpty else { throw ValidationErrors(missing) }
        return try settings.newSealedValues.mapValues { try secrets.seal($0) }
    }

    struct DeletionView: ResponseEncodable {
        let project: String
        let state = "deleting"
        let since: Date
        /// The services that still keep data of the project.
        let waitingFor: [String]
    }

    /// `DELETE /projects/{project}`: 202; the project is gone from view at once and its data is purged from every
    /// service in the background (``ProjectDeletion``).
    @Sendable func deleteProject(_ request: Request, context: TrellisRequestContext) async throws -> EditedResponse<DeletionView> {
        let (project, _) = try await access(context, needs: .deleteProject)
        let date = now()
        try await repository.beginDeletion(of: project.id, services: ProjectDeletion.services, at: date)
        context.logger.notice("project deletion started", metadata: ["project": .string(project.name)])
        return EditedResponse(
            status: .accepted,
            response: DeletionView(project: project.name, since: date, waitingFor: ProjectDeletion.services.map(\.rawValue)))
    }

    struct DeletionList: ResponseEncodable {
        let deletions: [DeletionView]
    }

    /// `GET /project-deletions` (admins): every deletion under way and what it waits for.
    @Sendable func listDeletions(_ request: Request, context: TrellisRequestContext) async throws -> DeletionList {
        _ = try context.requireAdmin(for: "following project deletions")
        return DeletionList(
            deletions: try await repository.deletionsUnderWay().map {
                DeletionView(project: $0.project, since: $0.since, waitingFor: $0.waitingFor)
            })
    }

    // MARK: Members

    struct MemberList: ResponseEncodable {
        let members: [Member]
    }

    struct AddMemberRequest: Decodable {
        let username: String
        let role: String
    }

    @Sendable func listMembers(_ request: Request, context: TrellisRequestContext) async throws -> MemberList {
        let (project, _) = try await access(context, needs: .read)
        return MemberList(members: try await repository.members(of: project.id))
    }

    @Sendable func addMember(_ request: Request, context: TrellisRequestContext) async throws -> EditedResponse<Member> {
        let (project, _) = try await access(context, needs: .manageMembers)
        let body = try await request.decode(as: AddMemberRequest.self, context: context)
        let role = try ProjectRole.parse(body.role)
        guard let user = try await repository.user(named: body.username)?.user else { throw IdentityError.userNotFound(body.username) }
        let date = now()
        let added = try await repository.setMember(user.id, role: role, in: project.id, at: date)
        let member =
            try await repository.members(of: project.id).first { $0.username == user.username }
            ?? Member(username: user.username, role: role, addedAt: date)
        return EditedResponse(status: added ? .created : .ok, response: member)
    }

    @Sendable func removeMember(_ request: Request, context: TrellisRequestContext) async throws -> HTTPResponse.Status {
        let (project, _) = try await access(context, needs: .manageMembers)
        let username = try context.parameters.require("username")
        guard let user = try await repository.user(named: username)?.user,
            try await repository.role(of: user.id, in: project.id) != nil
        else { throw IdentityError.userNotFound(username) }
        try await repository.removeMember(user.id, from: project.id, projectName: project.name)
        return .noContent
    }

    // MARK: Access

    /// The project named in the path and the caller's role in it. A project the caller is not a member of is
    /// "not found" to them, so project names do not leak; platform admins act as owners everywhere.
    func access(_ context: TrellisRequestContext, needs action: ProjectAction) async throws -> (Project, ProjectRole) {
        let caller = try context.requireUser()
        let name = try context.parameters.require("project")
        let found = try await Self.read(settling: context.revocation) { token in
            try await repository.project(named: name, roleOf: .init(caller.id), checking: token)
        }
        guard let found else { throw IdentityError.projectNotFound(name) }
        guard let role = caller.limited(caller.isAdmin ? .owner : found.role, in: name) else { throw IdentityError.projectNotFound(name) }
        guard role >= action.minimumRole else { throw IdentityError.notAllowed(action, project: name, role: role) }
        return (found.project, role)
    }

    // MARK: Passwords

    /// bcrypt is deliberately slow: run it on the thread pool, never on an event loop.
    static func hash(_ password: String) async throws -> String {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: 12) }
    }

    static func verify(_ password: String, hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }
}

extension User: ResponseEncodable {}
extension Member: ResponseEncodable {}

/// `GET /api/v1/auth/jwks`.
struct JWKSResponse: ResponseGenerator {
    let jwks: JWKS

    func response(from request: Request, context: some RequestContext) throws -> Response {
        try context.responseEncoder.encode(jwks, from: request, context: context)
    }
}

extension RevocationFeed: ResponseEncodable {}
