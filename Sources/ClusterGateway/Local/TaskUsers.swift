import SQLKit
import ServiceContracts
import TrellisHTTP
import TrellisStore

/// The user each project's local tasks run as when the server runs as root (`cluster_gateway_task_users`): the
/// lowest free id of `range`, given on the project's first task and kept, so two projects never share one.
actor TaskUsers {
    let database: Database
    let range: ClosedRange<Int>
    private var known: [String: Int32] = [:]

    init(database: Database, range: ClosedRange<Int>) {
        self.database = database
        self.range = range
    }

    func uid(of project: String) async throws -> Int32 {
        if let uid = known[project] { return uid }
        // Two gateways on one database may both pick the same id: the unique key refuses one, which looks again.
        for _ in 0..<5 {
            if let uid = try? await assign(project) {
                known[project] = uid
                return uid
            }
        }
        throw APIError.unavailable("no user could be given to project \(project)'s tasks from task.uids \(range)")
    }

    /// A deleted project's user is retired, never given again: files it left where tasks may write (host paths)
    /// stay out of reach of a project created later under the same name, which gets a new user.
    func retire(_ deletion: ProjectDeletion) async throws {
        known[deletion.project] = nil
        try await database.read { sql in
            try await sql.update("cluster_gateway_task_users").set("project", to: SQLBind("deleted:\(deletion.projectID)"))
                .where("project", .equal, deletion.project).run()
        }
    }

    private func assign(_ project: String) async throws -> Int32 {
        let range = range
        return try await database.transaction { sql in
            if let row = try await sql.select().column("uid").from("cluster_gateway_task_users").where("project", .equal, project).first() {
                return Int32(try row.decode(column: "uid", as: Int64.self))
            }
            let highest = try await sql.select().column(SQLFunction("MAX", args: SQLColumn("uid")), as: "uid")
                .from("cluster_gateway_task_users").first()?.decode(column: "uid", as: Int64?.self)
            let next = highest.map { Int($0) + 1 } ?? range.lowerBound
            guard range.contains(next) else {
                throw APIError.unavailable("every user of task.uids \(range) is taken: widen the range for more projects")
            }
            try await sql.insert(into: "cluster_gateway_task_users").columns("project", "uid").values(
                SQLBind(project), SQLBind(Int64(next))
            )
            .run()
            return Int32(next)
        }
    }
}
