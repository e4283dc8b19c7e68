import Foundation
import Hummingbird
import HummingbirdTesting
import JWTKit
import Prometheus
import ServiceContracts
import Testing
import TrellisCore
import TrellisHTTP
import TrellisTestSupport

/// The identity service stand-in: a key set that can rotate.
actor RotatingIdentity: IdentityClient {
    private(set) var jwks: JWKS
    private(set) var fetches = 0

    init(_ jwks: JWKS) {
        self.jwks = jwks
    }

    func rotate(to jwks: JWKS) {
        self.jwks = jwks
    }

    func publicKeys() async throws -> JWKS {
        fetches += 1
        return jwks
    }

    func role(of user: AuthenticatedUser, inProject project: String, token: String) async throws -> ProjectRole? { nil }

    func actAs(_ username: String) async throws -> Caller? { nil }

    func isRevoked(_ tokenID: String, user userID: String, issuedAt: Date) async throws -> Bool { false }

    func introspect(apiToken: String) async throws -> AuthenticatedUser? { nil }

    func settings(ofProject project: String) async throws -> ProjectSettings? { nil }

    func secretEnvironment(ofProject project: String) async throws -> [String: String]? { nil }

    func alerting(ofProject project: String) async throws -> ProjectAlerting? { nil }

    func projectDeletions(for service: ServiceName) async throws -> [ProjectDeletion] { [] }

    func finishProjectDeletion(_ deletion: ProjectDeletion, by service: ServiceName) async throws {}
}

struct SigningKeyPair {
    let kid: String
    let keys = JWTKeyCollection()
    let jwk: JWK

    init(kid: String) async throws {
        let key = try EdDSA.PrivateKey(curve: .ed25519)
        self.kid = kid
        await keys.add(eddsa: key, kid: JWKIdentifier(string: kid))
        let x = key.publicKey.rawRepresentation.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        jwk = JWK.octetKeyPair(.eddsa, identifier: JWKIdentifier(string: kid), x: x, y: nil, curve: .ed25519)
    }

    func token(for user: AuthenticatedUser, issuedAt: Date = Date()) async throws -> String {
        try await keys.sign(TrellisClaims(user: user, issuedAt: issuedAt, lifetime: .seconds(600)), kid: JWKIdentifier(string: kid))
    }
}

@Suite struct PlumbingTests {
    static let alice = AuthenticatedUser(id: "u1", username: "alice", isAdmin: false)

    struct Echo: Decodable, ResponseEncodable {
        let name: String
        let tags: [String]
    }

    /// A service with a few routes, composed like every Trellis service.
    func withService(identity: any IdentityClient, _ body: @escaping @Sendable (TestClientTransport) async throws -> Void) async throws {
        let registry = PrometheusCollectorRegistry()
        let router = ServiceHost.makeRouter(
            service: "test", modules: [], verifier: TokenVerifier(identity: identity, refreshInterval: .zero), registry: registry,
            database: nil
        )
        let api = router.group("api/v1").add(
            middleware: AuthenticationMiddleware(verifier: TokenVerifier(identity: identity, refreshInterval: .zero)))
        api.get("whoami") { _, context in try context.requireUser().username }
        api.post("echo") { request, context in try await request.decode(as: Echo.self, context: context) }
        api.get("explode") { _, _ -> String in throw CancellationError() }
        try await Application(router: router).test(.router) { client in try await body(TestClientTransport(client)) }
    }

    @Test func unknownRoutesAnswerWithTheErrorBodyAndARequestID() async throws {
        let key = try await SigningKeyPair(kid: "k1")
        try await withService(identity: RotatingIdentity(JWKS(keys: [key.jwk]))) { api in
            let response = try await api.call("GET", "/api/v1/nothing-here")
            #expect(response.status == 404)
            #expect(response.errorCode == "not_found")
            #expect(response.errorMessage == "no route for GET /api/v1/nothing-here")
            #expect(response.errorRequestID == response.headers["x-request-id"])
            #expect(response.errorRequestID?.count == 36)
        }
    }

    @Test func theGatewaysRequestIDIsKept() async throws {
        let key = try await SigningKeyPair(kid: "k1")
        try await withService(identity: RotatingIdentity(JWKS(keys: [key.jwk]))) { api in
            let response = try await api.send("GET", "/api/v1/whoami", headers: ["X-Request-ID": "req-42"], body: nil)
            #expect(response.headers["x-request-id"] == "req-42")
            #expect(response.errorRequestID == "req-42")
            // Anything but a short plain id is replaced, never echoed into headers, bodies and logs.
            for hostile in ["\"},{\"admin\":true", "<script>", "a\\b", "a b", String(repeating: "x", count: 129), "ünï"] {
                let answered = try await api.send("GET", "/api/v1/whoami", headers: ["X-Request-ID": hostile], body: nil)
                let id = try #require(answered.headers["x-request-id"])
                #expect(id != hostile && UUID(uuidString: id) != nil, "\(hostile) → \(id)")
                #expect(answered.errorRequestID == id)
            }
        }
    }

