import Crypto
import Foundation
import JWTKit
import Testing
import TrellisHTTP
import TrellisStore
import TrellisTestSupport

@testable import Identity

@Suite struct IdentityAPITests {
    @Test(arguments: DatabaseKind.allCases)
    func loginProjectsMembersAndTokensWork(_ kind: DatabaseKind) async throws {
        try await IdentityHarness.with(kind) { api, _ in
            let failures = try await AccessFlow.run(api, adminPassword: IdentityHarness.adminPassword)
            #expect(failures == [])
        }
    }

    /// Each route reads at most its own body limit: a login is not a megabyte, a pipeline may be.
    @Test func bodiesAreBoundedPerRoute() async throws {
        try await EmbeddedHarness.with(.sqlite) { api, _ in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let login = try await api.call(
                "POST", "/api/v1/auth/login", json: ["username": "admin", "password": String(repeating: "x", count: 20_000)])
            #expect(login.status == 413 && login.text.contains("16384"), "\(login.text.prefix(200))")
            let project = try await api.call(
                "POST", "/api/v1/projects", token: admin, json: ["name": "big", "description": String(repeating: "x", count: 70_000)])
            #expect(project.status == 413 && project.text.contains("65536"), "\(project.text.prefix(200))")
            #expect(try await api.call("POST", "/api/v1/projects", token: admin, json: ["name": "small"]).status == 201)
            // A pipeline of 600 KB is a document: read, and refused for what it says, not for its size.
            let tasks = (0..<600).map { ["name": "t\($0)", "template": "noop", "description": String(repeating: "d", count: 1_000)] }
            let pipeline: [String: Any] = [
                "apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": ["name": "wide"], "spec": ["tasks": tasks],
            ]
            let saved = try await api.call("POST", "/api/v1/projects/small/pipelines", token: admin, json: pipeline)
            #expect(saved.status != 413, "\(saved.text.prefix(200))")
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func rolesGateWhatMembersMayDo(_ kind: DatabaseKind) async throws {
        try await IdentityHarness.with(kind) { api, _ in
            let admin = try await api.login("admin", IdentityHarness.adminPassword)
            for name in ["dora", "vic"] {
                #expect(
                    try await api.call("POST", "/api/v1/users", token: admin, json: ["username": name, "password": "\(name)-password"])
                        .status == 201)
            }
            let dora = try await api.login("dora", "dora-password")
            let vic = try await api.login("vic", "vic-password")
            #expect(try await api.call("POST", "/api/v1/projects", token: dora, json: ["name": "vision"]).status == 201)

            // The creator owns it and can add a viewer; the viewer can read but not manage.
            #expect(
                try await api.call("POST", "/api/v1/projects/vision/members", token: dora, json: ["username": "vic", "role": "viewer"])
                    .status == 201)
            #expect(try await api.call("GET", "/api/v1/projects/vision/members", token: vic).status == 200)
            let denied = try await api.call(
                "POST", "/api/v1/projects/vision/members", token: vic, json: ["username": "admin", "role": "viewer"])
            #expect(denied.status == 403)
            #expect(denied.errorMessage == "managing members in project \"vision\" needs the owner role; you are a viewer")
            let seen = try await api.call("GET", "/api/v1/projects/vision", token: vic)
            #expect(seen.json["actions"] as? [String] == ["read"], "a viewer's actions: \(seen.text)")
            #expect(try await api.call("PATCH", "/api/v1/projects/vision", token: vic, json: ["description": "x"]).status == 403)

            // Changing a role answers 200, not 201; an unknown role names the accepted ones.
            let promoted = try await api.call(
                "POST", "/api/v1/projects/vision/members", token: dora, json: ["username": "vic", "role": "developer"])
            #expect(promoted.status == 200)
            #expect(promoted.json["role"] as? String == "developer")
            let badRole = try await api.call(
                "POST", "/api/v1/projects/vision/members", token: dora, json: ["username": "vic", "role": "boss"])
            #expect(badRole.status == 400)
            #expect(badRole.errorMessage == "role: must be one of viewer, developer, owner, got \"boss\"")
            let nobody = try await api.call(
                "POST", "/api/v1/projects/vision/members", token: dora, json: ["username": "zed", "role": "viewer"])
            #expect(nobody.status == 404)
            #expect(nobody.errorMessage == "no user named \"zed\"")

            // The last owner can neither leave nor be demoted.
            let leave = try await api.call("DELETE", "/api/v1/projects/vision/members/dora", token: dora)
            #expect(leave.status == 409)
            #expect(leave.errorCode == "failed_precondition")
            #expect(
                try await api.call("POST", "/api/v1/projects/vision/members", token: dora, json: ["username": "dora", "role": "viewer"])
                    .status == 409)

            // Members can be removed; then the project is hidden from them.
            #expect(try await api.call("DELETE", "/api/v1/projects/vision/members/vic", token: dora).status == 204)
            #expect(try await api.call("GET", "/api/v1/projects/vision", token: vic).status == 404)

            // Owners update and delete; a deleted project is gone for everyone.
            let updated = try await api.call("PATCH", "/api/v1/projects/vision", token: dora, json: ["description": "Cameras"])
            #expect(updated.status == 200)
            #expect(updated.json["description"] as? String == "Cameras")
            #expect(try await api.call("DELETE", "/api/v1/projects/vision", token: dora).status == 202)
            #expect(try await api.call("GET", "/api/v1/projects/vision", token: admin).status == 404)
            // Held until every service has purged it — here the identity service runs alone, so it stays held
            // (ProjectDeletionTests follows a deletion to its end).
            let held = try await api.call("POST", "/api/v1/projects", token: dora, json: ["name": "vision"])
            #expect(held.status == 409 && held.errorMessage?.contains("is being deleted") == true, "\(held.text)")
            let under = try await api.call("GET", "/api/v1/project-deletions", token: admin)
            let waiting = (under.json["deletions"] as? [[String: Any]])?.first?["waitingFor"] as? [String]
            #expect(waiting == ["cluster-gateway", "metrics", "orchestrator", "pipelines", "templates"], "\(under.text)")
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func onlyAdminsManageUsers(_ kind: DatabaseKind) async throws {
        try await IdentityHarness.with(kind) { api, _ in
            let admin = try await api.login("admin", IdentityHarness.adminPassword)
            #expect(
                try await api.call("POST", "/api/v1/users", token: admin, json: ["username": "eve", "password": "eve-password"]).status
                    == 201)
            let duplicate = try await api.call(
                "POST", "/api/v1/users", token: admin, json: ["username": "eve", "password": "eve-password"])
            #expect(duplicate.status == 409)
            #expect(duplicate.errorMessage == "a user named \"eve\" already exists")
            let short = try await api.call("POST", "/api/v1/users", token: admin, json: ["username": "fay", "password": "short"])
            #expect(short.errorMessage == "password: must be at least 8 characters")
            let eve = try await api.login("eve", "eve-password")
            #expect(
                try await api.call("POST", "/api/v1/users", token: eve, json: ["username": "mal", "password": "mal-password"]).status == 403
            )
            #expect(try await api.call("GET", "/api/v1/users", token: eve).status == 403)
            let users = try await api.call("GET", "/api/v1/users", token: admin).json["users"] as? [[String: Any]] ?? []
            #expect(users.compactMap { $0["username"] as? String } == ["admin", "eve"])
            #expect(users.allSatisfy { $0["password_hash"] == nil && $0["passwordHash"] == nil })
            let wrong = try await api.call("POST", "/api/v1/auth/login", json: ["username": "eve", "password": "not-her-password"])
            #expect(wrong.status == 401)
            let unknown = try await api.call("POST", "/api/v1/auth/login", json: ["username": "nobody", "password": "whatever-pass"])
            #expect(unknown.status == 401)
            #expect(wrong.errorMessage == unknown.errorMessage)
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func badDocumentsNameTheField(_ kind: DatabaseKind) async throws {
        try await IdentityHarness.with(kind) { api, _ in
            let admin = try await api.login("admin", IdentityHarness.adminPassword)
            let missing = try await api.call("POST", "/api/v1/projects", token: admin, json: ["description": "no name"])
            #expect(missing.status == 400)
            #expect(missing.errorMessage == "name: is required")
            let mistyped = try await api.call("POST", "/api/v1/projects", token: admin, json: ["name": 7])
            #expect(mistyped.errorMessage == "name: must be a string")
            let badName = try await api.call("POST", "/api/v1/projects", token: admin, json: ["name": "ML Team"])
            #expect(badName.errorMessage == "name: must start with a lowercase letter, got \"ML Team\"")

            let auth = ["Authorization": "Bearer \(admin)"]
            let malformed = try await api.send(
                "POST", "/api/v1/projects", headers: auth.merging(["Content-Type": "application/json"]) { $1 },
                body: Data("{\"name\":".utf8))
            #expect(malformed.status == 400)
            #expect(malformed.errorMessage?.hasPrefix("malformed JSON") == true)
            let yaml = try await api.send(
                "POST", "/api/v1/projects", headers: auth.merging(["Content-Type": "application/yaml"]) { $1 },
                body: Data("name: from-yaml\ndescription: sent as YAML\n".utf8)
            )
            #expect(yaml.status == 201)
            #expect(yaml.json["description"] as? String == "sent as YAML")
            let badYAML = try await api.send(
                "POST", "/api/v1/projects", headers: auth.merging(["Content-Type": "application/yaml"]) { $1 },
                body: Data("name: [unclosed".utf8))
            #expect(badYAML.status == 400)
            let form = try await api.send(
                "POST", "/api/v1/projects", headers: auth.merging(["Content-Type": "text/plain"]) { $1 }, body: Data("name".utf8))
            #expect(form.status == 415)
            #expect(form.errorCode == "unsupported_media_type")
            let huge = try await api.send(
                "POST", "/api/v1/projects", headers: auth.merging(["Content-Type": "application/json"]) { $1 },
                body: Data(("{\"name\":\"" + String(repeating: "a", count: 2 << 20) + "\"}").utf8)
            )
            #expect(huge.status == 413)
            #expect(huge.errorCode == "payload_too_large")
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func theAdminIsCreatedOnceOnFirstStart(_ kind: DatabaseKind) async throws {
        try await IdentityHarness.with(kind, adminPassword: nil) { api, module in
            // No password was configured: one was generated (and printed); the user exists and is an admin.
            let users = try await module.controller.repository.users(after: nil, limit: 100, checking: nil).value
            #expect(users.map(\.username) == ["admin"])
            #expect(users.first?.isAdmin == true)
            #expect(
                try await api.call("POST", "/api/v1/auth/login", json: ["username": "admin", "password": "admin-password"]).status == 401)
            try await module.bootstrap()
            #expect(try await module.controller.repository.userCount() == 1)
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func expiredTokensAreRejected(_ kind: DatabaseKind) async throws {
        // The issuer's clock is 13 hours behind: its 12-hour tokens are already expired.
        try await IdentityHarness.with(kind, now: { Date().addingTimeInterval(-13 * 3600) }) { api, _ in
            let stale = try await api.login("admin", IdentityHarness.adminPassword)
            let rejected = try await api.call("GET", "/api/v1/me", token: stale)
            #expect(rejected.status == 401)
            #expect(rejected.errorMessage == "the bearer token has expired or was not issued by Trellis; log in again")
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func aTokenWhoseSignatureWasCheckedStillExpires(_ kind: DatabaseKind) async throws {
        // The issuer's clock is 12 hours less 4 seconds behind: its 12-hour tokens expire 4 seconds from now. The first
        // use checks the signature (and keeps the claims); the use after the expiry must still be refused.
        try await IdentityHarness.with(kind, now: { Date().addingTimeInterval(-12 * 3600 + 4) }) { api, _ in
            let token = try await api.login("admin", IdentityHarness.adminPassword)
            #expect(try await api.call("GET", "/api/v1/me", token: token).status == 200)
            try await Task.sleep(for: .seconds(5))
            let rejected = try await api.call("GET", "/api/v1/me", token: token)
            #expect(rejected.status == 401)
            #expect(rejected.errorMessage == "the bearer token has expired or was not issued by Trellis; log in again")
        }
    }

    @Test(arguments: DatabaseKind.allCases)
    func theSigningKeySurvivesRestartsSealedAtRest(_ kind: DatabaseKind) async throws {
        let secrets = SecretBox(key: SymmetricKey(size: .bits256))
        try await TestDatabases.withFresh(kind) { url in
            let first = try await TrellisStore.Database.withOpened(url, logger: TestDatabases.logger) { database in
                try await TrellisStore.Migrator(database: database).apply(try IdentityModule.migrations()!)
                return try await TokenIssuer(
                    repository: SQLIdentityRepository(database: database), secrets: secrets, lifetime: .seconds(60), now: Date.init
                ).publicKeys()
            }
            let (second, stored) = try await TrellisStore.Database.withOpened(url, logger: TestDatabases.logger) { database in
                let repository = SQLIdentityRepository(database: database)
                let keys = try await TokenIssuer(repository: repository, secrets: secrets, lifetime: .seconds(60), now: Date.init)
                    .publicKeys()
                return (keys, try await repository.signingKeys())
            }
            #expect(first.keys.count == 1)
            #expect(first.keys.first?.keyIdentifier == second.keys.first?.keyIdentifier)
            #expect(first.keys.first?.x == second.keys.first?.x)
            #expect(
                stored.count == 1 && stored.allSatisfy { $0.privateKeyPEM.hasPrefix("v1:") && !$0.privateKeyPEM.contains("PRIVATE KEY") })
        }
    }

    /// A key an earlier version stored in clear keeps signing (the same public key) and is sealed from then on.
    @Test(arguments: DatabaseKind.allCases)
    func aSigningKeyStoredInClearIsSealedOnFirstUse(_ kind: DatabaseKind) async throws {
        let secrets = SecretBox(key: SymmetricKey(size: .bits256))
        let legacy = try EdDSA.PrivateKey(curve: .ed25519)
        try await TestDatabases.withFresh(kind) { url in
            try await TrellisStore.Database.withOpened(url, logger: TestDatabases.logger) { database in
                try await TrellisStore.Migrator(database: database).apply(try IdentityModule.migrations()!)
                let repository = SQLIdentityRepository(database: database)
                _ = try await repository.signingKey(
                    orCreate: SigningKey(kid: "old", privateKeyPEM: legacy.pemRepresentation, createdAt: Date()))
                let keys = try await TokenIssuer(repository: repository, secrets: secrets, lifetime: .seconds(60), now: Date.init)
                    .publicKeys()
                #expect(keys.keys.first?.x == legacy.publicKey.rawRepresentation.base64URLEncoded())
                let stored = try await repository.signingKeys()
                #expect(stored.map(\.kid) == ["old"] && stored.first?.privateKeyPEM.hasPrefix("v1:") == true)
                #expect(try stored.first.map { try secrets.open($0.privateKeyPEM) } == legacy.pemRepresentation)
            }
        }
    }
}
