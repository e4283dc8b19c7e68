import Foundation
import Testing
import TrellisStore

@testable import TrellisHTTP

@Suite struct ConfigurationTests {
    @Test func defaultsApplyWhenNothingIsSet() async throws {
        let configuration = try await TrellisConfiguration.load(defaultPort: 8083, environment: [:])
        #expect(configuration.port == 8083)
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.databaseURL == .sqliteFile(path: URL(fileURLWithPath: ".trellis/trellis.db").path))
        #expect(configuration.tokenLifetime == .seconds(43200))
        #expect(configuration.serviceURL(.identity) == "http://127.0.0.1:8081")
    }

    @Test func flagsBeatEnvironmentWhichBeatsTheFile() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-\(UUID().uuidString).yaml")
        try "port: 7001\nhost: 0.0.0.0\ndata:\n  dir: /srv/trellis\nlog:\n  level: debug\n".write(
            to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let configuration = try await TrellisConfiguration.load(
            defaultPort: 8080,
            flags: ["port": "7003"],
            environment: ["TRELLIS_CONFIG": file.path, "TRELLIS_PORT": "7002", "TRELLIS_HOST": "10.1.1.1"]
        )
        #expect(configuration.port == 7003)
        #expect(configuration.host == "10.1.1.1")
        #expect(configuration.dataDirectory == "/srv/trellis")
        #expect(configuration.databaseURL == .sqliteFile(path: "/srv/trellis/trellis.db"))
        #expect(configuration.logLevel == .debug)
    }

    @Test func commandLineFlagsOfServiceExecutablesAreRead() async throws {
        let configuration = try await TrellisConfiguration.load(
            defaultPort: 8081, arguments: ["trellis-identity", "--port", "9001", "--database-url", "postgres://u:p@db:5432/trellis"],
            environment: [:]
        )
        #expect(configuration.port == 9001)
        #expect(configuration.databaseURL == .postgres(url: "postgres://u:p@db:5432/trellis"))
    }

    /// Every key of the table is a flag too, the documented `--secrets-key` among them (it used to be refused).
    @Test func everyDocumentedKeyIsAFlag() async throws {
        let key = Data(repeating: 3, count: 32).base64EncodedString()
        let configuration = try await TrellisConfiguration.load(
            defaultPort: 8081, arguments: ["trellis", "--secrets-key", key, "--token-lifetime=600", "--task-max-files", "512"],
            environment: [:])
        #expect(configuration.secretsKey == key)
        #expect(configuration.tokenLifetime == .seconds(600))
        #expect(configuration.taskMaxFiles == 512)
        for key in TrellisConfiguration.knownKeys where key != "config" {
            let flag = "--" + key.replacingOccurrences(of: ".", with: "-")
            #expect(throws: Never.self, "\(flag)") { try TrellisConfiguration.checkFlags(["trellis", flag]) }
        }
    }

    @Test(arguments: [
        (["TRELLIS_PORT": "eighty"], "configuration port (--port / TRELLIS_PORT) = \"eighty\": must be a whole number"),
        (["TRELLIS_PORT": "70000"], "configuration port (--port / TRELLIS_PORT) = \"70000\": must be between 0 and 65535"),
        (["TRELLIS_LOG_LEVEL": "loud"], "configuration log.level (--log-level / TRELLIS_LOG_LEVEL) = \"loud\": must be one of"),
        (
            ["TRELLIS_SERVICES_IDENTITY_URL": "identity:8081"],
            "configuration services.identity.url (--services-identity-url / TRELLIS_SERVICES_IDENTITY_URL)"
        ),
        (
            ["TRELLIS_DATABASE_URL": "mysql://db"],
            "configuration database.url (--database-url / TRELLIS_DATABASE_URL) = \"(hidden)\": invalid database URL"
        ),
        (
            ["TRELLIS_CONFIG": "/nonexistent/trellis.yaml"],
            "configuration config (--config / TRELLIS_CONFIG) = \"/nonexistent/trellis.yaml\": the configuration file does not exist"
        ),
    ])
    func badSettingsAreRefusedNamingTheKey(_ environment: [String: String], _ expected: String) async {
        await #expect {
            try await TrellisConfiguration.load(defaultPort: 8080, environment: environment)
        } throws: { error in
            "\(error)".hasPrefix(expected)
        }
    }

    @Test func aMistypedFlagIsAnError() async {
        await #expect {
            try await TrellisConfiguration.load(defaultPort: 8081, arguments: ["trellis-identity", "--prot", "9001"], environment: [:])
        } throws: { error in
            "\(error)".contains("\"--prot\": unknown flag; known flags: --admin-password")
        }
    }

    @Test func serviceURLsDefaultToTheirPortsAndCanBeSet() async throws {
        let configuration = try await TrellisConfiguration.load(
            defaultPort: 8080, environment: ["TRELLIS_SERVICES_IDENTITY_URL": "http://identity.trellis:8081"]
        )
        #expect(configuration.serviceURL(.identity) == "http://identity.trellis:8081")
        #expect(configuration.serviceURL(.templates) == "http://127.0.0.1:8082")
    }
}
