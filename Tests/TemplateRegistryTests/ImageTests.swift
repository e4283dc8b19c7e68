import Crypto
import Foundation
import SQLKit
import Testing
import TrellisStore
import TrellisTestSupport

@Suite struct ImageTests {
    @Test(arguments: DatabaseKind.allCases)
    func registryPasswordsAreSealedAndNeverReturned(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind) { api, url in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let team = try await api.team(project: "vision", owner: "vera", members: [("vic", "viewer")], admin: admin)
            let image: [String: Any] = [
                "name": "trainer", "reference": "registry.example.com/vision/trainer:1.2", "registry": "registry.example.com",
                "username": "robot", "password": "s3cret-registry-pw",
            ]
            let created = try await api.call("POST", "/api/v1/projects/vision/images", token: team["vera"], json: image)
            #expect(created.status == 201)
            #expect(created.json["hasPassword"] as? Bool == true)
            #expect(!created.text.contains("s3cret"))
            let listed = try await api.call("GET", "/api/v1/projects/vision/images", token: team["vic"])
            #expect(listed.status == 200)
            #expect((listed.json["images"] as? [[String: Any]])?.first?["username"] as? String == "robot")
            #expect(!listed.text.contains("s3cret"))
            #expect(try await api.call("POST", "/api/v1/projects/vision/images", token: team["vic"], json: image).status == 403)

            // At rest: sealed, not clear text, and opened only with the platform's key.
            let stored = try await Database.withOpened(url, logger: TestDatabases.logger) { database in
                try await database.read { sql in
                    try await sql.select().column("password_sealed").from("templates_images").first()?.decode(
                        column: "password_sealed", as: String.self)
                }
            }
            let sealed = try #require(stored)
            #expect(!sealed.contains("s3cret"))
            let key = SecretBox(key: SymmetricKey(data: Data(base64Encoded: EmbeddedHarness.secretsKey)!))
            #expect(try key.open(sealed) == "s3cret-registry-pw")
            #expect(throws: SecretError.cannotDecrypt) { try SecretBox(key: SymmetricKey(size: .bits256)).open(sealed) }

            // Runs on Kubernetes pull with the logins, which only the services read: one per registry, the registry
            // taken from the reference when not given.
            for (name, reference) in [("hub", "robot/trainer:2"), ("ghcr", "ghcr.io/vision/eval:1")] {
                let added = try await api.call(
                    "POST", "/api/v1/projects/vision/images", token: team["vera"],
                    json: ["name": name, "reference": reference, "username": "\(name)-user", "password": "\(name)-pw"])
                #expect(added.status == 201, "\(added.text)")
            }
            let path = "/api/v1/internal/templates/projects/vision/registries"
            let logins = try await api.call("GET", path, token: try await EmbeddedHarness.serviceToken())
            let found = (logins.array ?? []).map { "\($0["registry"] ?? "") \($0["username"] ?? "") \($0["password"] ?? "")" }
            #expect(
                found == ["docker.io hub-user hub-pw", "ghcr.io ghcr-user ghcr-pw", "registry.example.com robot s3cret-registry-pw"],
                "\(logins.text)")
            #expect(try await api.call("GET", path, token: team["vera"]).status == 401)

            // A password needs a user name; images can be removed.
            var anonymous = image
            anonymous["username"] = nil
            let refused = try await api.call("POST", "/api/v1/projects/vision/images", token: team["vera"], json: anonymous)
            #expect(refused.errorMessage == "username: is required with a password")
            #expect(try await api.call("DELETE", "/api/v1/projects/vision/images/trainer", token: team["vera"]).status == 204)
            #expect(try await api.call("DELETE", "/api/v1/projects/vision/images/trainer", token: team["vera"]).status == 404)
        }
    }

    @Test func theKeyFileIsCreatedPrivateAndReused() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-secrets-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try SecretBox.load(base64Key: nil, dataDirectory: folder.path)
        let sealed = try first.seal("hello")
        let attributes = try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent("secrets.key").path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try SecretBox.load(base64Key: nil, dataDirectory: folder.path).open(sealed) == "hello")
        #expect(throws: SecretError.self) { try SecretBox.load(base64Key: "c2hvcnQ=", dataDirectory: folder.path) }
        // Tampering is detected.
        var bytes = Array(Data(base64Encoded: String(sealed.dropFirst(3)))!)
        bytes[bytes.count - 1] ^= 1
        #expect(throws: SecretError.cannotDecrypt) { try first.open("v1:" + Data(bytes).base64EncodedString()) }
    }
}
