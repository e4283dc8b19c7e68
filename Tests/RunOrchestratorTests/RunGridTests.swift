import Foundation
import Testing
import TrellisTestSupport

/// A pipeline's grid (Airflow's grid view): its runs newest first × its tasks in the newest plan's order, each cell the
/// task's state, attempts and span in that run, nothing where the run had no such task; paged by runs; a bad limit is
/// refused naming it; members only.
@Suite struct RunGridTests {
    @Test(arguments: DatabaseKind.allCases)
    func aPipelinesRunsAreAGridOfTaskStates(_ kind: DatabaseKind) async throws {
        try await EmbeddedHarness.with(kind) { api in
            let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
            let team = try await api.team(project: "grid", owner: "olga", members: [("vic", "viewer")], admin: admin)
            let (olga, vic) = (try #require(team["olga"]), try #require(team["vic"]))
            try await api.applyPipeline(
                "daily", project: "grid", token: olga,
                tasks: [
                    ["name": "extract", "template": "shell", "args": ["command": "echo one"]],
                    ["name": "load", "template": "shell", "args": ["command": "echo two"], "dependsOn": ["extract"]],
                ])
            let first = try await api.startRun("daily", project: "grid", token: olga)
            #expect(try await api.waitForRun(first, project: "grid", token: olga)["state"] as? String == "succeeded")
            // The next version fails `load` (retried once) and adds `report`.
            try await api.applyPipeline(
                "daily", project: "grid", token: olga,
                tasks: [
                    ["name": "extract", "template": "shell", "args": ["command": "echo one"]],
                    [
                        "name": "load", "template": "shell", "args": ["command": "exit 3"], "dependsOn": ["extract"],
                        "retry": ["limit": 1],
                    ],
                    ["name": "report", "template": "shell", "args": ["command": "echo three"], "dependsOn": ["extract"]],
                ])
            let second = try await api.startRun("daily", project: "grid", token: olga)
            #expect(try await api.waitForRun(second, project: "grid", token: olga)["state"] as? String == "failed")

            let path = "/api/v1/projects/grid/pipelines/daily/grid"
            let grid = try await api.call("GET", path, token: vic)
            #expect(grid.status == 200, "\(grid.text)")
            #expect(grid.json["tasks"] as? [String] == ["extract", "load", "report"], "\(grid.text)")
            let columns = try #require(grid.json["runs"] as? [[String: Any]])
            #expect(columns.compactMap { ($0["run"] as? [String: Any])?["id"] as? String } == [second, first], "\(grid.text)")
            func cells(_ column: [String: Any]) -> [[String: Any]?] {
                (column["cells"] as? [Any] ?? []).map { $0 as? [String: Any] }
            }
            let newest = cells(columns[0])
            #expect(newest.map { $0?["state"] as? String } == ["succeeded", "failed", "succeeded"], "\(grid.text)")
            #expect(newest.map { $0?["attempts"] as? Int } == [1, 2, 1], "\(grid.text)")
            for cell in newest {
                let started = try #require(cell?["startedAt"] as? String), finished = try #require(cell?["finishedAt"] as? String)
                #expect(started <= finished, "\(grid.text)")
            }
            let oldest = cells(columns[1])
            #expect(oldest.map { $0?["state"] as? String } == ["succeeded", "succeeded", nil], "\(grid.text)")
            #expect(oldest.count == 3 && oldest[2] == nil, "\(grid.text)")
            #expect(grid.json["next"] == nil)

            // Paged by runs, newest first.
            let page = try await api.call("GET", path + "?limit=1", token: vic)
            #expect((page.json["runs"] as? [Any])?.count == 1, "\(page.text)")
            let cursor = try #require(page.json["next"] as? String, "\(page.text)")
            let older = try await api.call("GET", path + "?limit=1&cursor=\(cursor)", token: vic)
            #expect(
                ((older.json["runs"] as? [[String: Any]])?.first?["run"] as? [String: Any])?["id"] as? String == first, "\(older.text)")
            #expect(older.json["tasks"] as? [String] == ["extract", "load"], "\(older.text)")

            for bad in ["0", "101", "x"] {
                let refused = try await api.call("GET", path + "?limit=\(bad)", token: vic)
                #expect(refused.status == 400 && refused.errorMessage?.hasPrefix("limit") == true, "\(bad): \(refused.text)")
            }
            let badCursor = try await api.call("GET", path + "?cursor=nope", token: vic)
            #expect(badCursor.status == 400 && badCursor.errorMessage?.hasPrefix("cursor") == true, "\(badCursor.text)")
            let none = try await api.call("GET", "/api/v1/projects/grid/pipelines/nothing/grid", token: vic)
            #expect(none.status == 200 && (none.json["runs"] as? [Any])?.isEmpty == true, "\(none.text)")

            _ = try await api.call("POST", "/api/v1/users", token: admin, json: ["username": "stranger", "password": "stranger-password"])
            let stranger = try await api.login("stranger", "stranger-password")
            #expect(try await api.call("GET", path, token: stranger).status == 404)
        }
    }
}
