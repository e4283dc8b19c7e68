import Hummingbird
import Prometheus

/// `GET /healthz` and `GET /metrics` (Prometheus text), served by every executable without a token.
public struct OperationalRoutes: Sendable {
    let service: String
    let registry: PrometheusCollectorRegistry

    public init(service: String, registry: PrometheusCollectorRegistry) {
        self.service = service
        self.registry = registry
    }

    struct Health: ResponseEncodable {
        let status: String
        let service: String
    }

    public func addRoutes(to router: Router<TrellisRequestContext>) {
        router.get("healthz") { _, _ in Health(status: "ok", service: service) }
        router.get("metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
            )
        }
    }
}
