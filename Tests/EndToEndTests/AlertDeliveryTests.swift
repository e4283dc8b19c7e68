import AsyncHTTPClient
import Foundation
import Testing
import TrellisTestSupport

/// Each alert reaches a real HTTP receiver exactly once, in split mode on PostgreSQL, with two orchestrators sharing
/// the outbox and one of them killed (-9) while deliveries wait for a receiver that refuses them.
@Suite(.serialized, .aloneAmongDeployments) struct AlertDeliveryTests {
    static let adminPassword = "alerts-admin-password"
    static let runs = 8

    @Test func eachAlertOnceAcrossKillMinusNineAndTwoOrchestrators() async throws {
        let receiver = WebhookReceiver()
        try await receiver.serve { base in
            try await TestDatabases.withFresh(.postgres, pools: DeploymentTests.servicePools + 1) { url in
                // Short waits between tries, many tries: deliveries stay pending while the receiver refuses them.
                let environment = [
                    "TRELLIS_ADMIN_PASSWORD": Self.adminPassword, "TRELLIS_SECRETS_KEY": EmbeddedHarness.secretsKey,
                    "TRELLIS_ALERTS_BACKOFF": "100ms", "TRELLIS_ALERTS_ATTEMPTS": "30",
                ]
                let deployment = try SplitDeployment(databaseURL: DeploymentTests.plainURL(url), environment: environment)
                defer { _ = try? deployment.stop() }
                try await Self.check(receiver, base: base, deployment: deployment, environment: environment)
            }
        }
    }

    static func check(_ receiver: WebhookReceiver, base: String, deployment: SplitDeployment, environment: [String: String]) async throws {
        // A second orchestrator on the same database, reaching the other services as the first does.
        var second = environment
        second["TRELLIS_DATABASE_URL"] = deployment.databaseURL
        second["TRELLIS_DATA_DIR"] = deployment.stateDir.path
        for service in SplitDeployment.services {
            second["TRELLIS_SERVICES_\(service.uppercased().replacingOccurrences(of: "-", with: "_"))_URL"] = deployment.url(of: service)
        }
        let port = try Processes.freePorts(1)
        let secondLog = deployment.stateDir.appendingPathComponent("orchestrator-2.log")
        let other = try Processes.start(
            Processes.binDirectory.appendingPathComponent("trellis-orchestrator"), ["--port", String(port)], environment: second,
            log: secondLog)
        defer { if other.isRunning { other.terminate() } }
        try await Processes.waitHealthy("http://127.0.0.1:\(port)/healthz", client: HTTPClient.shared, process: other, log: secondLog)

        let gateway = HTTPTransport(baseURL: deployment.gatewayURL, client: HTTPClient.shared)
        let admin = try await gateway.login("admin", adminPassword)
        #expect(try await gateway.call("POST", "/api/v1/projects", token: admin, json: ["name": "pager"]).status == 201)
        let current = try await gateway.call("GET", "/api/v1/projects/pager", token: admin)
        var settings = try #require(current.json["settings"] as? [String: Any])
        settings["webhooks"] = ["oncall": ["url": "\(base)/oncall", "secret": "oncall-signing-key"]]
        settings["alerts"] = ["on": ["failed"], "webhooks": ["oncall"]]
        let saved = try await gateway.call("PATCH", "/api/v1/projects/pager", token: admin, json: ["settings": settings])
        try #require(saved.status == 200, "\(saved.text)")
        try await gateway.applyPipeline(
            "boom", project: "pager", token: admin, tasks: [["name": "a", "template": "shell", "args": ["command": "exit 1"]]])

        // The receiver refuses; every run fails and its alert waits, tried again and again by both orchestrators.
        receiver.fail("/oncall")
        var ids: [String] = []
        for _ in 0..<runs { ids.append(try await gateway.startRun("boom", project: "pager", token: admin)) }
        for id in ids { #expect(try await gateway.waitForRun(id, project: "pager", token: admin)["state"] as? String == "failed") }
        @Sendable func deliveries() async throws -> [[String: Any]] {
            let listed = try await gateway.call("GET", "/api/v1/projects/pager/alerts", token: admin)
            return listed.json["deliveries"] as? [[String: Any]] ?? []
        }
        try await Waiting.until("every alert tried and refused") {
            let found = try await deliveries()
            return found.count == runs && found.allSatisfy { ($0["attempts"] as? Int ?? 0) >= 1 && $0["state"] as? String == "pending" }
        }

        // The launcher's orchestrator dies mid-retry; the receiver comes back; the orchestrator is started again.
        let first = try #require(deployment.pids.first { $0.name == "orchestrator" }?.pid)
        kill(first, SIGKILL)
        try await Waiting.until("the orchestrator (\(first)) to be gone", limit: .seconds(10)) { !Processes.isAlive(first) }
        // Answers take longer than a pass of the outbox: both orchestrators look at each delivery while it is in flight.
        receiver.slow("/oncall", by: .milliseconds(1500))
        receiver.accept("/oncall")
        try deployment.restart("orchestrator")
        try await Waiting.until("every alert delivered", limit: .seconds(120)) {
            try await deliveries().allSatisfy { $0["state"] as? String == "delivered" }
        }

        let accepted = receiver.accepted("/oncall")
        let events = accepted.compactMap { $0.headers["x-trellis-event"] }
        let logs = [deployment.stateDir.appendingPathComponent("orchestrator.log"), secondLog]
        #expect(accepted.count == runs, "each alert once: \(events); tries that failed otherwise:\n\(Self.failedTries(in: logs))")
        #expect(Set(accepted.compactMap { $0.json["run"] as? String }) == Set(ids))
        #expect(Set(events).count == runs)
        #expect(accepted.allSatisfy { $0.isSigned(with: "oncall-signing-key") })
        #expect(receiver.refused("/oncall") >= runs)
        #expect(other.isRunning)
    }

    /// The orchestrators' log lines of webhook tries that failed for another reason than the receiver's refusal (a
    /// timeout, say: the receiver got the request, the sender did not get the answer, and the alert is sent again).
    static func failedTries(in logs: [URL]) -> String {
        logs.flatMap { log in
            ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n")
                .filter { $0.contains("webhook try failed") && !$0.contains("503") }.map { "\(log.lastPathComponent): \($0)" }
        }.joined(separator: "\n")
    }
}
