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
        let kubernetes = try TestKubernetes.fromEnvironment()
        let (server, token, ca) = (kubernetes.server, kubernetes.token, kubernetes.ca)
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
                health.json["ok"] as? Bool == true && (health.json["message"] as? String)?.hasPrefix("Kubernetes v1.") == true
                    && (health.json["message"] as? String)?.hasSuffix("Argo Workflows can be listed in namespace trellis") == true,
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

    /// A kubeconfig the way kubectl writes one: inline CA and credentials, two contexts.
    static func kubeconfig(server: String, ca: String, token: String, certificate: String, key: String) -> String {
        func inline(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
        return """
            apiVersion: v1
            kind: Config
            clusters:
            - name: lab
              cluster: {server: "\(server)", certificate-authority-data: \(inline(ca))}
            - name: careless
              cluster: {server: "\(server)", insecure-skip-tls-verify: true}
            users:
            - name: robot
              user: {token: \(token)}
            - name: admin
              user: {client-certificate-data: \(inline(certificate)), client-key-data: \(inline(key))}
            - name: plugin
              user: {exec: {command: aws, apiVersion: client.authentication.k8s.io/v1beta1}}
            contexts:
            - name: robot@lab
              context: {cluster: lab, user: robot, namespace: ml-jobs}
            - name: admin@lab
              context: {cluster: lab, user: admin}
            - name: careless
              context: {cluster: careless, user: robot}
            - name: plugin
              context: {cluster: lab, user: plugin}
            current-context: robot@lab
            """
    }

    @Test func clientCertificatesAndKubeconfigContextsRegisterToo() async throws {
        let kubernetes = try TestKubernetes.fromEnvironment()
        let (server, token, ca) = (kubernetes.server, kubernetes.token, kubernetes.ca)
        let pair = try kubernetes.clientCertificate()
        let kubeconfig = Self.kubeconfig(
            server: server, ca: ca, token: token, certificate: pair.certificate, key: pair.key)
        try await EmbeddedHarness.with(.sqlite) { api in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let registrations: [(String, [String: Any])] = [
                ("certified", ["server": server, "ca": ca, "clientCertificate": pair.certificate, "clientKey": pair.key]),
                ("current", ["kubeconfig": kubeconfig]), ("admin-context", ["kubeconfig": kubeconfig, "context": "admin@lab"]),
            ]
            for (name, body) in registrations {
                let registered = try await api.call("POST", "/api/v1/clusters", token: admin, json: body.merging(["name": name]) { $1 })
                #expect(registered.status == 201, "\(name): \(registered.text)")
                #expect(!registered.text.contains("BEGIN") && !registered.text.contains(token))
                let health = try await api.call("GET", "/api/v1/clusters/\(name)/health", token: admin)
                #expect(health.json["ok"] as? Bool == true, "\(name): \(health.text)")
            }
            let listed = try await api.call("GET", "/api/v1/clusters", token: admin)
            let current = (listed.json["clusters"] as? [[String: Any]])?.first { $0["name"] as? String == "current" }
            #expect(current?["namespace"] as? String == "ml-jobs" && current?["server"] as? String == server, "\(listed.text)")

            let refusals: [([String: Any], String, String)] = [
                (["kubeconfig": kubeconfig, "context": "nope"], "context", "no context named \"nope\""),
                (["kubeconfig": kubeconfig, "context": "careless"], "kubeconfig", "always verifies"),
                (["kubeconfig": kubeconfig, "context": "plugin"], "kubeconfig", "plugin"),
                (["kubeconfig": "{not: [yaml"], "kubeconfig", "not YAML"),
                (["kubeconfig": kubeconfig, "token": "t"], "kubeconfig", "not both"),
            ]
            for (body, field, words) in refusals {
                let refused = try await api.call("POST", "/api/v1/clusters", token: admin, json: body.merging(["name": "x"]) { $1 })
                #expect(refused.status == 400 && refused.errorMessage?.hasPrefix("\(field):") == true, "\(body): \(refused.text)")
                #expect(refused.errorMessage?.contains(words) == true, "\(refused.text)")
            }
        }
    }
}
