import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing
import TrellisTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Finds the built executables and the repository, and runs processes for the end-to-end tests.
enum Processes {
    /// `TRELLIS_BIN_DIR` (set by `make test`), else the folder of the running test bundle, which SwiftPM builds
    /// beside the executables.
    static var binDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["TRELLIS_BIN_DIR"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        return URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The next port to hand out. Tests run in parallel in one process: ports come from one counter, so no two tests
    /// get the same port between checking it and binding it. Below Linux's ephemeral range (32768–60999), so no
    /// outgoing connection takes one either.
    private static let nextPort = Mutex(Int.random(in: 20000..<26000))

    /// A run of `count` consecutive ports that are free right now and handed to no other test.
    static func freePorts(_ count: Int) throws -> Int {
        for _ in 0..<50 {
            let base = nextPort.withLock { next in
                if next + count > 32000 { next = 20000 }
                defer { next += count }
                return next
            }
            if (base..<base + count).allSatisfy(isFree) { return base }
        }
        throw TransportError("no run of \(count) free ports found")
    }

    static func isFree(_ port: Int) -> Bool {
        guard
            let channel = try? ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: "127.0.0.1", port: port).wait()
        else { return false }
        try? channel.close().wait()
        return true
    }

    /// Runs a command to completion and returns its exit status and output. posix_spawn and waitpid, not
    /// Foundation's `Process`: `waitUntilExit` never returns for a script that leaves daemons behind (the launcher).
    /// A command still running after `limit` is killed with its process group, and the test fails naming it.
    @discardableResult
    static func run(
        _ executable: URL, _ arguments: [String], environment: [String: String] = [:], directory: String? = nil,
        limit: Duration = .seconds(180)
    ) throws -> (status: Int32, output: String) {
        let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-run-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: outputFile) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputFile.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Its own process group, so that a command past its limit is killed with whatever it started.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        // A working directory through the shell: glibc's posix_spawn_file_actions_addchdir_np is not visible to Swift.
        let command = directory.map { ["/bin/sh", "-c", #"cd "$0" && exec "$@""#, $0, executable.path] } ?? [executable.path]
        let argv = (command + arguments).map { strdup($0) } + [nil]
        let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, &attributes, argv, envp)
        guard spawned == 0 else { throw TransportError("cannot start \(executable.path): error \(spawned)") }
        var status: Int32 = 0
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: limit)
        while true {
            let waited = waitpid(pid, &status, WNOHANG)
            if waited == pid || (waited == -1 && errno != EINTR) { break }
            if clock.now >= deadline {
                kill(-pid, SIGKILL)
                while waitpid(pid, &status, 0) == -1, errno == EINTR {}
                let output = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
                throw TransportError(
                    "`\(([executable.lastPathComponent] + arguments).joined(separator: " "))` did not end within \(limit):\n\(output)")
            }
            usleep(20_000)
        }
        let output = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
        return ((status >> 8) & 0xff, output)
    }

    /// Starts a long-running process with its output in `log`.
    static func start(_ executable: URL, _ arguments: [String], environment: [String: String], log: URL) throws -> Process {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// Ends a process started by ``start(_:_:environment:log:)``: SIGTERM, and SIGKILL when it has not exited after
    /// `grace` (and the test fails: a server must stop on SIGTERM); then reaps it. Never waits longer than that.
    static func stop(_ process: Process, grace: Duration = .seconds(15)) async throws {
        if process.isRunning { process.terminate() }
        do {
            try await Waiting.until("process \(process.processIdentifier) to exit after SIGTERM", limit: grace) { !process.isRunning }
        } catch {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw error
        }
        process.waitUntilExit()
    }

    /// Waits until `url` answers 200, failing early when `process` exits.
    static func waitHealthy(_ url: String, client: HTTPClient, process: Process? = nil, log: URL? = nil) async throws {
        for _ in 0..<300 {
            if let process, !process.isRunning {
                let tail = log.flatMap { try? String(contentsOf: $0, encoding: .utf8) } ?? ""
                throw TransportError("process exited with \(process.terminationStatus) before \(url) answered:\n\(tail)")
            }
            if let response = try? await client.execute(HTTPClientRequest(url: url), timeout: .seconds(1)), response.status == .ok {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TransportError("\(url) did not answer within 30 s")
    }

    /// `trellis serve --demo` on `port` with its data in `dataDir`, healthy; its output goes to `dataDir/<log>`. With
    /// `user`, the server runs as that user (and group), started by setpriv (util-linux) from a test running as root.
    static func serve(dataDir: URL, port: Int, log: String, environment: [String: String], user: Int32? = nil) async throws -> Process {
        let logFile = dataDir.appendingPathComponent(log)
        let serve = [
            binDirectory.appendingPathComponent("trellis").path, "serve", "--port", String(port), "--data-dir", dataDir.path, "--demo",
        ]
        let asUser = user.map { ["--reuid", String($0), "--regid", String($0), "--clear-groups"] }
        let server = try start(
            URL(fileURLWithPath: asUser == nil ? serve[0] : "/usr/bin/setpriv"),
            (asUser ?? []) + Array(asUser == nil ? serve.dropFirst() : serve[...]),
            environment: environment, log: logFile
        )
        try await waitHealthy("http://127.0.0.1:\(port)/healthz", client: HTTPClient.shared, process: server, log: logFile)
        return server
    }

    /// The processes deploy/local/trellis-local started, from its state folder's `pids` (lines of "name pid").
    static func launched(in stateDir: URL) -> [(name: String, pid: Int32)] {
        let text = (try? String(contentsOf: stateDir.appendingPathComponent("pids"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count == 2, let pid = Int32(fields[1]) else { return nil }
            return (String(fields[0]), pid)
        }
    }

    /// Whether any user may run the executable at `path`: it and every folder above it open to others.
    static func everyoneMayRun(_ path: String) -> Bool {
        var url = URL(fileURLWithPath: path).resolvingSymlinksInPath()
        while url.path != "/" {
            var info = stat()
            guard stat(url.path, &info) == 0, info.st_mode & 0o001 != 0 else { return false }
            url.deleteLastPathComponent()
        }
        return true
    }

    /// Whether `pid` runs: a killed process whose parent has not reaped it yet (a zombie, state Z in /proc) does not.
    static func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let state = stat.split(separator: ")").last?.split(separator: " ").first
        else { return false }
        return state != "Z"
    }
}

/// One end-to-end test at a time: each starts whole deployments (several servers, supervisors and tasks, a 100 MB log,
/// `kill -9`), and two of them at once on 2 cores starve each other into timeouts. The unit suites still run beside.
struct AloneAmongDeployments: SuiteTrait, TestTrait, TestScoping {
    static let room = Slots(1, of: "rooms for a deployment")
    var isRecursive: Bool { true }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        guard testCase != nil else { return try await function() }
        try await Self.room.holding(1) { try await function() }
    }
}

extension Trait where Self == AloneAmongDeployments {
    static var aloneAmongDeployments: Self { Self() }
}

/// Split mode on this machine through deploy/local/trellis-local: every service its own process, on ports from
/// `basePort` (the gateway) up, its state in a throwaway folder.
struct SplitDeployment {
    static let launcher = Processes.repository.appendingPathComponent("deploy/local/trellis-local")
    let databaseURL: String
    let environment: [String: String]
    let stateDir = FileManager.default.temporaryDirectory.appendingPathComponent("trellis-split-\(UUID().uuidString)")
    let basePort: Int

    /// Starts every service; throws with the launcher's output when one does not come up.
    init(databaseURL: String, environment: [String: String]) throws {
        self.databaseURL = databaseURL
        self.environment = environment
        basePort = try Processes.freePorts(7)
        let started = try launch("start")
        guard started.status == 0 else { throw TransportError("trellis-local start failed:\n\(started.output)") }
    }

    var gatewayURL: String { "http://127.0.0.1:\(basePort)" }
    /// Services in trellis-local's order: identity at basePort + 1 … metrics at basePort + 6.
    static let services = ["identity", "templates", "pipelines", "orchestrator", "cluster-gateway", "metrics"]

    func url(of service: String) -> String {
        "http://127.0.0.1:\(basePort + 1 + (Self.services.firstIndex(of: service) ?? -1))"
    }

    var pids: [(name: String, pid: Int32)] { Processes.launched(in: stateDir) }

    /// The last `count` lines of a service's log (`gateway` or one of ``services``), to say why a test failed.
    func logTail(of service: String, lines count: Int = 60) -> String {
        let text = (try? String(contentsOf: stateDir.appendingPathComponent("\(service).log"), encoding: .utf8)) ?? ""
        return "\(service).log, last \(count) lines:\n" + text.split(separator: "\n").suffix(count).joined(separator: "\n")
    }

    /// Stops one service if it still runs and starts it again with the same settings.
    func restart(_ service: String) throws {
        let restarted = try launch("restart", service)
        guard restarted.status == 0 else { throw TransportError("trellis-local restart \(service) failed:\n\(restarted.output)") }
    }

    /// Stops every service and removes the state folder.
    @discardableResult
    func stop() throws -> Int32 {
        defer { try? FileManager.default.removeItem(at: stateDir) }
        return try Processes.run(Self.launcher, ["stop", "--state-dir", stateDir.path]).status
    }

    private func launch(_ command: String, _ arguments: String...) throws -> (status: Int32, output: String) {
        try Processes.run(
            Self.launcher,
            [command] + arguments + [
                "--database-url", databaseURL, "--base-port", String(basePort), "--bin-dir", Processes.binDirectory.path, "--state-dir",
                stateDir.path,
            ],
            environment: environment)
    }
}
