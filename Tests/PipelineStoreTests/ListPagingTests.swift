import Foundation
import Testing
import TrellisStore
import TrellisTestSupport

@testable import PipelineStore

/// Every list of the API pages the same way: `?limit=` (default 100, at most 1,000) and the `next` cursor of each
/// page; reading page by page yields every item once, in the list's order, even when items go between pages.
@Suite struct ListPagingTests {
    static func names(_ items: [[String: Any]], _ key: String = "name") -> [String] { items.compactMap { $0[key] as? String } }

    static func template(_ name: String) -> [String: Any] {
        ["name": name, "version": "1.0.0", "description": "paging", "image": "python:3.12", "command": ["true"]]
    }

    @Test(arguments: DatabaseKind.allCases)
    func everyListPagesThroughEachItemOnce(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind) { api in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let tokens = try await api.team(project: "alpha", owner: "olga", members: [("dev", "developer")], admin: admin)
            let olga = tokens["olga"]
            for index in 1...5 {
                #expect(try await api.call("POST", "/api/v1/projects", token: olga, json: ["name": "team-\(index)"]).status == 201)
                try await api.applyPipeline(
                    "flow-\(index)", project: "alpha", token: olga,
                    tasks: [["name": "a", "template": "shell", "args": ["command": "true"]]])
                let registered = try await api.call(
                    "POST", "/api/v1/projects/alpha/templates", token: olga, json: Self.template("tool-\(index)"))
                #expect(registered.status == 201, "\(registered.text)")
                _ = try await api.call(
                    "POST", "/api/v1/users", token: admin, json: ["username": "user-\(index)", "password": "pw-\(index)-long"])
            }
            // A plain member sees only their own projects, through the same pages.
            let lists: [(path: String, field: String, key: String, token: String?, count: Int)] = [
                ("/api/v1/users", "users", "username", admin, 8),
                ("/api/v1/projects", "projects", "name", olga, 6),
                ("/api/v1/projects", "projects", "name", tokens["dev"], 1),
                ("/api/v1/projects/alpha/pipelines", "pipelines", "name", olga, 5),
                ("/api/v1/projects/alpha/templates", "templates", "name", olga, 5),
                // The marketplace filters after reading (drafts are the project's own): pages still hold every kept item.
                ("/api/v1/templates?mine=true", "templates", "name", olga, 5),
                ("/api/v1/templates?q=tool-", "templates", "name", tokens["dev"], 5),
            ]
            for list in lists {
                let whole = try await api.call("GET", list.path, token: list.token)
                let all = Self.names(whole.json[list.field] as? [[String: Any]] ?? [], list.key)
                #expect(all.count == list.count, "\(list.path): \(all)")
                #expect(whole.json["next"] == nil)
                let paged = try await api.pages(list.path, field: list.field, limit: 2, token: list.token)
                #expect(Self.names(paged.items, list.key) == all, "\(list.path)")
                #expect(paged.pages == (list.count + 1) / 2, "\(list.path)")
            }

            // An item deleted after its page was read: the next page starts where the last one ended, skipping nothing.
            let first = try await api.call("GET", "/api/v1/projects/alpha/pipelines?limit=2", token: olga)
            #expect(Self.names(first.json["pipelines"] as? [[String: Any]] ?? []) == ["flow-1", "flow-2"])
            #expect(try await api.call("DELETE", "/api/v1/projects/alpha/pipelines/flow-2", token: olga).status == 204)
            let cursor = try #require(first.json["next"] as? String)
            let second = try await api.call("GET", "/api/v1/projects/alpha/pipelines?limit=2&cursor=\(cursor)", token: olga)
            #expect(Self.names(second.json["pipelines"] as? [[String: Any]] ?? []) == ["flow-3", "flow-4"])

            // Bad limits and cursors name their field.
            for (query, field) in [("limit=0", "limit"), ("limit=1001", "limit"), ("limit=all", "limit"), ("cursor=%21%21", "cursor")] {
                for path in [
                    "/api/v1/users", "/api/v1/projects", "/api/v1/projects/alpha/pipelines", "/api/v1/templates",
                    "/api/v1/projects/alpha/runs",
                ] {
                    let refused = try await api.call("GET", "\(path)?\(query)", token: admin)
                    #expect(
                        refused.status == 400 && refused.errorMessage?.hasPrefix("\(field):") == true, "\(path)?\(query): \(refused.text)")
                }
            }
        }
    }
}

/// A list costs a fixed number of queries, not one or two per item.
@Suite struct ListQueryTests {
    @Test(arguments: DatabaseKind.allCases)
    func aPageOfPipelinesIsOneQuery(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind) { api, url in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let olga = try await api.team(project: "alpha", owner: "olga", members: [], admin: admin)["olga"]
            for index in 1...25 {
                try await api.applyPipeline(
                    "flow-\(index)", project: "alpha", token: olga,
                    tasks: [["name": "a", "template": "shell", "args": ["command": "true"]]])
            }
            let counter = QueryCounter()
            try await Database.withOpened(url, logger: counter.logger) { database in
                let repository = SQLPipelineRepository(database: database)
                var page: [PipelineSummary] = []
                let statements = try await counter.during {
                    page = try await repository.summaries(inProject: "alpha", after: "flow-1", limit: 20)
                }
                #expect(page.count == 20 && page.first?.name == "flow-10" && page.allSatisfy { $0.tasks == 1 && $0.version == 1 })
                // PostgreSQL adds the snapshot's BEGIN and COMMIT.
                #expect(statements.filter { $0.hasPrefix("SELECT") }.count == 1, "\(statements)")
            }
        }
    }
}
