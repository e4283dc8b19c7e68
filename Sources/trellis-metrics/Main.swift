import MetricsCollector
import TrellisHTTP

@main
struct Main {
    static func main() async throws {
        try await ServiceHost.runStandalone(MetricsCollectorModule.self)
    }
}
