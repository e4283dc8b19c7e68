import Foundation
import Testing
import TrellisStore
import TrellisTestSupport

@testable import TemplateRegistry

/// A page of templates with every version of each is two queries, whatever the count of templates or versions.
@Suite struct TemplateListQueryTests {
    @Test(arguments: DatabaseKind.allCases)
    func aPageOfTemplatesIsTwoQueries(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind) { api, url in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let olga = try await api.team(project: "alpha", owner: "olga", members: [], admin: admin)["olga"]
            for index in 1...12 {
                for version in ["1.0.0", "1.1.0", "2.0.0"] {
                    let spec: [String: Any] = ["name": "tool-\(index)", "version": version, "image": "python:3.12", "command": ["true"]]
                    let registered = try await api.call("POST", "/api/v1/projects/alpha/templates", token: olga, json: spec)
                    #expect(registered.status == 201, "\(registered.text)")
                }
            }
            let counter = QueryCounter()
            try await Database.withOpened(url, logger: counter.logger) { database in
                let repository = SQLTemplateRepository(database: database)
                var page: [(TemplateRecord, [VersionRecord])] = []
                let statements = try await counter.during {
                    page = try await repository.templates(inProject: "alpha", after: nil, limit: 10)
                }
                #expect(page.count == 10)
                #expect(page.allSatisfy { $0.1.map(\.version.version) == ["2.0.0", "1.1.0", "1.0.0"] })
                // PostgreSQL adds the snapshot's BEGIN and COMMIT.
                #expect(statements.filter { $0.hasPrefix("SELECT") }.count == 2, "\(statements)")
            }
        }
    }
}
