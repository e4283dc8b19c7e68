import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Prometheus
import ServiceContracts
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

    /// Set by the pipeline store (the orchestrator reads pipeline versions through it).
    var pipelineClient: (any PipelineClient)? { get }

    /// Set by the cluster gateway (the orchestrator runs task attempts through it).
    var executorClient: (any ExecutorClient)? { get }

    /// Set by the orchestrator (the metrics collector follows its attempts).
    var attemptFeedClient: (any AttemptFeedClient)? { get }
}

extension ServiceModule {
    public static func migrations() throws -> MigrationSet? { nil }
    public var services: [any Service] { [] }
    public func bootstrap() async throws {}
    public var identityClient: (any IdentityClient)? { nil }
    public var templateClient: (any TemplateClient)? { nil }
    public var pipelineClient: (any PipelineClient)? { nil }
    public var executorClient: (any ExecutorClient)? { nil }
    public var attemptFeedClient: (any AttemptFeedClient)? { nil }
}

/// What a module is built with.
public struct ServiceEnvironment: Sendable {
    public let configuration: TrellisConfiguration
    public let database: Database
    public let httpClient: HTTPClient
    public let logger: Logger
    /// What `/metrics` shows: every module of the process records into it.
    public let metrics: PrometheusCollectorRegistry
    /// How to ask the identity service about projects and members: in process in embedded mode, over HTTP in
    /// split mode; nil only while the identity module itself is being built.
    public var identity: (any IdentityClient)?
    /// How to ask the template registry; nil until it exists (embedded) or for the registry itself.
    public var templates: (any TemplateClient)?
    /// How to read pipeline versions; nil until the pipeline store exists.
    public var pipelines: (any PipelineClient)?
    /// Where task attempts run; nil until the cluster gateway exists.
    public var executor: (any ExecutorClient)?
    /// The orchestrator's attempts; nil until the orchestrator exists.
    public var attempts: (any AttemptFeedClient)?
    /// Opened once the migrations are applied and the modules bootstrapped: long-running services wait for it
    /// before they touch their tables.
    public let ready = Gate()

    public init(
        configuration: TrellisConfiguration, database: Database, httpClient: HTTPClient, logger: Logger,
        metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), identity: (any IdentityClient)? = nil,
        templates: (any TemplateClient)? = nil, pipelines: (any PipelineClient)? = nil,
        executor: (any ExecutorClient)? = nil, attempts: (any AttemptFeedClient)? = nil
    ) {
        self.configuration = configuration
        self.database = database
        self.httpClient = httpClient
        self.logger = logger
        self.metrics = metrics
        self.identity = identity
        self.templates = templates
        self.pipelines = pipelines
        self.executor = executor
        self.attempts = attempts
    }

    /// The identity client, for modules that check project membership.
    public func requireIdentity(for service: ServiceName) throws -> any IdentityClient {
        try require(identity, from: .identity, for: service)
    }

    /// The template registry client, for modules that resolve templates.
    public func requireTemplates(for service: ServiceName) throws -> any TemplateClient {
        try require(templates, from: .templates, for: service)
    }

    /// The pipeline store client, for the orchestrator.
    public func requirePipelines(for service: ServiceName) throws -> any PipelineClient {
        try require(pipelines, from: .pipelines, for: service)
    }

    /// The cluster gateway client, for the orchestrator.
    public func requireExecutor(for service: ServiceName) throws -> any ExecutorClient {
        try require(executor, from: .clusterGateway, for: service)
    }

    /// The orchestrator's attempt feed, for the metrics collector.
    public func requireAttempts(for service: ServiceName) throws -> any AttemptFeedClient {
        try require(attempts, from: .orchestrator, for: service)
    }

    private func require<Client>(_ client: Client?, from provider: ServiceName, for service: ServiceName) throws -> Client {
        guard let client else {
            throw ConfigurationError(
                key: "services.\(provider.rawValue).url", value: "",
                reason: "the \(service.rawValue) service needs the \(provider.rawValue) service")
        }
        return client
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
