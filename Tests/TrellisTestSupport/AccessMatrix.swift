import Foundation
import Testing
import TrellisCore

/// How the access matrix reaches the platform: the embedded one in process, or split mode through its gateway.
public struct MatrixSetup: Sendable {
    /// Where the checked calls go.
    public var api: any APITransport
    /// Where the matrix asks for a persona's login token (the identity service's internal act-as route): the platform
    /// itself embedded, the identity service's own port in split mode (the gateway does not route internal paths).
    public var identity: any APITransport
    public var serviceToken: String
    public var adminPassword: String
    /// Behind the gateway the internal routes are not routed: 404 for everyone, the service token included.
    public var behindGateway = false
    /// Personas call with personal API tokens (no role ceiling below their membership) instead of login tokens; the
    /// admin keeps a login, since an API token never acts as an admin.
    public var apiTokens = false

    public init(api: any APITransport, identity: any APITransport, serviceToken: String, adminPassword: String) {
        self.api = api
        self.identity = identity
        self.serviceToken = serviceToken
        self.adminPassword = adminPassword
    }
}

extension AccessMatrix {
    /// Checks every route of `routes` (the table's order; reads first, so that writes such as publishing the template
    /// or removing a member do not change what they find) for every persona; returns the number of calls made.
    public static func check(_ routes: [String], of table: PermissionTable, with setup: MatrixSetup) async throws -> Int {
        var matrix = try await AccessMatrix(setup)
        for route in routes.filter({ $0.hasPrefix("GET ") }) + routes.filter({ !$0.hasPrefix("GET ") }) {
            try await matrix.check(route, rule: table.routes[route]!)
        }
        return matrix.calls
    }
}

/// The callers of the matrix, from least to most privileged: whoever a route refuses comes before whoever it admits.
public enum Persona: String, CaseIterable, Sendable {
    case anonymous, outsider, viewer, developer, owner, admin

    var username: String? {
        switch self {
        case .anonymous: nil
        case .admin: "admin"
        default: "matrix-\(rawValue)"
        }
    }

    var role: ProjectRole? { ProjectRole(rawValue: rawValue) }

    /// What the table says this persona gets from a route.
    func expectation(_ rule: PermissionTable.Rule) -> Expectation {
        if self == .anonymous { return rule == .public ? .admitted : .status(401) }
        switch rule {
        case .public, .user, .own: return .admitted
        case .service: return .status(401)
        case .admin: return self == .admin ? .admitted : .status(403)
        case .project(let action):
            if self == .admin { return .admitted }
            guard let role else { return .status(404) }
            return role >= action.minimumRole ? .admitted : .status(403)
        }
    }

    enum Expectation: Equatable, CustomStringConvertible {
        /// Let through: any answer but 401, 403, 404 or a server error.
        case admitted
        case status(Int)

        func holds(for status: Int) -> Bool {
            switch self {
            case .admitted: ![401, 403, 404].contains(status) && status < 500
            case .status(let expected): status == expected
            }
        }

        var description: String {
            switch self {
            case .admitted: "admitted"
            case .status(let status): String(status)
            }
        }
    }
}

/// The project the matrix calls routes on, with one of everything a route can name.
struct MatrixWorld {
    let project: String
    let run: String
    let template: String
    let recordDate: String
    /// The cluster gateway's execution of the run's task.
    let execution: String
    /// The viewer's API token, for introspection.
    let apiToken: String
    static let pipeline = "flow"
    static let task = "hello"
    static let image = "img"
    static let cluster = "edge"
}

public struct AccessMatrix {
    let setup: MatrixSetup
    var api: any APITransport { setup.api }
    var world: MatrixWorld
    var generation = 0
    var calls = 0
    /// Personas' API tokens, made once each (with `apiTokens`).
    var apiTokens: [Persona: String] = [:]
    /// Users the routes on `/users/{username}` act on, one per persona.
    var spareUsers: [Persona: String] = [:]

