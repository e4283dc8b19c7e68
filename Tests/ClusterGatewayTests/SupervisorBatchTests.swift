import Foundation
import Logging
import ServiceContracts
import Testing
import TrellisShim

@testable import ClusterGateway

/// Executions launched together start under one process that forks their supervisors (`trellis-shim DIR DIR…`);
/// each one's end is still heard on its own, and a batch process killed early loses none of them.
@Suite struct SupervisorBatchTests {
    static var shimPath: String {
        ProcessInfo.processInfo.environment["TRELLIS_BIN_DIR"].map { $0 + "/trellis-shim" } ?? LocalBackend.defaultShimPath()
    }

    static func backend(_ root: URL) -> LocalBackend {
        let sandbox = LocalSandbox(
            mode: .unsandboxed, users: nil, processLimit: 256, fileLimit: 1024, cgroups: .none, system: [], hostName: "test",
            dataDirectory: root.path, workRoot: root.appendingPathComponent("work").path, shimPath: nil)
        return LocalBackend(root: root, shimPath: shimPath, sandbox: sandbox, logger: Logger(label: "test"))
    }

    /// A task that waits for `root/go` (so it is still running however long the test takes to look), then runs `then`.
    static func request(_ id: String, root: URL, then: String) -> ExecutionRequest {
        let script = "while [ ! -e '\(root.path)/go' ]; do sleep 0.05; done; \(then)"
        return ExecutionRequest(
            id: id, project: "ml", pipeline: "p", run: "run", task: id, attempt: 1, command: ["sh", "-c", script], environment: [:],
            image: "", workingDirectory: nil, replicas: 1, timeoutMilliseconds: nil, stopGraceMilliseconds: 1000,
            keepWorkingDirectory: false)
    }

    /// Lets the tasks of `request(_:root:then:)` go on.
    static func go(_ root: URL) {
        FileManager.default.createFile(atPath: root.appendingPathComponent("go").path, contents: Data())
    }

    /// Launches `requests` in one turn of the backend's actor: all are queued before any starts.
    static func launchTogether(_ requests: [ExecutionRequest], on backend: isolated LocalBackend) throws {
        for request in requests { try backend.launch(request, user: nil) }
    }

    /// The pid of each execution's supervisor, once it has written it (at most 30 s).
    static func supervisors(_ ids: [String], in root: URL) async throws -> [Int32] {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let found = ids.map { ExecutionDirectory(root: root, id: $0) }.compactMap { $0.read(ProcessIdentity.self, from: $0.shim)?.pid }
            if found.count == ids.count { return found }
            guard ContinuousClock.now < deadline else { throw TimedOut(what: "the supervisors' pids") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Every id's end, as the feed announces it, then its status (at most 60 s).
    static func ends(_ ids: [String], of backend: LocalBackend) async throws -> [String: ExecutionStatus] {
        var heard: Set<String> = []
        var cursor: UInt64 = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while !Set(ids).isSubset(of: heard) {
            guard ContinuousClock.now < deadline else { throw TimedOut(what: "the ends of \(Set(ids).subtracting(heard).sorted())") }
            let changes = await backend.feed.changes(after: cursor, wait: .seconds(1))
            cursor = changes.cursor
            heard.formUnion(changes.ids)
        }
        var statuses: [String: ExecutionStatus] = [:]
        for id in ids { statuses[id] = await backend.status(of: id) }
        return statuses
    }

    struct TimedOut: Error {
        let what: String
    }

    static func temporaryRoot() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("batch-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("work"), withIntermediateDirectories: true)
        return root
    }

    @Test func executionsLaunchedTogetherShareOneProcessAndEachEndIsHeard() async throws {
        let root = try Self.temporaryRoot()
        defer { try? FileManager.default.removeItem(at: root) }
        let backend = Self.backend(root)
        let ids = ["batch-a", "batch-b", "batch-c"]
        try await Self.launchTogether(ids.map { Self.request($0, root: root, then: $0 == "batch-b" ? "exit 3" : "echo done") }, on: backend)
        let parents = Set(try await Self.supervisors(ids, in: root).compactMap { ProcStat(pid: $0)?.parent })
        #expect(parents.count == 1 && !parents.contains(getpid()), "one batch process forked every supervisor: \(parents)")
        Self.go(root)
        let statuses = try await Self.ends(ids, of: backend)
        #expect(statuses.mapValues(\.phase) == ["batch-a": .succeeded, "batch-b": .failed, "batch-c": .succeeded])
        #expect(statuses["batch-b"]?.exitCode == 3)
        let output = ExecutionDirectory(root: root, id: "batch-a").output
        #expect((try? String(contentsOf: output, encoding: .utf8))?.hasSuffix(" done\n") == true)
    }

    /// Killed while its supervisors run, the batch process takes none along: they finish, and the server, which no
    /// longer hears from the batch, follows them from their files.
    @Test func aBatchProcessKilledEarlyLosesNoExecution() async throws {
        let root = try Self.temporaryRoot()
        defer { try? FileManager.default.removeItem(at: root) }
        let backend = Self.backend(root)
        let ids = ["early-a", "early-b"]
        try await Self.launchTogether(ids.map { Self.request($0, root: root, then: "true") }, on: backend)
        let parents = Set(try await Self.supervisors(ids, in: root).compactMap { ProcStat(pid: $0)?.parent })
        let batch = try #require(parents.first)
        #expect(parents.count == 1 && batch != getpid())
        #expect(kill(batch, SIGKILL) == 0)
        Self.go(root)
        let statuses = try await Self.ends(ids, of: backend)
        #expect(statuses.mapValues(\.phase) == ["early-a": .succeeded, "early-b": .succeeded])
    }
}
