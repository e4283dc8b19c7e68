import Foundation

/// Where the data lives: a SQLite file (embedded default) or a PostgreSQL server.
///
/// Accepted forms: `sqlite:///absolute/path.db`, `sqlite:relative/path.db`, `sqlite::memory:`,
/// `postgres://user:password@host:port/database` (also `postgresql://`).
public enum DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    case sqliteFile(path: String)
    case sqliteMemory
    case postgres(url: String)

    public init(_ text: String) throws(StoreError) {
        if text == "sqlite::memory:" {
            self = .sqliteMemory
        } else if text.hasPrefix("sqlite://") {
            let path = String(text.dropFirst("sqlite://".count))
            guard !path.isEmpty else { throw .invalidURL(text, reason: "no file path after sqlite://") }
            self = .sqliteFile(path: path)
        } else if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw .invalidURL(text, reason: "no file path after sqlite:") }
            self = .sqliteFile(path: path)
        } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            guard let url = URL(string: text), url.host != nil else {
                throw .invalidURL(text, reason: "expected postgres://user:password@host:port/database")
            }
            self = .postgres(url: text)
        } else {
            throw .invalidURL(text, reason: "expected a sqlite: or postgres:// URL")
        }
    }

    /// The SQLite file inside a data directory: the embedded default.
    public static func sqlite(inDataDirectory directory: String) -> DatabaseURL {
        .sqliteFile(path: URL(fileURLWithPath: directory).appendingPathComponent("trellis.db").path)
    }

    /// The URL with any password masked, for logs and messages.
    public var description: String {
        switch self {
        case .sqliteFile(let path): return "sqlite://\(path)"
        case .sqliteMemory: return "sqlite::memory:"
        case .postgres(let url):
            guard var components = URLComponents(string: url) else { return "postgres://…" }
            if components.password != nil { components.password = "***" }
            return components.string ?? "postgres://…"
        }
    }
}