    @Test func unexpectedErrorsAreInternalAndLeakNothing() async throws {
        let key = try await SigningKeyPair(kid: "k1")
        try await withService(identity: RotatingIdentity(JWKS(keys: [key.jwk]))) { api in
            let token = try await key.token(for: Self.alice)
            let response = try await api.call("GET", "/api/v1/explode", token: token)
            #expect(response.status == 500)
            #expect(response.errorCode == "internal")
            #expect(!response.text.contains("Cancellation"))
        }
    }

    @Test func nestedFieldErrorsNameThePath() async throws {
        let key = try await SigningKeyPair(kid: "k1")
        try await withService(identity: RotatingIdentity(JWKS(keys: [key.jwk]))) { api in
            let token = try await key.token(for: Self.alice)
            let response = try await api.call("POST", "/api/v1/echo", token: token, json: ["name": "x", "tags": ["a", 2]])
            #expect(response.status == 400)
            #expect(response.errorMessage == "tags[1]: must be a string")
            let ok = try await api.call("POST", "/api/v1/echo", token: token, json: ["name": "x", "tags": ["a"]])
            #expect(ok.status == 200)
        }
    }

    /// A "billion laughs" of nested YAML aliases (a few hundred bytes, 9^9 nodes once expanded) is refused with 413
    /// before anything walks the expansion; the same aliases at a small scale still decode.
    @Test(.timeLimit(.minutes(1))) func yamlAliasBombsAreRefusedByTheirExpansion() async throws {
        var bomb = "name: &a [\"x\", \"x\", \"x\", \"x\", \"x\", \"x\", \"x\", \"x\", \"x\"]\n"
        for (level, previous) in zip("bcdefghi", "abcdefgh") {
            bomb += "\(level): &\(level) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]\n"
        }
        bomb += "tags: *i\n"
        let body = Data(bomb.utf8)
        let key = try await SigningKeyPair(kid: "k1")
        try await withService(identity: RotatingIdentity(JWKS(keys: [key.jwk]))) { api in
            let token = try await key.token(for: Self.alice)
            let headers = ["Authorization": "Bearer \(token)", "Content-Type": "application/yaml"]
            let refused = try await api.send("POST", "/api/v1/echo", headers: headers, body: body)
            #expect(refused.status == 413, "\(refused.text)")
            #expect(refused.errorMessage?.contains("aliases") == true, "\(refused.text)")
            let small = "name: &n x\ntags: [*n, *n]\n"
            let ok = try await api.send("POST", "/api/v1/echo", headers: headers, body: Data(small.utf8))
            #expect(ok.status == 200 && ok.json["tags"] as? [String] == ["x", "x"], "\(ok.text)")
            // Nesting thirty thousand deep is a 400, not a crash of the parser's stack.
            let deep = Data(("name: x\ntags: " + String(repeating: "[", count: 30_000) + String(repeating: "]", count: 30_000)).utf8)
            #expect(try await api.send("POST", "/api/v1/echo", headers: headers, body: deep).status == 400)
        }
        #expect(throws: APIError.self) { try BoundedYAML.compose(bomb) }
    }

    @Test func tokensFromARotatedKeyAreAcceptedAfterOneRefresh() async throws {
        let old = try await SigningKeyPair(kid: "old")
        let new = try await SigningKeyPair(kid: "new")
        let identity = RotatingIdentity(JWKS(keys: [old.jwk]))
        try await withService(identity: identity) { api in
            #expect(try await api.call("GET", "/api/v1/whoami", token: try await old.token(for: Self.alice)).text == "alice")
            await identity.rotate(to: JWKS(keys: [old.jwk, new.jwk]))
            #expect(try await api.call("GET", "/api/v1/whoami", token: try await new.token(for: Self.alice)).text == "alice")
            // A key that identity never published is refused.
            let stranger = try await SigningKeyPair(kid: "stranger")
            let refused = try await api.call("GET", "/api/v1/whoami", token: try await stranger.token(for: Self.alice))
            #expect(refused.status == 401)
            // Same kid, different key: the signature does not verify.
            let forged = try await SigningKeyPair(kid: "old")
            #expect(try await api.call("GET", "/api/v1/whoami", token: try await forged.token(for: Self.alice)).status == 401)
        }
    }

    @Test func metricsCountRequestsByRoute() async throws {
        let key = try await SigningKeyPair(kid: "k1")
        try await withService(identity: RotatingIdentity(JWKS(keys: [key.jwk]))) { api in
            _ = try await api.call("GET", "/api/v1/whoami", token: try await key.token(for: Self.alice))
            _ = try await api.call("GET", "/api/v1/whoami")
            let health = try await api.call("GET", "/healthz")
            #expect(health.json["status"] as? String == "ok")
            let metrics = try await api.call("GET", "/metrics").text
            #expect(metrics.contains(#"trellis_http_requests_total{service="test",method="GET",route="/api/v1/whoami",status="200"} 1"#))
            #expect(metrics.contains(#"trellis_http_requests_total{service="test",method="GET",route="/api/v1/whoami",status="401"} 1"#))
            #expect(metrics.contains("trellis_http_request_duration_seconds_bucket"))
        }
    }
}
