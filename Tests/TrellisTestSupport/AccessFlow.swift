import Foundation

/// The foundation's acceptance flow, run the same way against every deployment shape (in-process on SQLite and
/// PostgreSQL, `trellis serve`, split mode behind the gateway): log in, create a project, add a member, check that
/// the member sees it and a non-member gets 404, and that bad tokens get 401. Returns a list of failures.
public enum AccessFlow {
    public static func run(_ api: some APITransport, adminPassword: String) async throws -> [String] {
        var failures: [String] = []
        func check(_ condition: Bool, _ what: @autoclosure () -> String) {
            if !condition { failures.append(what()) }
        }
        let suffix = UUID().uuidString.prefix(6).lowercased()
        let project = "flow-\(suffix)"
        let admin = try await api.login("admin", adminPassword)

        let me = try await api.call("GET", "/api/v1/me", token: admin)
        check(me.status == 200 && me.json["username"] as? String == "admin", "GET /me as admin: \(me.status) \(me.text)")

        for name in ["member-\(suffix)", "outsider-\(suffix)"] {
            let created = try await api.call(
                "POST", "/api/v1/users", token: admin, json: ["username": name, "password": "password-\(name)"])
            check(created.status == 201, "POST /users \(name): \(created.status) \(created.text)")
        }
        let member = try await api.login("member-\(suffix)", "password-member-\(suffix)")
        let outsider = try await api.login("outsider-\(suffix)", "password-outsider-\(suffix)")

        let created = try await api.call("POST", "/api/v1/projects", token: admin, json: ["name": project, "description": "flow"])
        check(created.status == 201 && created.json["role"] as? String == "owner", "POST /projects: \(created.status) \(created.text)")

        let added = try await api.call(
            "POST", "/api/v1/projects/\(project)/members", token: admin, json: ["username": "member-\(suffix)", "role": "developer"]
        )
        check(added.status == 201 && added.json["role"] as? String == "developer", "POST members: \(added.status) \(added.text)")

        let seen = try await api.call("GET", "/api/v1/projects/\(project)", token: member)
        check(seen.status == 200 && seen.json["role"] as? String == "developer", "member GET project: \(seen.status) \(seen.text)")
        let listed = try await api.call("GET", "/api/v1/projects", token: member)
        let names = (listed.json["projects"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        check(names == [project], "member's project list: \(names)")

        for path in ["/api/v1/projects/\(project)", "/api/v1/projects/\(project)/members"] {
            let hidden = try await api.call("GET", path, token: outsider)
            check(hidden.status == 404 && hidden.errorCode == "not_found", "non-member GET \(path): \(hidden.status) \(hidden.text)")
        }
        let outsiderList = try await api.call("GET", "/api/v1/projects", token: outsider)
        check((outsiderList.json["projects"] as? [Any])?.isEmpty == true, "non-member's project list: \(outsiderList.text)")

        let badTokens = ["not-a-jwt", admin.dropLast(4) + "AAAA", "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln"]
        for token in badTokens {
            let rejected = try await api.call("GET", "/api/v1/me", token: String(token))
            check(rejected.status == 401 && rejected.errorCode == "unauthenticated", "bad token \(token.prefix(12))…: \(rejected.status)")
        }
        let missing = try await api.call("GET", "/api/v1/projects/\(project)")
        check(missing.status == 401, "no token: \(missing.status)")
        check(missing.errorRequestID?.isEmpty == false, "error bodies carry a request id: \(missing.text)")
        return failures
    }
}
