import ArgumentParser
import AsyncHTTPClient
import Gateway
import ServiceContracts
import TrellisHTTP
import TrellisStore

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the whole platform in one process: SQLite, local task processes, the portal on one port."
    )

    @Option(help: "Port for the portal and the API (TRELLIS_PORT).")
    var port: Int?

    @Option(help: "Address to listen on (TRELLIS_HOST).")
    var host: String?

    @Flag(help: "Create the demo project on start when it is missing.")
    var demo = false

    @OptionGroup var storage: StorageOptions

    @Argument(
        parsing: .allUnrecognized,
        help: ArgumentHelp(
            "Any other setting as a flag: --secrets-key, --token-lifetime, --log-level, --local-executor, --task-uids, …",
            discussion: "The keys of the configuration table in the README, as --flags (an unknown one is an error).",
            valueName: "--setting value"))
    var settings: [String] = []

    func run() async throws {
        var more: [String: String] = [:]
        more["port"] = port.map(String.init)
        more["host"] = host
        let configuration = try await storage.load(defaultPort: ServiceName.gatewayPort, more: more, settings: settings)
        let logger = JSONLogHandler.logger(label: "trellis", level: configuration.logLevel)
        let database = try await Database.open(configuration.databaseURL, logger: logger)
        let environment = ServiceEnvironment(
            configuration: configuration, database: database, httpClient: HTTPClient(eventLoopGroupProvider: .singleton), logger: logger)
        let platform: Platform.Embedded
        do {
            platform = try await Platform.embedded(environment: environment, demo: demo)
        } catch {
            await database.closeUnused()
            try? await environment.httpClient.shutdown()
            throw error
        }
        try await platform.application.runService()
    }
}
