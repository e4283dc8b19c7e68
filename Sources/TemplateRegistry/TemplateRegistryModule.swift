import Foundation
import Hummingbird
import Logging
import ServiceContracts
import ServiceLifecycle
import TrellisHTTP
import TrellisStore

/// The template registry: task templates, their versions, and the marketplace of published ones.
public struct TemplateRegistryModule: ServiceModule {
    public static let name = ServiceName.templates

    public static func migrations() throws -> MigrationSet? {
        try MigrationSet(service: name.rawValue, files: EmbeddedMigrations.files)
    }

    let controller: TemplateController<SQLTemplateRepository>
    let images: ImageController<SQLImageRepository>
    let serviceToken: ServiceToken
    let logger: Logger
    let purger: ProjectPurger

    public init(environment: ServiceEnvironment) async throws {
        let access = ProjectAccess(identity: try environment.requireIdentity(for: Self.name))
        controller = TemplateController(repository: SQLTemplateRepository(database: environment.database), access: access, now: Date.init)
        let configuration = environment.configuration
        images = ImageController(
            repository: SQLImageRepository(database: environment.database),
            secrets: try SecretBox.load(base64Key: configuration.secretsKey, dataDirectory: configuration.dataDirectory),
            access: access, now: Date.init
        )
        serviceToken = try ServiceToken(configuration: configuration)
        logger = environment.logger
        let (templates, images) = (controller.repository, images.repository)
        purger = try ProjectPurger(Self.name, environment: environment) { deletion in
            try await images.deleteAll(ofProject: deletion.project)
            try await templates.release(ofProject: deletion.project)
        }
    }

    public var services: [any Service] { [purger] }

    public var templateClient: (any TemplateClient)? { InProcessTemplateClient(controller: controller, images: images) }

    public func addRoutes(public: RouterGroup<TrellisRequestContext>, authenticated: RouterGroup<TrellisRequestContext>) {
        controller.addRoutes(to: authenticated)
        images.addRoutes(to: authenticated)
        `public`.group("internal/templates").add(middleware: ServiceTokenMiddleware(token: serviceToken))
            .get("projects/:project/registries", use: images.registries)
    }

    /// Registers and publishes the built-in templates that are missing (a new Trellis version may add versions).
    public func bootstrap() async throws {
        let repository = controller.repository
        for spec in try BuiltinTemplates.all() {
            let existing = try await repository.template(named: spec.name)
            if let existing, try await repository.versions(of: existing).contains(where: { $0.version.version == spec.version }) {
                continue
            }
            let record = existing ?? TemplateRecord(id: UUID().uuidString.lowercased(), name: spec.name, project: nil, builtin: true)
            let date = Date()
            try await repository.save(
                TemplateVersion(
                    template: spec.name, version: spec.version, status: .published, deprecated: nil, createdBy: "trellis", createdAt: date,
                    publishedAt: date, spec: spec
                ),
                template: record
            )
            logger.info("built-in template registered", metadata: ["template": .string("\(spec.name)@\(spec.version)")])
        }
    }
}
