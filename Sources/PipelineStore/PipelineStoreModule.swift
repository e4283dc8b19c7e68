import Foundation
import Hummingbird
import TrellisHTTP
import TrellisStore

/// The pipeline store: pipelines, their versions and editor layout, validated against the templates they use.
public struct PipelineStoreModule: ServiceModule {
    public static let name = ServiceName.pipelines

    public static func migrations() throws -> MigrationSet? {
        try MigrationSet(service: name.rawValue, files: EmbeddedMigrations.files)
    }

    let controller: PipelineController<SQLPipelineRepository>

    public init(environment: ServiceEnvironment) async throws {
        controller = PipelineController(
            repository: SQLPipelineRepository(database: environment.database),
            access: ProjectAccess(identity: try environment.requireIdentity(for: Self.name)),
            templates: try environment.requireTemplates(for: Self.name),
            now: Date.init
        )
    }

    public func addRoutes(public: RouterGroup<TrellisRequestContext>, authenticated: RouterGroup<TrellisRequestContext>) {
        controller.addRoutes(to: authenticated)
    }
}
