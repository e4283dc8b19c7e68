import Foundation
import Hummingbird
import Logging
import ServiceContracts
import TrellisCore
import TrellisHTTP
import TrellisStore

/// The identity service: users, login and access tokens, projects and memberships.
public struct IdentityModule: ServiceModule {
    public static let name = ServiceName.identity

    public static func migrations() throws -> MigrationSet? {
        try MigrationSet(service: name.rawValue, files: EmbeddedMigrations.files)
    }

    let controller: IdentityController<SQLIdentityRepository>
    let tokens: APITokenController<SQLIdentityRepository>
    let adminPassword: String?
    let logger: Logger
    let serviceToken: ServiceToken
    let clusters: ClusterDirectory
    public let identityClient: (any IdentityClient)?

    public init(environment: ServiceEnvironment) async throws {
        try await self.init(environment: environment, now: Date.init)
    }

    init(environment: ServiceEnvironment, now: @escaping @Sendable () -> Date) async throws {
        let repository = SQLIdentityRepository(database: environment.database)
        let configuration = environment.configuration
        let secrets = try SecretBox.load(base64Key: configuration.secretsKey, dataDirectory: configuration.dataDirectory)
        let issuer = TokenIssuer(repository: repository, secrets: secrets, lifetime: configuration.tokenLifetime, now: now)
        let decoy = try await IdentityController<SQLIdentityRepository>.hash(UUID().uuidString)
        clusters = ClusterDirectory(environment.executor)
        controller = IdentityController(
            repository: repository, issuer: issuer, now: now, directory: environment.configuration.ldap.map(LDAPDirectory.init),
            throttle: LoginThrottle(), refreshes: RateLimit(limit: 20, window: 60), decoyHash: decoy,
            clusters: ClusterCheck(directory: clusters), secrets: secrets)
        tokens = APITokenController(repository: repository, now: now)
        identityClient = InProcessIdentityClient(issuer: issuer, repository: repository, tokens: tokens, secrets: secrets)
        adminPassword = environment.configuration.adminPassword
        logger = environment.logger
        serviceToken = try ServiceToken(configuration: environment.configuration)
        if let adminPassword {
            do {
                try Names.validatePassword(adminPassword, field: "admin.password")
            } catch {
                throw ConfigurationError(key: "admin.password", value: "(hidden)", reason: error.message)
            }
        }
    }

    /// The cluster gateway, built after this module in embedded mode: project settings name its clusters.
    public func bindClusters(_ executor: any ExecutorClient) {
        clusters.bind(executor)
    }

    public func addRoutes(public publicRoutes: RouterGroup<TrellisRequestContext>, authenticated: RouterGroup<TrellisRequestContext>) {
        controller.addRoutes(public: publicRoutes, authenticated: authenticated)
        tokens.addRoutes(public: publicRoutes, authenticated: authenticated)
        let internalRoutes = publicRoutes.group("internal/identity").add(middleware: ServiceTokenMiddleware(token: serviceToken))
        internalRoutes.post("act-as", use: actAs)
        internalRoutes.get("projects/:project/settings") { _, context in
            let name = try context.parameters.require("project")
            guard let project = try await controller.repository.project(named: name) else {
                throw APIError.notFound("no project named \"\(name)\"")
            }
            return project.settings
        }
        internalRoutes.get("projects/:project/secrets") { _, context in
            let name = try context.parameters.require("project")
            guard let values = try await identityClient?.secretEnvironment(ofProject: name) else {
                throw APIError.notFound("no project named \"\(name)\"")
            }
            return SecretValues(values: values)
        }
        internalRoutes.get("projects/:project/alerting") { _, context in
            let name = try context.parameters.require("project")
            guard let alerting = try await identityClient?.alerting(ofProject: name) else {
                throw APIError.notFound("no project named \"\(name)\"")
            }
            return alerting
        }
        internalRoutes.get("project-deletions") { request, _ in
            ProjectDeletions(deletions: try await controller.repository.pendingDeletions(for: try Self.service(request)))
        }
        internalRoutes.post("project-deletions/:id/done") { request, context -> HTTPResponse.Status in
            let id = try context.parameters.require("id")
            try await controller.repository.finishDeletion(of: .init(id), by: try Self.service(request), at: Date())
            return .noContent
        }
    }

    struct SecretValues: ResponseEncodable {
        let values: [String: String]
    }

    struct ProjectDeletions: ResponseEncodable {
        let deletions: [ProjectDeletion]
    }

    /// The `service` a project deletion route is asked for: one of those that purge.
    static func service(_ request: Request) throws -> ServiceName {
        guard let text = request.uri.queryParameters.get("service"), let service = ServiceName(rawValue: text),
            ProjectDeletion.services.contains(service)
        else {
            throw APIError.invalidField("service", "must be one of \(ProjectDeletion.services.map(\.rawValue).joined(separator: ", "))")
        }
        return service
    }

    struct ActAsRequest: Decodable {
        let username: String
    }

    struct ActAsResponse: ResponseEncodable {
        let token: String
        let user: AuthenticatedUser
    }

    /// `POST /api/v1/internal/identity/act-as {username}`: a token for a user, for services working on their behalf.
    @Sendable func actAs(_ request: Request, context: TrellisRequestContext) async throws -> ActAsResponse {
        let body = try await request.decode(as: ActAsRequest.self, context: context)
        guard let caller = try await identityClient?.actAs(body.username) else { throw APIError.notFound("no user \(body.username)") }
        return ActAsResponse(token: caller.token, user: caller.user)
    }

    /// On the very first start, creates the platform admin `admin`, with `TRELLIS_ADMIN_PASSWORD` or a generated
    /// password printed once; and makes sure a token signing key exists.
    public func bootstrap() async throws {
        _ = try await controller.issuer.publicKeys()
        guard try await controller.repository.userCount() == 0 else { return }
        let password = adminPassword ?? Self.generatePassword()
        _ = try await controller.createLocalUser(username: "admin", password: password, isAdmin: true)
        let notice =
            adminPassword == nil
            ? "Trellis: created the platform admin. Log in as admin with password \(password) (shown once).\n"
            : "Trellis: created the platform admin. Log in as admin with the password from TRELLIS_ADMIN_PASSWORD.\n"
        FileHandle.standardOutput.write(Data(notice.utf8))
        logger.notice("created platform admin", metadata: ["username": "admin"])
    }

    /// Creates the project `demo`, owned by `admin`, unless it exists (`trellis serve --demo`, used by `make run`).
    public func seedDemoProject() async throws {
        let repository = controller.repository
        guard try await repository.project(named: "demo") == nil, let admin = try await repository.user(named: "admin")?.user else {
            return
        }
        let date = Date()
        let project = Project(
            id: .init(UUID().uuidString.lowercased()), name: "demo", description: "A demo project to try Trellis in.",
            createdBy: admin.username, createdAt: date, updatedAt: date
        )
        try await repository.createProject(project, owner: admin.id)
    }

    /// 20 characters from an alphabet without look-alikes (no 0/O, 1/l/I).
    static func generatePassword() -> String {
        let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet.randomElement(using: &generator)! })
    }
}

/// The internal settings route answers with the settings themselves.
extension ProjectSettings: ResponseEncodable {}
extension ProjectAlerting: ResponseEncodable {}
