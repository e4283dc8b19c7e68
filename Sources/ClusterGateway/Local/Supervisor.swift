import Foundation
import Subprocess
import SystemPackage
import TrellisHTTP

/// `trellis-shim DIR`: supervises one execution from outside the server, in its own session, so the task's
/// processes outlive a crash or restart of the server (as containerd's shim does for containers). It starts one
/// process group per replica, writes their output as timestamped lines, samples CPU and memory every second,
/// enforces the timeout, stops everything when asked (the `stop` file) or when one replica fails, and writes the final
/// status last. The server only reads its files (``ExecutionDirectory``).
public enum Shim {
    public static func main(arguments: [String] = CommandLine.arguments) async -> Never {
        guard arguments.count == 2 else {
            FileHandle.standardError.write(Data("usage: trellis-shim EXECUTION_DIRECTORY\n".utf8))
            exit(2)
        }
        let directory = ExecutionDirectory(url: URL(fileURLWithPath: arguments[1], isDirectory: true))
        guard let request = directory.read(ExecutionRequest.self, from: directory.request) else {
            FileHandle.standardError.write(Data("trellis-shim: no readable request.json in \(arguments[1])\n".utf8))
            exit(2)
        }
        do {
            let supervisor = try Supervisor(directory: directory, request: request)
            await supervisor.run()
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("trellis-shim: \(error)\n".utf8))
            exit(1)
        }
    }
}

