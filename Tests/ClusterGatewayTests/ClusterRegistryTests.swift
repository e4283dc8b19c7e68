import Foundation
import SQLKit
import Testing
import TrellisStore
import TrellisTestSupport

/// Platform admins register clusters; credentials are sealed at rest and never come back through the API; the health
/// check reaches the real kube-apiserver of scripts/with-kube.sh with them.
@Suite struct ClusterRegistryTests {
    @Test(arguments: DatabaseKind.allCases)
    func credentialsGoInSealedNeverComeOutAndTheHealthCheckUsesThem(_ kind: DatabaseKind) async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let server = environment["TRELLIS_TEST_KUBE_URL"], let token = environment["TRELLIS_TEST_KUBE_TOKEN"],
            let caFile = environment["TRELLIS_TEST_KUBE_CA"]
        else { throw KubernetesClientTests.MissingCluster() }
        let ca = try String(contentsOfFile: caFile, encoding: .utf8)
        try await EmbeddedHarness.with(kind) { api, url in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let registered = try await api.call(
                "POST", "/api/v1/clusters", token: admin,
                json: ["name": "lab", "server": server, "namespace": "trellis", "ca": ca, "token": token])
            #expect(registered.status == 201, "\(registered.text)")
            #expect(registered.json["credentials"] as? String == "sealed" && registered.json["hasCA"] as? Bool == true)
            let listed = try await api.call("GET", "/api/v1/clusters", token: admin)
            #expect((listed.json["clusters"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["local", "lab"])
            for answer in [registered, listed] { #expect(!answer.text.contains(token) && !answer.text.contains("BEGIN CERTIFICATE")) }

            // At rest: sealed, not the token.
            let stored = try await Database.withOpened(url, logger: .init(label: "test")) { database in
                try await database.read { sql in
                    try await sql.select().column("credential_sealed").from("cluster_gateway_clusters").where("name", .equal, "lab")
                        .first(decodingColumn: "credential_sealed", as: String.self)
                }
            }
            #expect(stored?.hasPrefix("v1:") == true && stored?.contains(token) == false)

            let health = try await api.call("GET", "/api/v1/clusters/lab/health", token: admin)
            #expect(
                health.json["ok"] as? Bool == true && (health.json["message"] as? String)?.hasPrefix("Kubernetes v1.") == true,
                "\(health.text)")
            // Wrong credentials: registered, but the health check says why it fails.
            #expect(
                try await api.call(
                    "POST", "/api/v1/clusters", token: admin, json: ["name": "wrong", "server": server, "ca": ca, "token": "not-it"]
                ).status == 201)
            let refused = try await api.call("GET", "/api/v1/clusters/wrong/health", token: admin)
            #expect(
                refused.json["ok"] as? Bool == false && (refused.json["message"] as? String)?.contains("401") == true, "\(refused.text)")

            // Bad registrations name the field; a taken name is a conflict; only admins register.
            let cases: [([String: Any], String)] = [
                (["name": "x", "server": "http://plain", "token": "t"], "server"), (["name": "x", "server": server], "token"),
                (["name": "x", "kind": "mainframe"], "kind"), (["name": "local", "kind": "local"], "name"),
                (["name": "x", "server": server, "token": "t", "ca": "not pem"], "ca"),
            ]
            for (body, field) in cases {
                let bad = try await api.call("POST", "/api/v1/clusters", token: admin, json: body)
                #expect(bad.status == 400 && bad.errorMessage?.hasPrefix("\(field):") == true, "\(body): \(bad.text)")
            }
            #expect(try await api.call("POST", "/api/v1/clusters", token: admin, json: ["name": "lab", "kind": "local"]).status == 409)
            let tokens = try await api.team(project: "ml", owner: "olga", members: [], admin: admin)
            #expect(
                try await api.call("POST", "/api/v1/clusters", token: tokens["olga"], json: ["name": "mine", "kind": "local"]).status == 403
            )
            #expect(try await api.call("DELETE", "/api/v1/clusters/lab", token: admin).status == 204)
        }
    }
}
