import Hummingbird
import Prometheus
import TrellisStore

/// `GET /healthz` and `GET /metrics` (Prometheus text), served by every executable without a token.
public struct OperationalRoutes: Sendable {
    let service: String
    let registry: PrometheusCollectorRegistry
    /// The executable's database, when it has one: `/healthz` says degraded while it cannot be reached.
    let database: Database?

    public init(service: String, registry: PrometheusCollectorRegistry, database: Database? = nil) {
        self.service = service
        self.registry = registry
        self.database = database
    }

    struct Health: ResponseEncodable {
        let status: String
        let service: String
        /// Why the service is degraded (its database away); absent when it is ok.
        var database: String?
    }

    /// How long `/healthz` waits for the database to answer `SELECT 1`.
    static let databaseDeadline = Duration.seconds(2)

    public func addRoutes(to router: Router<TrellisRequestContext>) {
        router.get("healthz") { _, _ -> EditedResponse<Health> in
            guard let database, let problem = await Self.problem(of: database) else {
                return EditedResponse(status: .ok, response: Health(status: "ok", service: service))
            }
            return EditedResponse(status: .serviceUnavailable, response: Health(status: "degraded", service: service, database: problem))
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
            )
        }
    }

    /// Nil when the database answers within ``databaseDeadline``; else what went wrong.
    static func problem(of database: Database) async -> String? {
        await withTaskGroup(of: String?.self) { group in
            group.addTask {
                do {
                    try await database.read { sql in _ = try await sql.raw("SELECT 1").all() }
                    return nil
                } catch {
                    return "unreachable: \(String(describing: error).prefix(300))"
                }
            }
            group.addTask {
                try? await Task.sleep(for: databaseDeadline)
                return "no answer within \(databaseDeadline)"
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}
