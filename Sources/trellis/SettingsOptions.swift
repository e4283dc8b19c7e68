import ArgumentParser
import TrellisHTTP

/// Where the data is: shared by the commands that open the database.
struct StorageOptions: ParsableArguments {
    @Option(help: "Folder for the SQLite database and task logs (TRELLIS_DATA_DIR; default ./.trellis).")
    var dataDir: String?

    @Option(help: "sqlite:PATH or postgres://user:password@host:port/db (TRELLIS_DATABASE_URL; default SQLite in the data dir).")
    var databaseURL: String?

    @Option(help: "A YAML configuration file (TRELLIS_CONFIG).")
    var config: String?

    /// The flags given, as configuration keys.
    var flags: [String: String] {
        var flags: [String: String] = [:]
        flags["data.dir"] = dataDir
        flags["database.url"] = databaseURL
        flags["config"] = config
        return flags
    }

    /// `settings` are the command's other `--flags` (any key of ``TrellisConfiguration``'s table, checked there).
    func load(defaultPort: Int, more: [String: String] = [:], settings: [String] = []) async throws -> TrellisConfiguration {
        do {
            return try await TrellisConfiguration.load(
                defaultPort: defaultPort, flags: flags.merging(more) { $1 }, arguments: settings.isEmpty ? nil : ["trellis"] + settings)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
    }
}
