import Logging
import Synchronization

/// Counts the SQL statements a database opened with ``logger`` executes (sql-kit logs each one at debug level), to
/// show that a list costs a fixed number of queries, not one per item.
public final class QueryCounter: Sendable {
    let statements = Mutex<[String]>([])

    public init() {}

    public var logger: Logger {
        var logger = Logger(label: "trellis.test.queries") { _ in Handler(counter: self) }
        logger.logLevel = .debug
        return logger
    }

    /// The statements executed while `body` ran.
    public func during(_ body: () async throws -> Void) async rethrows -> [String] {
        statements.withLock { $0.removeAll() }
        try await body()
        return statements.withLock { $0 }
    }

    struct Handler: LogHandler {
        let counter: QueryCounter
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            guard event.message.description == "Executing query", case .string(let sql)? = event.metadata?["sql"] else { return }
            counter.statements.withLock { $0.append(sql) }
        }
    }
}
