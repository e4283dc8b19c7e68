import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Prometheus
import ServiceContracts
import ServiceLifecycle
import TrellisStore

/// Builds routers and applications with the common plumbing, and runs a service as its own executable.
public enum ServiceHost {
    /// A router with request ids, metrics, JSON errors, `/healthz`, `/metrics` and the modules' routes under
    /// `/api/v1`. `extraMiddleware` runs after the common middleware (the gateway serves the portal there).
    public static func makeRouter(
        service: String,
        modules: [any ServiceModule],
        verifier: TokenVerifier,
        registry: PrometheusCollectorRegistry,
        database: Database?,
        extraMiddleware: [any MiddlewareProtocol<Request, Response, TrellisRequestContext>] = []
    ) -> Router<TrellisRequestContext> {
        let router = Router(context: TrellisRequestContext.self)
        addCommonMiddleware(to: router, service: service, registry: registry)
        for middleware in extraMiddleware { router.add(middleware: middleware) }
        OperationalRoutes(service: service, registry: registry, database: database).addRoutes(to: router)
        let publicRoutes = router.group("api/v1")
        let authenticated = router.group("api/v1").add(middleware: AuthenticationMiddleware(verifier: verifier))
        for module in modules {
            module.addRoutes(public: publicRoutes, authenticated: authenticated)
        }
        return router
    }

    /// Request id (outermost, so every response carries it), metrics, the route's body limit, then errors into JSON
    /// bodies.
    public static func addCommonMiddleware(
        to router: Router<TrellisRequestContext>, service: String, registry: PrometheusCollectorRegistry,
        unmatchedRoute: @escaping @Sendable (Request) -> String = { _ in "unmatched" }
    ) {
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: HTTPMetricsMiddleware(registry: registry, service: service, unmatchedRoute: unmatchedRoute))
        router.add(middleware: BodyLimitMiddleware())
        router.add(middleware: ErrorMiddleware())
    }

    /// The application for `modules` on one port. Before the server accepts requests it applies the modules'
    /// migrations and runs their bootstrap; at shutdown the server drains first and the database closes last.
    public static func makeApplication(
        modules: [any ServiceModule],
        router: Router<TrellisRequestContext>,
        environment: ServiceEnvironment
    ) throws -> Application<RouterResponder<TrellisRequestContext>> {
        let configuration = environment.configuration
        let migrationSets = try modules.compactMap { try type(of: $0).migrations() }
        var app = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            services: [environment.database, HTTPClientService(client: environment.httpClient)] + modules.flatMap(\.services),
            logger: environment.logger
        )
        app.beforeServerStarts {
            let migrator = Migrator(database: environment.database)
            for set in migrationSets {
                let applied = try await migrator.apply(set)
                if !applied.isEmpty {
                    environment.logger.info(
                        "applied migrations",
                        metadata: [
                            "service": .string(set.service), "versions": .string(applied.map { String($0.version) }.joined(separator: ",")),
                        ]
                    )
                }
            }
            for module in modules { try await module.bootstrap() }
            environment.ready.open()
        }
        return app
    }

    /// Runs one service as its own process: reads flags and `TRELLIS_*` settings, opens its database, applies its
    /// own migrations, serves until SIGTERM or SIGINT and then drains gracefully.
    public static func runStandalone<Module: ServiceModule>(
        _ module: Module.Type,
        arguments: [String] = CommandLine.arguments,
        environment variables: [String: String] = ProcessInfo.processInfo.environment
    ) async throws {
        let name = "trellis-\(Module.name.rawValue)"
        let configuration: TrellisConfiguration
        do {
            configuration = try await TrellisConfiguration.load(
                defaultPort: Module.name.defaultPort, arguments: arguments, environment: variables
            )
        } catch {
            FileHandle.standardError.write(Data("\(name): \(error)\n".utf8))
            exit(2)
        }
        await exitOnFailure(of: name) {
            try await serveStandalone(module, configuration: configuration)
        }
    }

    /// Runs a service until it stops; a failure (its port taken, its database unreachable) is one line naming the
    /// service on standard error and exit status 1, not a crash with a backtrace.
    public static func exitOnFailure(of name: String, _ body: () async throws -> Void) async {
        do {
            try await body()
        } catch {
            FileHandle.standardError.write(Data("\(name): \(error)\n".utf8))
            exit(1)
        }
    }

    private static func serveStandalone<Module: ServiceModule>(
        _ module: Module.Type, configuration: TrellisConfiguration
    ) async throws {
        let logger = JSONLogHandler.logger(label: "trellis-\(Module.name.rawValue)", level: configuration.logLevel)
        let httpClient = HTTPClient.betweenServices()
        let serviceToken = try ServiceToken(configuration: configuration)
        let remoteIdentity: (any IdentityClient)? =
            Module.name == .identity
            ? nil
            : HTTPIdentityClient(baseURL: configuration.serviceURL(.identity), httpClient: httpClient, serviceToken: serviceToken)
        let remoteTemplates: (any TemplateClient)? =
            Module.name == .templates
            ? nil
            : HTTPTemplateClient(baseURL: configuration.serviceURL(.templates), httpClient: httpClient, serviceToken: serviceToken)
        let remotePipelines: (any PipelineClient)? =
            Module.name == .pipelines
            ? nil
            : HTTPPipelineClient(baseURL: configuration.serviceURL(.pipelines), httpClient: httpClient, token: serviceToken)
        let remoteExecutor: (any ExecutorClient)? =
            Module.name == .clusterGateway
            ? nil
            : HTTPExecutorClient(
                baseURL: configuration.serviceURL(.clusterGateway), httpClient: httpClient, token: serviceToken)
        let remoteAttempts: (any AttemptFeedClient)? =
            Module.name == .orchestrator
            ? nil : HTTPAttemptFeedClient(baseURL: configuration.serviceURL(.orchestrator), httpClient: httpClient, token: serviceToken)
        let database = try await Database.open(configuration.databaseURL, logger: logger)
        let environment = ServiceEnvironment(
            configuration: configuration,
            database: database,
            httpClient: httpClient,
            logger: logger,
            identity: remoteIdentity,
            templates: remoteTemplates,
            pipelines: remotePipelines,
            executor: remoteExecutor,
            attempts: remoteAttempts
        )
        let module: Module
        do {
            module = try await Module(environment: environment)
        } catch {
            await database.closeUnused()
            try? await environment.httpClient.shutdown()
            throw error
        }
        let identity = try module.identityClient ?? environment.requireIdentity(for: Module.name)
        let router = makeRouter(
            service: Module.name.rawValue, modules: [module], verifier: TokenVerifier(identity: identity),
            registry: environment.metrics, database: database, extraMiddleware: [ClientAddressMiddleware(token: serviceToken)]
        )
        try await makeApplication(modules: [module], router: router, environment: environment).runService()
    }
}
