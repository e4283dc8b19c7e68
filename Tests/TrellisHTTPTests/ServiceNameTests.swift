import ServiceContracts
import Testing
import TrellisHTTP
import TrellisTestSupport

@Suite struct ServiceNameTests {
    @Test(arguments: [
        ("/api/v1/auth/login", ServiceName.identity),
        ("/api/v1/me", .identity),
        ("/api/v1/users", .identity),
        ("/api/v1/projects", .identity),
        ("/api/v1/projects/ml", .identity),
        ("/api/v1/projects/ml/members/bob", .identity),
        ("/api/v1/templates/shell/versions/1.0.0", .templates),
        ("/api/v1/projects/ml/templates", .templates),
        ("/api/v1/projects/ml/images/trainer", .templates),
        ("/api/v1/projects/ml/pipelines", .pipelines),
        ("/api/v1/projects/ml/pipelines/train", .pipelines),
        ("/api/v1/projects/ml/pipelines/train/export", .pipelines),
        ("/api/v1/projects/ml/pipelines/train/runs", .orchestrator),
        ("/api/v1/projects/ml/pipelines/train/tasks/prep/run", .orchestrator),
        ("/api/v1/projects/ml/pipelines/train/schedule-records", .orchestrator),
        ("/api/v1/projects/ml/pipelines/train/grid", .orchestrator),
        ("/api/v1/projects/ml/pipelines/train/schedule", .orchestrator),
        ("/api/v1/projects/ml/pipelines/train/schedule/pause", .orchestrator),
        ("/api/v1/projects/ml/pipelines/train/backfill", .orchestrator),
        ("/api/v1/projects/ml/runs/r1/tasks/prep/logs", .orchestrator),
        ("/api/v1/projects/ml/clusters", .clusterGateway),
        ("/api/v1/clusters", .clusterGateway),
        ("/api/v1/projects/ml/metrics", .metrics),
        ("/api/v1/projects/ml/runs/r1/usage", .metrics),
        ("/api/v1/projects/ml/runs/r1/tasks/prep/attempts/1/usage", .metrics),
        ("/api/v1/notifications", .orchestrator),
        ("/api/v1/notifications/read", .orchestrator),
        ("/api/v1/projects/ml/alerts", .orchestrator),
        ("/api/v1/projects/ml/storage", .orchestrator),
        ("/api/v1/projects/ml/alerts/retry", .orchestrator),
        ("/api/v1/projects/ml/pipelines/train/usage", .metrics),
        ("/api/v1/projects/ml/runs/r1/tasks/usage", .orchestrator),
        ("/api/v1/runs/r1", .orchestrator),
        ("/api/v1/template-usage/shell", .pipelines),
        ("/api/v1/tokens", .identity),
        ("/api/v1/tokens/t1", .identity),
    ])
    func eachAPIPathHasOneOwner(_ path: String, _ owner: ServiceName) {
        #expect(ServiceName.owner(ofPath: path) == owner)
    }

    @Test(arguments: [
        "/", "/api", "/api/v2/me", "/api/v1/unknown", "/api/v1/projects/ml/unknown", "/index.html",
        "/api/v1/internal/executions",
    ])
    func otherPathsHaveNoOwner(_ path: String) {
        #expect(ServiceName.owner(ofPath: path) == nil)
    }

    /// Every API route of docs/permissions.md but the internal ones reaches a service through split mode's gateway (the
    /// token routes once did not: API tokens could not be made there) — but the API document, which the gateway serves
    /// itself (DeploymentTests asks it there).
    @Test func everyDocumentedRouteHasAnOwner() throws {
        let table = try PermissionTable.load()
        let gatewaysOwn: Set = ["GET /api/v1/openapi.yaml", "GET /api/v1/openapi.json"]
        for route in table.order where table.routes[route] != .service && route.contains(" /api/") && !gatewaysOwn.contains(route) {
            let path = String(route.split(separator: " ")[1]).replacingOccurrences(
                of: #"\{[a-z]+\}"#, with: "x", options: .regularExpression)
            #expect(ServiceName.owner(ofPath: path) != nil, "\(route)")
        }
    }

    @Test func everyServiceHasItsOwnPort() {
        let ports = ServiceName.allCases.map(\.defaultPort) + [ServiceName.gatewayPort]
        #expect(Set(ports).count == ports.count)
    }
}
