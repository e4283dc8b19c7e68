import Foundation
import Logging
import NIOCore
import ServiceContracts
import TrellisHTTP
import TrellisShim

/// Runs executions as local processes, each under its own supervisor (`trellis-shim`, see ``Shim``) in its own
/// session and confined as ``LocalSandbox`` says, with its files in `<data dir>/executions/<id>/`. The server keeps no state the files do not: after a
/// restart it finds the supervisors still running and follows them again (``adoptRunning()``).
actor LocalBackend {
    let root: URL
    let shimPath: String
    let sandbox: LocalSandbox
    let logger: Logger
    let feed = ChangeFeed()
    /// Launched by this process and awaited as children.
    private var children: Set<String> = []
    /// Found running at start; polled until they end.
    private var adopted: Set<String> = []
    /// Final statuses recently read, so the orchestrator's question right after an end reads no file.
    private var finished: [String: ExecutionStatus] = [:]
    /// Launched, their supervisors not started yet: those that arrive while one start is under way start together,
    /// in one process (``SupervisorProcess/spawnBatch(_:directories:report:ended:)``), at most ``batchLimit`` at once.
    private var queued: [(id: String, directory: ExecutionDirectory)] = []
    private var startingQueued = false

    /// How many supervisors may start in one process. Sandboxed, one: each sandbox's set-up mounts, under a lock the
    /// kernel holds for every mount of the machine, and a batch's sandboxes, all set up at once, held W3 up for
    /// minutes (docs/benchmarks.md); one supervisor started at a time spreads them out.
    var batchLimit: Int {
        if case .sandboxed = sandbox.mode { 1 } else { 64 }
    }

    init(root: URL, shimPath: String, sandbox: LocalSandbox, logger: Logger) {
        self.root = root
        self.shimPath = shimPath
        self.sandbox = sandbox
        self.logger = logger
    }

    /// `trellis-shim` next to the running executable (the same build products folder in tests).
    static func defaultShimPath() -> String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("trellis-shim").path
    }

    func directory(_ id: String) -> ExecutionDirectory { ExecutionDirectory(root: root, id: id) }

    /// Execution ids are letters, digits and `-`: never a path out of the executions folder.
    static func isValid(_ id: String) -> Bool {
        // By bytes: ASCII letters, digits and "-" (Characters would cost a grapheme walk on every status read).
        let letters = UInt8(ascii: "a")...UInt8(ascii: "z"), digits = UInt8(ascii: "0")...UInt8(ascii: "9")
        return !id.isEmpty && id.utf8.count <= 200
            && id.utf8.allSatisfy { letters.contains($0 | 0x20) || digits.contains($0) || $0 == UInt8(ascii: "-") }
    }

    // MARK: Launch

    /// Starts `request` under its supervisor, as `user` when the sandbox switches users.
    func launch(_ request: ExecutionRequest, user: Int32?) throws {
        guard !request.command.isEmpty else { throw APIError.invalidField("command", "an execution needs a command") }
        guard Self.isValid(request.id) else {
            throw APIError.invalidField("id", "\"\(request.id)\" may only hold letters, digits and -")
        }
        let spec = try sandbox.spec(for: request, user: user)
        let directory = directory(request.id)
        // The directory is the execution's claim: a second launch of the same id finds it and does nothing.
        guard mkdir(directory.url.path, 0o700) == 0 else {
            if errno == EEXIST { return }
            throw APIError.unavailable("cannot create \(directory.url.path): \(String(cString: strerror(errno)))")
        }
        guard FileBytes.replace(directory.spec.path, with: spec.encoded) else {
            throw APIError.unavailable("cannot write \(directory.spec.path): \(String(cString: strerror(errno)))")
        }
        children.insert(request.id)
        queued.append((request.id, directory))
        guard !startingQueued else { return }
        startingQueued = true
        // Unstructured on purpose: a server shutting down must not take the supervisors (and the tasks) with it.
        Task.detached { await self.startQueued() }
    }

    /// Starts the queued executions' supervisors, off the actor, so the launches that come meanwhile queue up and
    /// start together next.
    private func startQueued() async {
        while !queued.isEmpty {
            let batch = Array(queued.prefix(batchLimit))
            queued.removeFirst(batch.count)
            await start(batch)
        }
        startingQueued = false
    }

    /// One supervisor started alone and awaited as this process's child; several through a batch process.
    private nonisolated func start(_ batch: [(id: String, directory: ExecutionDirectory)]) async {
        if batch.count == 1, let (id, directory) = batch.first {
            do {
                let pid = try SupervisorProcess.spawn(shimPath, directories: [directory.url.path], errors: directory.supervisorLog.path)
                Task.detached {
                    let status = await SupervisorProcess.exitStatus(of: pid)
                    await self.childEnded(id, directory: directory, failure: Self.failure(waitStatus: status))
                }
            } catch {
                await childEnded(id, directory: directory, failure: "the supervisor could not start: \(error)")
            }
            return
        }
        let byPath = Dictionary(uniqueKeysWithValues: batch.map { ($0.directory.url.path, $0) })
        do {
            try SupervisorProcess.spawnBatch(
                shimPath, directories: batch.map(\.directory.url.path),
                report: { report in
                    guard let (id, directory) = byPath[report.directory] else { return }
                    let failure = report.waitStatus.map(Self.failure(waitStatus:)) ?? "the supervisor could not start: fork failed"
                    Task { await self.childEnded(id, directory: directory, failure: failure) }
                },
                ended: { unreported in
                    Task { await self.follow(unreported.compactMap { byPath[$0]?.id }) }
                })
        } catch {
            for (id, directory) in batch { await childEnded(id, directory: directory, failure: "the supervisor could not start: \(error)") }
        }
    }

    /// Why a supervisor that ended with `waitStatus` failed; nil when it did not.
    private static func failure(waitStatus: Int32) -> String? {
        waitStatus == 0 ? nil : "the supervisor ended with wait status \(waitStatus)"
    }

    /// Executions whose batch process ended without reporting them (it was killed): their supervisors carry on,
    /// adopted and followed from their files until they end, as after a restart.
    private func follow(_ ids: [String]) {
        guard !ids.isEmpty else { return }
        for id in ids { children.remove(id) }
        adopted.formUnion(ids)
        logger.warning("a batch of supervisors ended early; following its executions", metadata: ["count": .stringConvertible(ids.count)])
        Task {
            while hasAdopted {
                await pollAdopted()
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    private func childEnded(_ id: String, directory: ExecutionDirectory, failure: String?) async {
        children.remove(id)
        if directory.read(ExecutionStatus.self, from: directory.status) == nil {
            markLost(id, directory: directory, reason: failure ?? "the supervisor ended without reporting a status")
        }
        await feed.record(id)
    }

    /// The supervisor is gone without a status: its processes, orphaned, are killed, and the execution is lost.
    private func markLost(_ id: String, directory: ExecutionDirectory, reason: String) {
        let running = directory.read(ExecutionStatus.self, from: directory.running)
        for group in running?.replicas.compactMap(\.pid) ?? [] where ProcStat(pid: group)?.processGroup == group {
            _ = kill(-group, SIGKILL)
        }
        let status = ExecutionStatus(
            id: id, phase: .lost, reason: reason, startedAt: running?.startedAt, finishedAt: Date(), replicas: running?.replicas ?? [])
        try? directory.write(status, to: directory.status)
        logger.warning("execution lost", metadata: ["execution": .string(id), "reason": .string(reason)])
    }

    // MARK: Status

    func status(of id: String) -> ExecutionStatus {
        guard Self.isValid(id) else { return ExecutionStatus(id: id, phase: .unknown) }
        if let final = finished[id] { return final }
        let directory = directory(id)
        if var final = directory.read(ExecutionStatus.self, from: directory.status) {
            final.storedBytes = directory.bytes
            if finished.count >= 10_000 { finished.removeAll() }
            finished[id] = final
            return final
        }
        guard directory.exists else { return ExecutionStatus(id: id, phase: .unknown) }
        let running = directory.read(ExecutionStatus.self, from: directory.running) ?? ExecutionStatus(id: id, phase: .running)
        if children.contains(id) { return running }
        if let shim = directory.read(ProcessIdentity.self, from: directory.shim), shim.isAlive { return running }
        // Not ours and no live supervisor: give a supervisor that is just starting a moment, then call it lost.
        let created = (try? FileManager.default.attributesOfItem(atPath: directory.spec.path)[.modificationDate] as? Date) ?? nil
        if let created, Date().timeIntervalSince(created) < 10, directory.read(ProcessIdentity.self, from: directory.shim) == nil {
            return running
        }
        // It may have written its status and exited since the first look.
        if let final = directory.read(ExecutionStatus.self, from: directory.status) { return final }
        markLost(id, directory: directory, reason: "its supervisor is gone (the machine or the supervisor was killed)")
        return directory.read(ExecutionStatus.self, from: directory.status) ?? ExecutionStatus(id: id, phase: .lost)
    }

    // MARK: Stop

    /// Asks the supervisor to stop the processes (SIGTERM, then SIGKILL after the grace period) through the `stop`
    /// file it watches.
    func stop(_ id: String) {
        guard Self.isValid(id) else { return }
        let directory = directory(id)
        guard directory.exists, directory.read(ExecutionStatus.self, from: directory.status) == nil else { return }
        _ = FileManager.default.createFile(atPath: directory.stop.path, contents: Data())
    }

    // MARK: Discard

    /// Removes an ended execution's files — logs, samples, status and its kept working directory — for a deleted
    /// project. One still running is asked to stop and refused until it has (``PurgeNotDone``).
    func discard(_ id: String) throws {
        guard Self.isValid(id) else { return }
        let directory = directory(id)
        guard directory.exists else { return }
        guard status(of: id).phase.isFinished else {
            stop(id)
            throw PurgeNotDone("execution \(id) is still stopping")
        }
        finished[id] = nil
        try? FileManager.default.removeItem(atPath: sandbox.workDirectory(id))
        try FileManager.default.removeItem(at: directory.url)
    }

    // MARK: Restart

    /// Executions without a final status when the server starts: followed until they end.
    func adoptRunning() {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        for id in entries where !children.contains(id) {
            let directory = directory(id)
            if directory.read(ExecutionStatus.self, from: directory.status) == nil { adopted.insert(id) }
        }
        if !adopted.isEmpty { logger.info("following executions still running", metadata: ["count": .stringConvertible(adopted.count)]) }
    }

    /// Checks the adopted executions; each that ended is announced once.
    func pollAdopted() async {
        // Two pollers may overlap (the start's and a killed batch's): an end is announced by the one that removes it.
        for id in adopted where status(of: id).phase.isFinished {
            guard adopted.remove(id) != nil else { continue }
            await feed.record(id)
        }
    }

    var hasAdopted: Bool { !adopted.isEmpty }

    // MARK: Logs and samples

    func isFinished(_ id: String) -> Bool { status(of: id).phase.isFinished }

    func logs(of id: String, replica: Int?, follow: Bool) -> LogStream? {
        let directory = directory(id)
        guard Self.isValid(id), directory.exists, (replica ?? 0) >= 0 else { return nil }
        let file = replica.map(directory.replicaLog) ?? directory.output
        let reader = LogFileReader(path: file.path)
        return LogStream(unfolding: { [self] in
            while true {
                if let chunk = try reader.next() { return chunk }
                guard follow else { return nil }
                // At the end of what is written: done once the execution ended and the rest was read.
                if await isFinished(id) { return try reader.next() }
                try await Task.sleep(for: .milliseconds(100))
            }
        })
    }

    func samples(of id: String) -> [ResourceSample] {
        samples(of: id, after: 0).samples
    }

    /// The samples written after byte `offset` of the execution's sample file, complete lines only (at most 4 MiB at a
    /// time); finished once the execution ended and the rest was read. An unknown execution is empty and finished.
    func samples(of id: String, after offset: Int64) -> SampleBatch {
        let directory = directory(id)
        guard Self.isValid(id), offset >= 0, directory.exists else { return SampleBatch(samples: [], next: offset, finished: true) }
        // The status first: a sample the supervisor wrote before its status is then in what is read below.
        let ended = isFinished(id)
        guard let file = try? FileHandle(forReadingFrom: directory.samples) else {
            return SampleBatch(samples: [], next: offset, finished: ended)
        }
        defer { try? file.close() }
        let limit = 4 << 20
        guard (try? file.seek(toOffset: UInt64(offset))) != nil, let data = try? file.read(upToCount: limit), !data.isEmpty,
            let end = data.lastIndex(of: UInt8(ascii: "\n"))
        else { return SampleBatch(samples: [], next: offset, finished: ended) }
        let complete = data[data.startIndex...end]
        let samples = complete.split(separator: UInt8(ascii: "\n")).compactMap {
            try? ExecutionDirectory.decoder.decode(ResourceSample.self, from: Data($0))
        }
        return SampleBatch(samples: samples, next: offset + Int64(complete.count), finished: ended && data.count < limit)
    }
}

/// Reads a file that may still grow, 64 KiB at a time, from where it stopped.
final class LogFileReader: @unchecked Sendable {
    let path: String
    private var handle: FileHandle?
    private let lock = NSLock()

    init(path: String) {
        self.path = path
    }

    /// The next chunk, or nil at the current end of the file (it may grow later).
    func next() throws -> ByteBuffer? {
        try lock.withLock {
            if handle == nil {
                guard FileManager.default.fileExists(atPath: path) else { return nil }
                handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            }
            guard let data = try handle?.read(upToCount: 64 * 1024), !data.isEmpty else { return nil }
            return ByteBuffer(bytes: data)
        }
    }

    deinit {
        try? handle?.close()
    }
}
