import Foundation

/// Pipelines and runs through the API, for the run engine's tests.
extension APITransport {
    /// Applies a pipeline of `tasks` in `project`, failing loudly when it is refused.
    public func applyPipeline(
        _ name: String, project: String, token: String?, tasks: [[String: Any]], spec extra: [String: Any] = [:]
    ) async throws {
        var spec: [String: Any] = ["tasks": tasks]
        spec.merge(extra) { $1 }
        let document: [String: Any] = ["apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": ["name": name], "spec": spec]
        let response = try await call("POST", "/api/v1/projects/\(project)/pipelines", token: token, json: document)
        guard response.status == 201 || response.status == 200 else { throw TransportError("apply \(name): \(response.text)") }
    }

    /// Starts a manual run and returns its id.
    public func startRun(_ pipeline: String, project: String, token: String?) async throws -> String {
        let response = try await call("POST", "/api/v1/projects/\(project)/pipelines/\(pipeline)/runs", token: token)
        guard response.status == 201, let id = response.json["id"] as? String else {
            throw TransportError("start \(pipeline): \(response.status) \(response.text)")
        }
        return id
    }

    /// Polls the run until `done` says so (by default: until it ended), failing after `limit`.
    public func waitForRun(
        _ id: String, project: String, token: String?, limit: Duration = .seconds(60),
        until done: @Sendable ([String: Any]) -> Bool = { ["succeeded", "failed", "cancelled"].contains($0["state"] as? String) }
    ) async throws -> [String: Any] {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: limit)
        while true {
            let response = try await call("GET", "/api/v1/projects/\(project)/runs/\(id)", token: token)
            guard response.status == 200 else { throw TransportError("run \(id): \(response.text)") }
            if done(response.json) { return response.json }
            guard clock.now < deadline else { throw TransportError("run \(id) did not get there within \(limit): \(response.text)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

extension APITransport {
    /// A pipeline's schedule records, newest first.
    public func scheduleRecords(_ pipeline: String, project: String, token: String?) async throws -> [[String: Any]] {
        let response = try await call("GET", "/api/v1/projects/\(project)/pipelines/\(pipeline)/schedule-records?limit=1000", token: token)
        guard response.status == 200 else { throw TransportError("records of \(pipeline): \(response.status) \(response.text)") }
        return response.json["records"] as? [[String: Any]] ?? []
    }

    /// Polls the records until `done` holds of them, failing after `limit` with the last ones seen.
    @discardableResult
    public func waitForRecords(
        _ pipeline: String, project: String, token: String?, limit: Duration = .seconds(60),
        until done: @Sendable ([[String: Any]]) -> Bool
    ) async throws -> [[String: Any]] {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: limit)
        while true {
            let records = try await scheduleRecords(pipeline, project: project, token: token)
            if done(records) { return records }
            guard clock.now < deadline else {
                throw TransportError("the records of \(pipeline) did not get there within \(limit): \(records)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// Reading a record's JSON.
public enum RecordJSON {
    public static func state(_ record: [String: Any]) -> String? { record["state"] as? String }
    public static func runState(_ record: [String: Any]) -> String? { (record["run"] as? [String: Any])?["state"] as? String }
    public static func runID(_ record: [String: Any]) -> String? { (record["run"] as? [String: Any])?["id"] as? String }
    public static func date(_ record: [String: Any]) -> String? { record["executionDate"] as? String }

    /// The record of the tick at `date`, or an empty one.
    @Sendable public static func at(_ records: [[String: Any]], _ date: Date) -> [String: Any] {
        records.first { RunJSON.date($0["executionDate"]) == date } ?? [:]
    }

    /// Launched, with a run that succeeded.
    public static func succeeded(_ record: [String: Any]) -> Bool { state(record) == "launched" && runState(record) == "succeeded" }
}

/// Reading a run's JSON.
public enum RunJSON {
    public static func task(_ run: [String: Any], _ name: String) -> [String: Any] {
        (run["tasks"] as? [[String: Any]] ?? []).first { $0["name"] as? String == name } ?? [:]
    }

    public static func state(_ run: [String: Any], _ task: String) -> String? {
        self.task(run, task)["state"] as? String
    }

    public static func attempts(_ run: [String: Any], _ task: String) -> [[String: Any]] {
        self.task(run, task)["attempts"] as? [[String: Any]] ?? []
    }

    public static func date(_ value: Any?) -> Date? {
        guard let text = value as? String else { return nil }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

extension APITransport {
    /// Lets the project's local tasks write `folder` (a test's scratch folder, where tasks leave what the test reads),
    /// mounted at the same path in every task: a platform admin allows it (`settings.hostPaths`) and mounts it
    /// (`settings.mounts`). The folder is opened to every user, since tasks run as their project's user.
    public func shareFolder(_ folder: URL, project: String, admin: String?) async throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: folder.path)
        let settings: [String: Any] = ["hostPaths": [folder.path], "mounts": ["\(folder.path)(hostpath):\(folder.path)"]]
        let response = try await call("PATCH", "/api/v1/projects/\(project)", token: admin, json: ["settings": settings])
        guard response.status == 200 else { throw TransportError("share \(folder.path) with \(project): \(response.text)") }
    }
}

extension APITransport {
    /// Every item of a list read `limit` at a time, following `next` cursors, and how many pages that took.
    public func pages(_ path: String, field: String, limit: Int, token: String?) async throws -> (items: [[String: Any]], pages: Int) {
        var items: [[String: Any]] = []
        var cursor: String?
        var pages = 0
        repeat {
            let separator = path.contains("?") ? "&" : "?"
            var query = "\(separator)limit=\(limit)"
            if let cursor { query += "&cursor=\(cursor)" }
            let page = try await call("GET", path + query, token: token)
            guard page.status == 200, let found = page.json[field] as? [[String: Any]] else {
                throw TransportError("page \(pages + 1) of \(path): \(page.status) \(page.text)")
            }
            guard found.count <= limit else { throw TransportError("page \(pages + 1) of \(path) holds \(found.count) > \(limit)") }
            items += found
            pages += 1
            cursor = page.json["next"] as? String
        } while cursor != nil
        return (items, pages)
    }
}
