import ArgumentParser
import Gateway
import ServiceContracts
import TrellisHTTP
import TrellisStore

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply every service's pending database migrations. Running it again is a no-op."
    )

    @OptionGroup var storage: StorageOptions

    func run() async throws {
        let configuration = try await storage.load(defaultPort: ServiceName.gatewayPort)
        let logger = JSONLogHandler.logger(label: "trellis.migrate", level: configuration.logLevel)
        let sets = try Platform.migrationSets()
        let report = try await Database.withOpened(configuration.databaseURL, logger: logger) { database in
            var lines: [String] = []
            for set in sets {
                let applied = try await Migrator(database: database).apply(set)
                lines.append(
                    applied.isEmpty
                        ? "\(set.service): up to date"
                        : "\(set.service): applied "
                            + applied.map { String(format: "%03d_%@", $0.version, $0.name) }.joined(separator: ", ")
                )
            }
            return lines
        }
        print("Database \(configuration.databaseURL)")
        report.forEach { print($0) }
    }
}
