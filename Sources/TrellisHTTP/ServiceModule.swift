import AsyncHTTPClient
import Hummingbird
import Logging
import ServiceLifecycle
import TrellisStore

/// What a service library gives the executables: its routes, its long-running services and its tables. The
/// all-in-one `trellis serve` and the service's own executable compose the same module; nothing else differs.
public protocol ServiceModule: Sendable {
    static var name: ServiceName { get }
    /// The service's own tables, or nil when it keeps none.
    static func migrations() throws -> MigrationSet?

    init(environment: ServiceEnvironment) async throws

    /// `public` routes need no token; `authenticated` ones have the caller in `context.user`. Both are under `/api/v1`.
    func addRoutes(public: RouterGroup<TrellisRequestContext>, authenticated: RouterGroup<TrellisRequestContext>)

    /// Long-running work (schedulers, watchers, samplers), run for as long as the process serves.
    var services: [any Service] { get }

    /// One-time work after the migrations and before serving (the identity service creates `admin` here).
    func bootstrap() async throws

    /// Set by the identity module, which verifies tokens in process; others ask it over HTTP in split mode.
    var identityClient: (any IdentityClient)? { get }

    /// Set by the template registry, which answers other modules in process in embedded mode.
    var templateClient: (any TemplateClient)? { get }
}

extension ServiceModule {
    public static func migrations() throws -> MigrationSet? { nil }
    public var services: [any Service] { [] }
    public func bootstrap() async throws {}
    public var identityClient: (any IdentityClient)? { nil }
    public var templateClient: (any TemplateClient)? { nil }
}

/// What a module is built with.
public struct ServiceEnvironment: Sendable {
    public let configuration: TrellisConfiguration
    public let database: Database
    public let httpClient: HTTPClient
    public let logger: Logger
    /// How to ask the identity service about projects and members: in process in embedded mode, over HTTP in
    /// split mode; nil only while the identity module itself is being built.
    public var identity: (any IdentityClient)?
    /// How to ask the template registry; nil until it exists (embedded) or for the registry itself.
    public var templates: (any TemplateClient)?

    public init(
        configuration: TrellisConfiguration, database: Database, httpClient: HTTPClient, logger: Logger,
        identity: (any IdentityClient)? = nil, templates: (any TemplateClient)? = nil
    ) {
        self.configuration = configuration
        self.database = database
        self.httpClient = httpClient
        self.logger = logger
        self.identity = identity
        self.templates = templates
    }

    /// The identity client, for modules that check project membership.
    public func requireIdentity(for service: ServiceName) throws -> any IdentityClient {
        guard let identity else {
            throw ConfigurationError(
                key: "services.identity.url", value: "", reason: "the \(service.rawValue) service needs the identity service")
        }
        return identity
    }

    /// The template registry client, for modules that resolve templates.
    public func requireTemplates(for service: ServiceName) throws -> any TemplateClient {
        guard let templates else {
            throw ConfigurationError(
                key: "services.templates.url", value: "", reason: "the \(service.rawValue) service needs the templates service")
        }
        return templates
    }
}

/// Keeps an `HTTPClient` for as long as the process serves and shuts it down after the server stops.
public struct HTTPClientService: Service {
    public let client: HTTPClient

    public init(client: HTTPClient) {
        self.client = client
    }

    public func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
