import AsyncHTTPClient
import Foundation
import SQLKit
import Testing
import TrellisStore
import TrellisTestSupport

@testable import ClusterGateway

#if canImport(Glibc)
    import Glibc
#endif

/// The attacks of a plain user's task on the platform and on another project, against a real `trellis serve`
/// whose environment holds the admin password, as an attacker who knows every path and pid would make them. Each
/// probe prints `DENIED name: why` or `LEAK name: what`; in a sandbox every one is denied with the system's reason, and
/// the same probes without the sandbox leak (so they are real probes, not typos that fail anyway).
@Suite(.serialized, .aloneAmongDeployments) struct TenantIsolationTests {
    static let adminPassword = "isolation-admin-password"

    /// A server on a fresh data folder, as `environment` configures it, with a victim project running a task and an
    /// attacker project; the body gets the API, the admin's token, the attacker's, and what it may aim at.
    static func withVictim(
        _ environment: [String: String], undisturbed: Bool = true, serverUser: Int32? = nil,
        _ body: (HTTPTransport, _ admin: String, _ mallory: String, _ target: Target) async throws -> Void
    ) async throws {
        let dataDir = URL(fileURLWithPath: "/tmp/trellis-isolation-\(UUID().uuidString)")
        let userBase = Int.random(in: 2500...2899) * 1000
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dataDir) }
        if let serverUser { try #require(chown(dataDir.path, uid_t(serverUser), gid_t(serverUser)) == 0) }
        let port = try Processes.freePorts(1)
        let api = HTTPTransport(baseURL: "http://127.0.0.1:\(port)", client: HTTPClient.shared)
        let server = try await Processes.serve(
            dataDir: dataDir, port: port, log: "server.log",
            environment: environment.merging([
                "TRELLIS_ADMIN_PASSWORD": Self.adminPassword,
                // Users of their own: a process limit per user is not shared with other tests' servers.
                "TRELLIS_TASK_UIDS": "\(userBase)-\(userBase + 999)",
            ]) { $1 }, user: serverUser)
        defer { if server.isRunning { server.terminate() } }
        let admin = try await api.login("admin", Self.adminPassword)
        let victim = try await api.team(project: "victim", owner: "victor", members: [], admin: admin)["victor"]!
        let mallory = try await api.team(project: "evil", owner: "mallory", members: [], admin: admin)["mallory"]!
        // The victim's task keeps running while the attacker's runs, then checks nothing touched its folder.
        try await api.applyPipeline(
            "steady", project: "victim", token: victim,
            tasks: [
                // In its working folder (the shell template moves to /tmp; OLDPWD is where the task started).
                shell(
                    "work",
                    "echo victim-secret > \"$OLDPWD/notes\"; i=0; while [ $i -lt 100 ]; do sleep 0.2; i=$((i+1)); done; cat \"$OLDPWD/notes\""
                )
            ])
        let run = try await api.startRun("steady", project: "victim", token: victim)
        let started = try await api.waitForRun(run, project: "victim", token: victim) {
            RunJSON.attempts($0, "work").first?["state"] as? String == "running"
        }
        #expect(RunJSON.state(started, "work") == "running")
        let execution = "\(run)-work-1"
        // Its process, once the supervisor has written it down.
        var replica: [String: Any]?
        for _ in 0..<100 where (replica?["pid"] as? Int ?? 0) == 0 {
            let detail = try await api.call("GET", "/api/v1/projects/victim/runs/\(run)/tasks/work/attempts/1", token: victim)
            replica = ((detail.json["process"] as? [String: Any])?["replicas"] as? [[String: Any]])?.first
            try await Task.sleep(for: .milliseconds(100))
        }
        let shim = try? JSONSerialization.jsonObject(
            with: Data(contentsOf: dataDir.appendingPathComponent("executions/\(execution)/shim.json")))
        let target = Target(
            dataDir: dataDir.path, execution: execution, serverPID: server.processIdentifier, taskPID: replica?["pid"] as? Int ?? 0,
            supervisorPID: (shim as? [String: Any])?["pid"] as? Int ?? 0, port: port)
        try #require(target.taskPID > 0 && target.supervisorPID > 0, "the victim's task has no process: \(replica ?? [:])")
        try await body(api, admin, mallory, target)
        let ended = try await api.waitForRun(run, project: "victim", token: victim)
        guard undisturbed else { return }
        #expect(ended["state"] as? String == "succeeded", "the victim's task was disturbed: \(ended)")
        let log = try await api.call("GET", "/api/v1/projects/victim/runs/\(run)/tasks/work/logs", token: victim).text
        #expect(log.contains("victim-secret"), "\(log)")
    }

    struct Target {
        let dataDir: String
        let execution: String
        let serverPID: Int32
        let taskPID: Int
        let supervisorPID: Int
        let port: Int
    }

    static func shell(_ name: String, _ command: String, extra: [String: Any] = [:]) -> [String: Any] {
        var task: [String: Any] = ["name": name, "template": "shell", "args": ["command": command]]
        task.merge(extra) { $1 }
        return task
    }

    /// The probes: each reads or writes what a tenant must never reach.
    static func probes(_ target: Target) -> [(name: String, command: String)] {
        let data = target.dataDir
        let other = "\(data)/executions/\(target.execution)"
        return [
            ("secrets-key", "cat \(data)/secrets.key"),
            ("database", "head -c 64 \(data)/trellis.db"),
            ("server-environ", "tr '\\0' '\\n' < /proc/\(target.serverPID)/environ | grep TRELLIS_ADMIN_PASSWORD"),
            ("supervisor-environ", "tr '\\0' '\\n' < /proc/\(target.supervisorPID)/environ | grep -a ="),
            ("parent-environ", "tr '\\0' '\\n' < /proc/$PPID/environ | grep TRELLIS_ADMIN_PASSWORD"),
            ("other-execution", "ls \(other)"),
            ("other-log", "cat \(other)/output.log"),
            ("other-work", "cat /var/tmp/trellis-work/\(target.execution)/notes 2>/dev/null || cat \(data)/work/\(target.execution)/notes"),
            ("other-status", "echo '{\"phase\":\"failed\"}' > \(other)/status.json"),
            ("signal-other", "kill -9 \(target.taskPID)"),
        ]
    }

    static func script(_ probes: [(name: String, command: String)]) -> String {
        "id\necho \"limits files=$(ulimit -n) core=$(ulimit -c) processes=$(awk '/Max processes/ {print $3}' /proc/self/limits)\"\n"
            + probes.map { probe in
                "if out=$( (\(probe.command)) 2>&1); then echo \"LEAK \(probe.name): $out\" | head -c 300; echo; "
                    + "else echo \"DENIED \(probe.name): $out\" | head -c 300; echo; fi"
            }.joined(separator: "\n")
    }

    /// Runs the probes as mallory and returns the attempt's log.
    static func attack(_ api: HTTPTransport, _ mallory: String, _ target: Target) async throws -> String {
        try await api.applyPipeline("probe", project: "evil", token: mallory, tasks: [shell("probe", script(probes(target)))])
        let run = try await api.startRun("probe", project: "evil", token: mallory)
        _ = try await api.waitForRun(run, project: "evil", token: mallory)
        return try await api.call("GET", "/api/v1/projects/evil/runs/\(run)/tasks/probe/logs", token: mallory).text
    }

    @Test func aTenantsTaskReachesNothingOfThePlatformNorOfAnotherProject() async throws {
        try await Self.withVictim(["TRELLIS_TASK_MAX_PROCESSES": "64"]) { api, admin, mallory, target in
            let log = try await Self.attack(api, mallory, target)
            for probe in Self.probes(target) {
                let line = log.split(separator: "\n").first { $0.contains(" \(probe.name): ") }.map(String.init) ?? ""
                #expect(line.contains("DENIED \(probe.name): "), "\(probe.name) got through: \(line)")
                // The task's own log says why: the file is not there for it, or not its to read or signal.
                let reasons = ["No such file", "Directory nonexistent", "Permission denied", "No such process", "Read-only file system"]
                #expect(
                    reasons.contains { line.contains($0) } || probe.name.hasSuffix("environ"),
                    "\(probe.name) failed without a reason: \(line)")
            }
            #expect(!log.contains("LEAK"), "\(log)")
            #expect(!log.contains(Self.adminPassword))
            #expect(log.contains("limits files=4096 core=0 processes=64"), "the task's resource limits: \(log)")

            // The data folder is the server's alone, its secrets 0600.
            for (file, mode) in [("", 0o700), ("/secrets.key", 0o600), ("/trellis.db", 0o600), ("/executions", 0o700)] {
                let attributes = try FileManager.default.attributesOfItem(atPath: target.dataDir + file)
                #expect((attributes[.posixPermissions] as? Int) == mode, "\(file): \(attributes[.posixPermissions] ?? "?")")
            }
            // So are an execution's files: its spec holds the task's whole environment, its logs what the task printed.
            for file in ["spec", "shim.json", "running.json", "output.log", "replica-0.log", "samples.jsonl"] {
                let attributes = try FileManager.default.attributesOfItem(
                    atPath: "\(target.dataDir)/executions/\(target.execution)/\(file)")
                #expect((attributes[.posixPermissions] as? Int) == 0o600, "\(file): \(attributes[.posixPermissions] ?? "?")")
            }

            // The token signing key is sealed at rest: a copy of the database alone signs nothing.
            let stored = try await Database.withOpened(.sqliteFile(path: target.dataDir + "/trellis.db"), logger: .init(label: "test")) {
                try await $0.read { sql in
                    try await sql.select().column("private_key_pem").from("identity_signing_keys")
                        .all(decodingColumn: "private_key_pem", as: String.self)
                }
            }
            #expect(!stored.isEmpty && stored.allSatisfy { $0.hasPrefix("v1:") && !$0.contains("PRIVATE KEY") }, "\(stored)")

            // A host folder is mounted only where a platform admin allowed it (refused at save and at run, naming the
            // field); an owner cannot allow it; not even an admin can give a task the data folder.
            let mounting = Self.shell("mount", "ls /host", extra: ["mounts": ["/(hostpath):/host"]])
            let document: [String: Any] = [
                "apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": ["name": "mounting"], "spec": ["tasks": [mounting]],
            ]
            let unsaved = try await api.call("POST", "/api/v1/projects/evil/pipelines", token: mallory, json: document)
            #expect(unsaved.status == 400, "\(unsaved.text)")
            #expect(unsaved.text.contains("spec.tasks[mount].mounts[0]") && unsaved.text.contains("settings.hostPaths"), "\(unsaved.text)")
            let widen = try await api.call("PATCH", "/api/v1/projects/evil", token: mallory, json: ["settings": ["hostPaths": ["/"]]])
            #expect(widen.status == 403, "\(widen.text)")
            #expect(
                try await api.call("PATCH", "/api/v1/projects/evil", token: admin, json: ["settings": ["hostPaths": ["/"]]]).status == 200)
            try await api.applyPipeline("mounting", project: "evil", token: mallory, tasks: [mounting])
            let run = try await api.startRun("mounting", project: "evil", token: mallory)
            let ended = try await api.waitForRun(run, project: "evil", token: mallory)
            let reason = RunJSON.attempts(ended, "mount").first?["reason"] as? String ?? ""
            #expect(RunJSON.state(ended, "mount") == "failed" && reason.contains("Trellis's own files"), "\(ended)")
            #expect(try await api.call("PATCH", "/api/v1/projects/evil", token: admin, json: ["settings": ["hostPaths": []]]).status == 200)
            let refused = try await api.call("POST", "/api/v1/projects/evil/pipelines/mounting/runs", token: mallory)
            #expect(refused.status == 400 && refused.text.contains("spec.tasks[mount].mounts[0]"), "\(refused.text)")
        }
    }

    /// A server that is not root runs tasks as its own user in a user namespace: only the mount namespace keeps them
    /// from its files, and the same probes find nothing.
    @Test(
        .enabled(
            if: getuid() == 0 && Processes.everyoneMayRun(Processes.binDirectory.appendingPathComponent("trellis").path),
            "needs root to start the server as another user, and the built binaries where any user may run them"))
    func aServerOfAPlainUserKeepsItsFilesFromItsTasks() async throws {
        try await Self.withVictim([:], serverUser: 1_999_999) { api, _, mallory, target in
            let log = try await Self.attack(api, mallory, target)
            for probe in Self.probes(target) {
                let line = log.split(separator: "\n").first { $0.contains(" \(probe.name): ") }.map(String.init) ?? ""
                #expect(line.contains("DENIED \(probe.name): "), "\(probe.name) got through: \(line)")
            }
            #expect(!log.contains("LEAK"), "\(log)")
            #expect(log.contains("uid=1999999"), "the task runs as the server's user, in its namespace: \(log)")
        }
    }

    @Test func aForkBombAndAMemoryHogEndTheirAttemptNotTheServer() async throws {
        try await Self.withVictim(["TRELLIS_TASK_MAX_PROCESSES": "64"]) { api, _, mallory, _ in
            // One after the other: the bomb holds the project user's processes while it lasts. With resources, each
            // attempt has its own control groups, whose process limit is the one it meets.
            try await api.applyPipeline(
                "bomb", project: "evil", token: mallory,
                tasks: [
                    Self.shell(
                        "fork-bomb", "bomb() { bomb | bomb & }; bomb; sleep 60", extra: ["timeout": "2m", "resources": ["memory": "512Mi"]])
                ])
            let bombed = try await api.waitForRun(
                try await api.startRun("bomb", project: "evil", token: mallory), project: "evil", token: mallory, limit: .seconds(100))
            let bomb = RunJSON.attempts(bombed, "fork-bomb").first ?? [:]
            #expect(bomb["state"] as? String == "failed", "\(bomb)")
            #expect((bomb["reason"] as? String ?? "").contains("reached the limit of 64"), "\(bomb)")
            try await api.applyPipeline(
                "hog", project: "evil", token: mallory,
                tasks: [
                    Self.shell(
                        "memory-hog", "python3 -c 'b = bytearray(1024 * 1024 * 1024); print(len(b))'",
                        extra: ["resources": ["memory": "64Mi"], "timeout": "2m"])
                ])
            let hogged = try await api.waitForRun(
                try await api.startRun("hog", project: "evil", token: mallory), project: "evil", token: mallory, limit: .seconds(100))
            let hog = RunJSON.attempts(hogged, "memory-hog").first ?? [:]
            #expect(hog["state"] as? String == "failed", "\(hog)")
            #expect((hog["reason"] as? String ?? "").contains("more memory than its limit"), "\(hog)")
            // A task's resources are its attempt's control groups' limits while it runs.
            try await api.applyPipeline(
                "bounded", project: "evil", token: mallory,
                tasks: [Self.shell("bounded", "sleep 30", extra: ["resources": ["cpu": "250m", "memory": "96Mi"], "timeout": "2m"])])
            let bounded = try await api.startRun("bounded", project: "evil", token: mallory)
            _ = try await api.waitForRun(bounded, project: "evil", token: mallory) {
                RunJSON.attempts($0, "bounded").first?["state"] as? String == "running"
            }
            // Where the server (a child of this test, in its groups) makes them.
            let groups = ControlGroupRoots.detect().directories(for: "\(bounded)-bounded-1")
            try #require(groups.count == 3, "as root, this machine lets the server make pids, memory and cpu groups: \(groups)")
            func limit(_ file: String) -> String {
                groups.lazy.compactMap { try? String(contentsOfFile: "\($0)/\(file)", encoding: .utf8) }.first?
                    .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            }
            var limits: [String] = []
            for _ in 0..<100 {
                limits = [limit("cpu.cfs_quota_us"), limit("memory.limit_in_bytes"), limit("pids.max")]
                if limits == ["25000", String(96 << 20), "64"] { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(limits == ["25000", String(96 << 20), "64"], "the attempt's control groups: \(limits)")
            #expect(try await api.call("POST", "/api/v1/projects/evil/runs/\(bounded)/cancel", token: mallory).status == 200)
            _ = try await api.waitForRun(bounded, project: "evil", token: mallory)

            // The server answers and runs the next task as before.
            try await api.applyPipeline("after", project: "evil", token: mallory, tasks: [Self.shell("fine", "echo still-here")])
            let after = try await api.waitForRun(
                try await api.startRun("after", project: "evil", token: mallory), project: "evil", token: mallory)
            #expect(after["state"] as? String == "succeeded")
        }
    }

    @Test func aProjectWithoutNetworkHasOnlyItsOwnLoopback() async throws {
        try await Self.withVictim([:]) { api, _, mallory, target in
            let connect =
                "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", \(target.port)), timeout=5); print(\"connected\")'"
            try await api.applyPipeline("net", project: "evil", token: mallory, tasks: [Self.shell("connect", connect)])
            let online = try await api.waitForRun(
                try await api.startRun("net", project: "evil", token: mallory), project: "evil", token: mallory)
            #expect(RunJSON.state(online, "connect") == "succeeded", "\(online)")
            let off = try await api.call("PATCH", "/api/v1/projects/evil", token: mallory, json: ["settings": ["network": false]])
            #expect(off.status == 200, "\(off.text)")
            let offline = try await api.waitForRun(
                try await api.startRun("net", project: "evil", token: mallory), project: "evil", token: mallory)
            #expect(RunJSON.state(offline, "connect") == "failed", "\(offline)")
            let id = try #require(offline["id"] as? String)
            let log = try await api.call("GET", "/api/v1/projects/evil/runs/\(id)/tasks/connect/logs", token: mallory).text
            #expect(log.contains("Network is unreachable") || log.contains("Connection refused"), "\(log)")
        }
    }

    /// The same probes with the sandbox off read the platform's secrets: they test what they claim.
    @Test func withoutTheSandboxTheSameProbesLeak() async throws {
        try await Self.withVictim(["TRELLIS_LOCAL_EXECUTOR": "unsandboxed"], undisturbed: false) { api, _, mallory, target in
            let log = try await Self.attack(api, mallory, target)
            for name in ["secrets-key", "database", "server-environ", "other-execution", "other-log", "other-work", "other-status"] {
                #expect(log.contains("LEAK \(name): "), "\(name) was denied even without a sandbox: \(log)")
            }
            // Even unsandboxed, the supervisor (readable by the same user here) holds no environment to leak.
            #expect(log.contains("DENIED supervisor-environ: "), "\(log)")
        }
    }
}