actor Supervisor {
    let directory: ExecutionDirectory
    let request: ExecutionRequest
    let log: LogWriter
    private var groups: [Int: pid_t] = [:]
    private var replicas: [ExecutionStatus.Replica]
    /// Why the processes are being stopped, when they are: the phase and reason the execution ends with.
    private var ending: (phase: ExecutionStatus.Phase, reason: String, exitCode: Int?)?
    private var finished = false
    private let startedAt = Date()

    init(directory: ExecutionDirectory, request: ExecutionRequest) throws {
        self.directory = directory
        self.request = request
        log = try LogWriter(directory: directory, replicas: request.replicas)
        replicas = (0..<request.replicas).map { ExecutionStatus.Replica(rank: $0, pid: nil) }
    }

    func run() async {
        if let identity = ProcessIdentity.current() { try? directory.write(identity, to: directory.shim) }
        try? FileManager.default.createDirectory(at: directory.work, withIntermediateDirectories: true)
        if FileManager.default.fileExists(atPath: directory.stop.path) {
            ending = (.cancelled, "cancelled before it started", nil)
        } else {
            let timeout = watchTimeout()
            let stopWatch = Task { await self.watchForStop() }
            let sampler = Task { await self.sample() }
            let port = request.replicas > 1 ? Self.freePort() : nil
            await withTaskGroup(of: Void.self) { group in
                for rank in 0..<request.replicas {
                    group.addTask { await self.runReplica(rank, masterPort: port) }
                }
            }
            // What the task left behind in its process groups ends with it, as in a container.
            killRemaining()
            timeout?.cancel()
            stopWatch.cancel()
            sampler.cancel()
            await sampler.value
        }
        finished = true
        await log.close()
        try? directory.write(finalStatus(), to: directory.status)
        if !request.keepWorkingDirectory { try? FileManager.default.removeItem(at: directory.work) }
    }

    // MARK: Replicas

    func runReplica(_ rank: Int, masterPort: Int?) async {
        var environment = request.environment
        if request.replicas > 1 {
            environment["TRELLIS_REPLICA"] = String(rank)
            environment["TRELLIS_REPLICAS"] = String(request.replicas)
            environment["TRELLIS_MASTER_ADDR"] = "127.0.0.1"
            environment["TRELLIS_MASTER_PORT"] = masterPort.map(String.init) ?? ""
        }
        var options = PlatformOptions()
        options.processGroupID = 0
        let program = request.command[0]
        let executable: Executable = program.contains("/") ? .path(FilePath(program)) : .name(program)
        do {
            let result = try await Subprocess.run(
                executable,
                arguments: Arguments(Array(request.command.dropFirst())),
                environment: .custom(Self.subprocessEnvironment(environment)),
                workingDirectory: FilePath(directory.work.path),
                platformOptions: options,
                input: .none,
                output: .sequence,
                error: .sequence
            ) { execution in
                self.started(rank, pid: execution.processIdentifier.value)
                async let output: Void = self.pump(execution.standardOutput, replica: rank)
                async let errors: Void = self.pump(execution.standardError, replica: rank)
                _ = try await (output, errors)
            }
            switch result.terminationStatus {
            case .exited(let code): ended(rank, exitCode: Int(code), signal: nil)
            case .signaled(let signal): ended(rank, exitCode: 128 + Int(signal), signal: signal)
            }
        } catch {
            await log.write([ArraySlice("trellis: cannot start \(program): \(error)".utf8)], replica: rank)
            replicas[rank].exitCode = 127
            stopAll(.lost, reason: "replica \(rank) could not start \(program): \(error)", exitCode: 127)
        }
    }

    /// What every task process gets from the supervisor's own environment; the task's env comes on top.
    static let baseEnvironment: [String: String] = {
        let inherited = ProcessInfo.processInfo.environment
        var base: [String: String] = [:]
        for key in ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME", "SHELL"] {
            if let value = inherited[key] { base[key] = value }
        }
        base["PATH"] = base["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return base
    }()

    static func subprocessEnvironment(_ task: [String: String]) -> [Environment.Key: String] {
        var result: [Environment.Key: String] = [:]
        for (key, value) in baseEnvironment.merging(task, uniquingKeysWith: { $1 }) {
            if let key = Environment.Key(rawValue: key) { result[key] = value }
        }
        return result
    }

    func pump(_ output: SubprocessOutputSequence, replica: Int) async throws {
        var splitter = LineSplitter()
        for try await buffer in output {
            let lines = buffer.withUnsafeBytes { splitter.push($0) }
            if !lines.isEmpty { await log.write(lines, replica: replica) }
        }
        if let last = splitter.finish() { await log.write([last], replica: replica) }
    }

    func started(_ rank: Int, pid: pid_t) {
        groups[rank] = pid
        replicas[rank].pid = pid
        if ending != nil { _ = kill(-pid, SIGTERM) }  // stopped while it was starting
        try? directory.write(
            ExecutionStatus(
                id: request.id, phase: .running, startedAt: startedAt, workingDirectory: directory.work.path, replicas: replicas),
            to: directory.running)
    }

    func ended(_ rank: Int, exitCode: Int, signal: Int32?) {
        replicas[rank].exitCode = exitCode
        replicas[rank].signal = signal
        guard exitCode != 0, ending == nil else { return }
        let how = signal.map { "was killed by signal \($0)" } ?? "exited with code \(exitCode)"
        let reason = request.replicas > 1 ? "replica \(rank) \(how); the other replicas were stopped" : "the process \(how)"
        stopAll(.failed, reason: reason, exitCode: exitCode)
    }

    // MARK: Stopping

    /// SIGTERM to every process group, then SIGKILL to what is left after the grace period. The first reason wins.
    func stopAll(_ phase: ExecutionStatus.Phase, reason: String, exitCode: Int? = nil) {
        if ending == nil { ending = (phase, reason, exitCode) }
        for group in groups.values { _ = kill(-group, SIGTERM) }
        let grace = Duration.milliseconds(request.stopGraceMilliseconds)
        Task {
            try? await Task.sleep(for: grace)
            self.killRemaining()
        }
    }

    func killRemaining() {
        for group in groups.values { _ = kill(-group, SIGKILL) }
    }

    /// The backend asks for a stop (cancel) by creating the `stop` file; no signal reaches the supervisor, so a
    /// signal cannot kill it by mistake and leave the task without a supervisor.
    private func watchForStop() async {
        while !Task.isCancelled {
            if FileManager.default.fileExists(atPath: directory.stop.path) {
                stopAll(.cancelled, reason: "cancelled")
                return
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    private func watchTimeout() -> Task<Void, Never>? {
        guard let milliseconds = request.timeoutMilliseconds else { return nil }
        return Task {
            guard (try? await Task.sleep(for: .milliseconds(milliseconds))) != nil else { return }
            self.stopAll(.timedOut, reason: "timed out after \(Duration.milliseconds(milliseconds).formatted())")
        }
    }

    // MARK: Status

    func finalStatus() -> ExecutionStatus {
        var status = ExecutionStatus(
            id: request.id, phase: .succeeded, exitCode: 0, startedAt: startedAt, finishedAt: Date(),
            workingDirectory: request.keepWorkingDirectory ? directory.work.path : nil, replicas: replicas
        )
        if let ending {
            status.phase = ending.phase
            status.reason = ending.reason
            status.exitCode = ending.exitCode ?? replicas.compactMap(\.exitCode).first { $0 != 0 }
        }
        return status
    }

    // MARK: Samples

    /// Every second: CPU (percent of one core since the last sample) and resident memory of each replica's
    /// process group, appended to samples.jsonl.
    func sample() async {
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Int64(sysconf(Int32(_SC_PAGESIZE)))
        var previous: [Int: (ticks: UInt64, at: Date)] = [:]
        guard let handle = try? FileHandle.appending(to: directory.samples) else { return }
        defer { try? handle.close() }
        while !Task.isCancelled {
            let now = Date()
            var totals: [Int: (ticks: UInt64, pages: Int64)] = [:]
            let rankOfGroup = Dictionary(uniqueKeysWithValues: groups.map { ($0.value, $0.key) })
            for pid in Self.processIDs() {
                guard let stat = ProcStat(pid: pid), let rank = rankOfGroup[stat.processGroup] else { continue }
                totals[rank, default: (0, 0)].ticks += stat.cpuTicks
                totals[rank, default: (0, 0)].pages += stat.residentPages
            }
            var lines = Data()
            for (rank, total) in totals.sorted(by: { $0.key < $1.key }) {
                var cpu = 0.0
                if let before = previous[rank], total.ticks >= before.ticks {
                    cpu = Double(total.ticks - before.ticks) / ticksPerSecond / max(now.timeIntervalSince(before.at), 0.001) * 100
                }
                previous[rank] = (total.ticks, now)
                let sample = ResourceSample(at: now, replica: rank, cpuPercent: (cpu * 10).rounded() / 10, rssBytes: total.pages * pageSize)
                if let data = try? ExecutionDirectory.encoder.encode(sample) { lines += data + Data("\n".utf8) }
            }
            try? handle.write(contentsOf: lines)
            try? await Task.sleep(for: .seconds(1))
        }
    }

    static func processIDs() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init)
    }

    /// A TCP port free on 127.0.0.1 right now, for rank 0 to listen on.
    static func freePort() -> Int? {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { return nil }
        defer { close(socketFD) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(socketFD, generic, length) == 0 && getsockname(socketFD, generic, &length) == 0
            }
        }
        return bound ? Int(UInt16(bigEndian: address.sin_port)) : nil
    }
}
