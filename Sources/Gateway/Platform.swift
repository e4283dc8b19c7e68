import AsyncHTTPClient
import ClusterGateway
import Foundation
import Hummingbird
import Identity
import Logging
import MetricsCollector
import PipelineStore
import Prometheus
import RunOrchestrator
import ServiceContracts
import TemplateRegistry
import TrellisHTTP
import TrellisStore

/// Composes Trellis's two modes from the same service libraries.
public enum Platform {
    /// Every service module, in the order their migrations apply.
    public static let modules: [any ServiceModule.Type] = [
        IdentityModule.self, TemplateRegistryModule.self, PipelineStoreModule.self, ClusterGatewayModule.self,
        RunOrchestratorModule.self, MetricsCollectorModule.self,
    ]

    /// The migration sets of every service, for `trellis migrate`.
    public static func migrationSets() throws -> [MigrationSet] {
        try modules.compactMap { try $0.migrations() }
    }

    /// The embedded platform: its application and every route its router registers.
    public struct Embedded {
        public let application: Application<RouterResponder<TrellisRequestContext>>
        /// `METHOD /path`, parameters as `{name}`: what the access-matrix test walks.
        public let routes: [String]
    }

    /// The embedded platform (`trellis serve`): every service and the portal in one process, on one port.
    /// With `demo`, the project `demo` is created on start when missing.
    public static func embedded(environment base: ServiceEnvironment, demo: Bool) async throws -> Embedded {
        // Identity first: every other module asks it, in process, about projects and members.
        let identity = try await IdentityModule(environment: base)
        var environment = base
        environment.identity = identity.identityClient
        var modules: [any ServiceModule] = [identity]
        for type in Self.modules where type != IdentityModule.self {
            let module = try await type.init(environment: environment)
            // Each module answers the modules built after it in process: the registry resolves templates for the
            // pipeline store and the orchestrator, the store and the cluster gateway serve the orchestrator, and the
            // orchestrator and the cluster gateway serve the metrics collector.
            environment.templates = environment.templates ?? module.templateClient
            environment.pipelines = environment.pipelines ?? module.pipelineClient
            environment.executor = environment.executor ?? module.executorClient
            environment.attempts = environment.attempts ?? module.attemptFeedClient
            modules.append(module)
        }
        if let executor = environment.executor {
            identity.bindClusters(executor)
            for case let store as PipelineStoreModule in modules { store.bindClusters(executor) }
        }
        let router = ServiceHost.makeRouter(
            service: "trellis", modules: modules, verifier: TokenVerifier(identity: try environment.requireIdentity(for: .identity)),
            registry: environment.metrics, database: environment.database,
            extraMiddleware: [WebMiddleware(files: EmbeddedWeb.files)]
        )
        try APIDocument().addRoutes(to: router)
        var app = try ServiceHost.makeApplication(modules: modules, router: router, environment: environment)
        let configuration = environment.configuration
        let pipelines = modules.compactMap { $0 as? PipelineStoreModule }.first
        app.beforeServerStarts {
            if demo {
                try await identity.seedDemoProject()
                try await pipelines?.seedDemoPipeline(project: "demo", owner: "admin")
            }
            let notice = "Trellis is serving on http://\(configuration.host):\(configuration.port) (data: \(configuration.databaseURL))\n"
            FileHandle.standardOutput.write(Data(notice.utf8))
        }
        return Embedded(application: app, routes: router.routes.map(\.description))
    }

    /// The gateway of split mode: the portal, plus a token check and a reverse proxy to each service's own process.
    public static func gatewayApplication(configuration: TrellisConfiguration, logger: Logger) throws -> some ApplicationProtocol {
        let httpClient = HTTPClient.betweenServices()
        let upstreams = configuration.serviceURLs
        let identity = HTTPIdentityClient(baseURL: upstreams[.identity]!, httpClient: httpClient, serviceToken: nil)
        let router = Router(context: TrellisRequestContext.self)
        let registry = PrometheusCollectorRegistry()
        ServiceHost.addCommonMiddleware(to: router, service: "gateway", registry: registry) { request in
            ServiceName.owner(ofPath: request.uri.path).map { "proxy:\($0.rawValue)" } ?? "unmatched"
        }
        let serviceToken: ServiceToken?
        do {
            serviceToken = try ServiceToken(configuration: configuration)
        } catch {
            logger.warning(
                "without the secrets key the services see the gateway as every client's address", metadata: ["error": "\(error)"])
            serviceToken = nil
        }
        router.add(
            middleware: ProxyMiddleware(
                upstreams: upstreams, httpClient: httpClient, verifier: TokenVerifier(identity: identity), serviceToken: serviceToken,
                ownPaths: APIDocument.paths))
        router.add(middleware: WebMiddleware(files: EmbeddedWeb.files))
        try APIDocument().addRoutes(to: router)
        OperationalRoutes(service: "gateway", registry: registry).addRoutes(to: router)
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            services: [HTTPClientService(client: httpClient)],
            logger: logger
        )
    }

    /// `trellis-gateway`: reads flags and `TRELLIS_*` settings and serves until SIGTERM.
    public static func runGateway(arguments: [String] = CommandLine.arguments) async throws {
        let configuration: TrellisConfiguration
        do {
            configuration = try await TrellisConfiguration.load(defaultPort: ServiceName.gatewayPort, arguments: arguments)
        } catch {
            FileHandle.standardError.write(Data("trellis-gateway: \(error)\n".utf8))
            exit(2)
        }
        let logger = JSONLogHandler.logger(label: "trellis-gateway", level: configuration.logLevel)
        await ServiceHost.exitOnFailure(of: "trellis-gateway") {
            try await gatewayApplication(configuration: configuration, logger: logger).runService()
        }
    }
}
