import Foundation
import Hummingbird
import NIOCore

/// A Prometheus exporter for tests, on 127.0.0.1: `GET /metrics` answers what `text` says at each scrape, and
/// scripts/with-prometheus.sh's Prometheus scrapes it every second while `body` runs.
public enum TestExporter {
    public static func serve<T: Sendable>(
        _ text: @escaping @Sendable () -> String, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        guard let folder = ProcessInfo.processInfo.environment["TRELLIS_TEST_PROMETHEUS_TARGETS"] else {
            throw TransportError(
                "TRELLIS_TEST_PROMETHEUS_TARGETS is not set: run the tests with `make test`, which starts a private Prometheus")
        }
        let router = Router()
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: text())))
        }
        return try await TestServer.serve(router) { bound in
            let targets = URL(fileURLWithPath: folder).appendingPathComponent("exporter-\(bound).json")
            try Data(#"[{"targets": ["127.0.0.1:\#(bound)"]}]"#.utf8).write(to: targets)
            defer { try? FileManager.default.removeItem(at: targets) }
            return try await body()
        }
    }
}