    init(_ setup: MatrixSetup) async throws {
        self.setup = setup
        let api = setup.api
        let admin = try await api.login("admin", setup.adminPassword)
        for persona in Persona.allCases where persona != .admin {
            guard let name = persona.username else { continue }
            let made = try await api.call("POST", "/api/v1/users", token: admin, json: ["username": name, "password": "\(name)-password"])
            guard made.status == 201 else { throw TransportError("user \(name): \(made.text)") }
        }
        // A cluster to name in /clusters/{cluster}.
        let cluster = try await api.call("POST", "/api/v1/clusters", token: admin, json: ["name": MatrixWorld.cluster, "kind": "local"])
        guard cluster.status == 201 else { throw TransportError("cluster: \(cluster.text)") }
        // The outsider owns a project of their own.
        let outsider = try await Self.token(setup, for: .outsider)
        let beta = try await api.call("POST", "/api/v1/projects", token: outsider, json: ["name": "beta"])
        guard beta.status == 201 else { throw TransportError("project beta: \(beta.text)") }
        world = try await Self.build(setup, generation: 0)
    }

    // MARK: Checking a route

    mutating func check(_ route: String, rule: PermissionTable.Rule) async throws {
        let parts = route.split(separator: " ", maxSplits: 1).map(String.init)
        let (method, pattern) = (parts[0], parts[1])
        if pattern == "/api/v1/users/{username}" { try await makeSpareUsers() }
        let before = try await snapshot()
        var refusalsChecked = false
        for persona in Persona.allCases {
            let expected = expectation(route, rule, for: persona)
            if expected == .admitted, !refusalsChecked {
                refusalsChecked = true
                try await expectUnchanged(before, route)
            }
            let session = persona == .anonymous ? nil : try await Self.token(setup, for: persona)
            let path = try await path(pattern, persona: persona, token: session)
            let response = try await call(method, path, token: try await caller(persona, session: session), body: body(method, pattern))
            #expect(
                expected.holds(for: response.status),
                "\(route) as \(persona): expected \(expected) (\(rule)), got \(response.status) \(response.text.prefix(300))")
            if persona == .outsider, (200..<300).contains(response.status) {
                for marker in [world.project, world.run] {
                    #expect(!response.text.contains(marker), "\(route) showed the outsider \(marker): \(response.text.prefix(300))")
                }
            }
            if case .project = rule, expected == .admitted, method == "DELETE", (200..<300).contains(response.status) {
                generation += 1
                world = try await Self.build(setup, generation: generation)
            }
            if pattern == "/api/v1/clusters/{cluster}", method == "DELETE", (200..<300).contains(response.status) {
                // Gone for the routes after it: registered again.
                let again = try await call(
                    "POST", "/api/v1/clusters", token: try await Self.token(setup, for: .admin),
                    body: ["name": MatrixWorld.cluster, "kind": "local"])
                #expect(again.status == 201, "\(again.text)")
            }
        }
        if !refusalsChecked { try await expectUnchanged(before, route) }
        switch rule {
        case .service:
            let response = try await call(
                method, try await path(pattern, persona: .admin, token: nil), token: setup.serviceToken, body: body(method, pattern))
            if setup.behindGateway {
                #expect(response.status == 404, "\(route) with the service token through the gateway: \(response.status) \(response.text)")
            } else {
                // Let through; a 404 is an answer here (the fixtures' run is local: no Workflow to read, stop or retry).
                #expect(
                    ![401, 403].contains(response.status) && response.status < 500,
                    "\(route) with the service token: \(response.status) \(response.text)")
            }
        case .own:
            // Someone else's: as unknown.
            let owner = try await Self.token(setup, for: .owner)
            let path = try await path(pattern, persona: .owner, token: owner)
            let viewer = try await caller(.viewer, session: try await Self.token(setup, for: .viewer))
            let response = try await call(method, path, token: viewer, body: body(method, pattern))
            #expect(response.status == 404, "\(route) on another user's: \(response.status) \(response.text)")
        default: break
        }
    }

    /// What the table says `persona` gets from `route`, as this setup calls it.
    func expectation(_ route: String, _ rule: PermissionTable.Rule, for persona: Persona) -> Persona.Expectation {
        if setup.behindGateway, rule == .service { return .status(404) }
        // An API token cannot create projects or further tokens (log in for those).
        if usesAPIToken(persona), ["POST /api/v1/projects", "POST /api/v1/tokens"].contains(route) { return .status(403) }
        return persona.expectation(rule)
    }

    func usesAPIToken(_ persona: Persona) -> Bool { setup.apiTokens && persona != .anonymous && persona != .admin }

    /// A fresh user per persona, for the routes that change or delete the user they name.
    mutating func makeSpareUsers() async throws {
        let admin = try await Self.token(setup, for: .admin)
        for persona in Persona.allCases {
            let name = "spare-\(UUID().uuidString.prefix(8).lowercased())"
            let made = try await api.call("POST", "/api/v1/users", token: admin, json: ["username": name, "password": "\(name)-password"])
            guard made.status == 201 else { throw TransportError("user \(name): \(made.text)") }
            spareUsers[persona] = name
        }
    }

    /// The token the persona calls with: its login (`session`), or its API token.
    mutating func caller(_ persona: Persona, session: String?) async throws -> String? {
        guard usesAPIToken(persona), let session else { return session }
        if let known = apiTokens[persona] { return known }
        let made = try await api.call("POST", "/api/v1/tokens", token: session, json: ["name": "matrix-\(persona)", "role": "owner"])
        guard let secret = made.json["token"] as? String else { throw TransportError("API token of \(persona): \(made.text)") }
        apiTokens[persona] = secret
        return secret
    }

    func expectUnchanged(_ before: [String], _ route: String) async throws {
        let after = try await snapshot()
        let changed = zip(before, after).filter { $0 != $1 }.map { "\($0.0.prefix(500)) → \($0.1.prefix(500))" }
        #expect(changed.isEmpty, "a refused \(route) changed the project: \(changed)")
    }

    mutating func call(_ method: String, _ path: String, token: String?, body: [String: Any]?) async throws -> APIResponse {
        calls += 1
        return try await api.call(method, path, token: token, json: body)
    }

    /// The route's path with every parameter filled in from the world; `{id}` of an own resource is one the persona
    /// makes now.
    func path(_ pattern: String, persona: Persona, token: String?) async throws -> String {
        var segments: [String] = []
        for segment in pattern.split(separator: "/", omittingEmptySubsequences: false).map(String.init) {
            guard segment.hasPrefix("{"), segment.hasSuffix("}") else {
                segments.append(segment)
                continue
            }
            switch segment.dropFirst().dropLast() {
            case "project": segments.append(world.project)
            case "pipeline": segments.append(MatrixWorld.pipeline)
            case "run": segments.append(world.run)
            case "task": segments.append(MatrixWorld.task)
            case "number": segments.append("1")
            case "template": segments.append(world.template)
            case "name": segments.append(pattern.contains("/images/") ? MatrixWorld.image : world.template)
            case "version": segments.append(pattern.contains("/pipelines/") ? "1" : "1.0.0")
            case "date": segments.append(world.recordDate)
            case "username" where pattern == "/api/v1/users/{username}":
                // A user of its own for each persona's call (made before the snapshot): disabling or deleting a
                // persona would change the matrix.
                guard let name = spareUsers[persona] else { throw TransportError("\(pattern): no spare user for \(persona)") }
                segments.append(name)
            case "username": segments.append(Persona.viewer.username!)
            case "cluster": segments.append(MatrixWorld.cluster)
            case "id" where pattern.hasPrefix("/api/v1/tokens/"):
                guard let token else {
                    segments.append("no-such-token")
                    continue
                }
                let made = try await api.call("POST", "/api/v1/tokens", token: token, json: ["name": "own"])
                guard let id = (made.json["apiToken"] as? [String: Any])?["id"] as? String else {
                    throw TransportError("token of \(persona): \(made.text)")
                }
                segments.append(id)
            case "id": segments.append(world.execution)
            default: throw TransportError("\(pattern): no value for \(segment); give AccessMatrix one")
            }
        }
        return segments.joined(separator: "/")
    }

    /// A body that the route accepts from whoever it admits.
    func body(_ method: String, _ pattern: String) -> [String: Any]? {
        let unique = UUID().uuidString.prefix(8).lowercased()
        switch "\(method) \(pattern)" {
        case "POST /api/v1/auth/login": return ["username": Persona.viewer.username!, "password": "\(Persona.viewer.username!)-password"]
        case "POST /api/v1/auth/introspect": return ["token": world.apiToken]
        case "POST /api/v1/tokens": return ["name": "matrix"]
        case "POST /api/v1/users": return ["username": "made-\(unique)", "password": "made-password"]
        case "POST /api/v1/projects": return ["name": "made-\(unique)"]
        case "POST /api/v1/clusters": return ["name": "made-\(unique)", "kind": "local"]
        case "PUT /api/v1/clusters/{cluster}/policy": return ["projects": ["*"], "level": "privileged"]
        case "PATCH /api/v1/projects/{project}": return ["description": "changed"]
        case "PATCH /api/v1/users/{username}": return ["disabled": true]
        case "POST /api/v1/projects/{project}/members": return ["username": Persona.viewer.username!, "role": "viewer"]
        case "POST /api/v1/projects/{project}/templates": return Self.template(world.template, version: "1.0.1")
        case "POST /api/v1/projects/{project}/images": return ["name": MatrixWorld.image, "reference": "busybox:1.36"]
        case "POST /api/v1/projects/{project}/pipelines": return Self.pipeline
        case "PUT /api/v1/projects/{project}/pipelines/{pipeline}/layout": return ["layout": ["hello": ["x": 10, "y": 20]]]
        case "POST /api/v1/projects/{project}/pipelines/{pipeline}/backfill":
            return ["from": Self.iso(hoursAgo: 3), "to": Self.iso(hoursAgo: 2)]
        case "POST /api/v1/internal/identity/act-as": return ["username": Persona.viewer.username!]
        case "POST /api/v1/internal/workflows":
            return [
                "run": world.run, "project": world.project, "cluster": MatrixWorld.cluster,
                "workflow": ["metadata": ["name": "trellis-\(world.run)", "namespace": "trellis-\(world.project)"]],
            ]
        default: return method == "GET" || method == "DELETE" ? nil : [:]
        }
    }

    /// What a refused call must not change, read as the admin. Scheduled runs are left out: the schedule may tick.
    func snapshot() async throws -> [String] {
        let admin = try await Self.token(setup, for: .admin)
        let base = "/api/v1/projects/\(world.project)"
        var parts: [String] = []
        for path in ["/api/v1/users", base, "\(base)/members", "\(base)/pipelines", "\(base)/templates", "\(base)/images"] {
            let body = try await api.call("GET", path, token: admin).body
            // Canonical: the order of an answer's keys varies.
            let canonical = try JSONSerialization.data(withJSONObject: JSONSerialization.jsonObject(with: body), options: .sortedKeys)
            parts.append(String(decoding: canonical, as: UTF8.self))
        }
        let projects = try await api.call("GET", "/api/v1/projects", token: admin).json["projects"] as? [[String: Any]] ?? []
        parts.append(projects.compactMap { $0["name"] as? String }.sorted().joined(separator: ","))
        let runs = try await api.call("GET", "\(base)/runs?limit=1000", token: admin).json["runs"] as? [[String: Any]] ?? []
        parts.append(
            runs.filter { $0["trigger"] as? String != "schedule" }.compactMap { $0["id"] as? String }.sorted().joined(separator: ","))
        let schedule = try await api.call("GET", "\(base)/pipelines/\(MatrixWorld.pipeline)/schedule", token: admin)
        parts.append("paused: \(schedule.json["paused"] ?? "none")")
        return parts
    }

    // MARK: The world

    /// A token for the persona, fresh for each call (a call may log it out).
    static func token(_ setup: MatrixSetup, for persona: Persona) async throws -> String {
        let issued = try await setup.identity.call(
            "POST", "/api/v1/internal/identity/act-as", token: setup.serviceToken, json: ["username": persona.username!])
        guard let token = issued.json["token"] as? String else { throw TransportError("act as \(persona): \(issued.text)") }
        return token
    }

    /// A project with its owner, developer and viewer, a scheduled pipeline with a finished run and a schedule record,
    /// a draft template, an image and the viewer's API token.
    static func build(_ setup: MatrixSetup, generation: Int) async throws -> MatrixWorld {
        let api = setup.api
        let project = "alpha-\(generation)"
        let owner = try await token(setup, for: .owner)
        let developer = try await token(setup, for: .developer)
        let made = try await api.call("POST", "/api/v1/projects", token: owner, json: ["name": project])
        guard made.status == 201 else { throw TransportError("project \(project): \(made.text)") }
        for persona in [Persona.developer, .viewer] {
            let added = try await api.call(
                "POST", "/api/v1/projects/\(project)/members", token: owner,
                json: ["username": persona.username!, "role": persona.rawValue])
            guard added.status == 201 else { throw TransportError("member \(persona): \(added.text)") }
        }
        let saved = try await api.call("POST", "/api/v1/projects/\(project)/pipelines", token: developer, json: pipeline)
        guard saved.status == 201 else { throw TransportError("pipeline: \(saved.text)") }
        let run = try await api.startRun(MatrixWorld.pipeline, project: project, token: developer)
        let finished = try await api.waitForRun(run, project: project, token: developer)
        guard finished["state"] as? String == "succeeded" else { throw TransportError("run: \(finished)") }
        let attempt = try await api.call(
            "GET", "/api/v1/projects/\(project)/runs/\(run)/tasks/\(MatrixWorld.task)/attempts/1", token: developer)
        let execution = try #require((attempt.json["process"] as? [String: Any])?["id"] as? String, "\(attempt.text)")
        // The metrics collector has it too, so that its usage routes have something to show.
        try await Waiting.until("the usage of the run's attempt") {
            let usage = try await api.call(
                "GET", "/api/v1/projects/\(project)/runs/\(run)/tasks/\(MatrixWorld.task)/attempts/1/usage", token: developer)
            return usage.status == 200 && usage.json["complete"] as? Bool == true
        }
        let records = try await api.waitForRecords(MatrixWorld.pipeline, project: project, token: developer) { !$0.isEmpty }
        let template = "tpl-\(generation)"
        let registered = try await api.call(
            "POST", "/api/v1/projects/\(project)/templates", token: developer, json: Self.template(template, version: "1.0.0"))
        guard registered.status == 201 else { throw TransportError("template: \(registered.text)") }
        let image = try await api.call(
            "POST", "/api/v1/projects/\(project)/images", token: developer, json: ["name": MatrixWorld.image, "reference": "busybox:1.36"])
        guard image.status == 201 else { throw TransportError("image: \(image.text)") }
        let viewer = try await token(setup, for: .viewer)
        let apiToken = try await api.call("POST", "/api/v1/tokens", token: viewer, json: ["name": "introspected", "role": "viewer"])
        guard let secret = apiToken.json["token"] as? String else { throw TransportError("API token: \(apiToken.text)") }
        return MatrixWorld(
            project: project, run: run, template: template, recordDate: try #require(RecordJSON.date(records[0])), execution: execution,
            apiToken: secret)
    }

    static var pipeline: [String: Any] {
        [
            "apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": ["name": MatrixWorld.pipeline],
            "spec": [
                "schedule": ["cron": "0 * * * *", "startTime": iso(hoursAgo: 3), "catchup": false],
                "tasks": [["name": MatrixWorld.task, "template": "shell", "args": ["command": "echo hello"]]],
            ],
        ]
    }

    static func template(_ name: String, version: String) -> [String: Any] {
        [
            "name": name, "version": version, "category": "test", "description": "a matrix template", "image": "busybox:1.36",
            "command": ["true"],
        ]
    }

    static func iso(hoursAgo hours: Double) -> String {
        Date(timeIntervalSinceNow: -hours * 3600).formatted(.iso8601)
    }
}
