#if canImport(Glibc)
    import Glibc
#endif

/// `trellis-shim DIR`: supervises one execution from outside the server, in its own session, so the task's processes
/// outlive a crash or restart of the server (as containerd's shim does for containers). It starts one process group
/// per replica, writes their output as timestamped lines, samples CPU and memory every second, enforces the timeout,
/// stops everything when asked (the `stop` file) or when one replica fails, and writes the final status last. It
/// links nothing but the standard library, so it starts in a few milliseconds. Its files are described by the local
/// backend's `ExecutionDirectory`. `trellis-shim DIR DIR…` supervises several, one process each (``Batch``).
public enum Shim {
    public static func main(arguments: [String] = CommandLine.arguments) -> Never {
        if arguments.count > 1, arguments[1] == "measure" { Measure.main(arguments) }
        closeInheritedDescriptors()
        guard arguments.count >= 2 else {
            fail("usage: trellis-shim EXECUTION_DIRECTORY...", code: 2)
        }
        if arguments.count > 2 { Batch.main(Array(arguments.dropFirst())) }
        supervise(arguments[1])
    }

    static func supervise(_ directory: String) -> Never {
        guard let bytes = FileBytes.read(directory + "/spec"), let spec = ShimSpec(decoding: bytes) else {
            fail("trellis-shim: no readable spec in \(directory)", code: 2)
        }
        Supervisor(directory: directory, spec: spec).run()
        exit(0)
    }

    /// Descriptors the server had open without close-on-exec (a pipe its own parent watches, say) would stay open
    /// for as long as the task runs, and pass on to the task: only 0, 1 and 2 stay.
    static func closeInheritedDescriptors() {
        var open: [Int32] = []
        if let folder = opendir("/proc/self/fd") {
            while let entry = readdir(folder) {
                let name = withUnsafePointer(to: entry.pointee.d_name) {
                    String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
                }
                if let descriptor = Int32(name), descriptor > 2 { open.append(descriptor) }
            }
            closedir(folder)
        }
        for descriptor in open { close(descriptor) }
    }

    static func fail(_ message: String, code: Int32) -> Never {
        _ = FileBytes.writeAll(2, Array((message + "\n").utf8))
        exit(code)
    }
}

/// One replica: a process group and its two output pipes.
struct Replica {
    let rank: Int
    var pid: pid_t = 0
    var exitCode: Int?
    var signal: Int32?
    var ended = false
    /// stdout and stderr read ends (-1 once closed), each with its partial line.
    var streams: [Int32] = []
    var splitters = [LineSplitter(), LineSplitter()]
    /// The read end of `trellis-shim measure`'s report, in a sandbox that measures (-1: none).
    var usage: Int32 = -1
}

final class Supervisor {
    let directory: String
    let spec: ShimSpec
    let work: String
    let startedAt = currentMilliseconds()
    var replicas: [Replica]
    /// Why the processes are being stopped: the phase, reason and exit code the execution ends with. First wins.
    var ending: (phase: String, reason: String, exitCode: Int?)?
    var killAt: Int64?
    var combinedLog: Int32 = -1
    var replicaLogs: [Int32] = []
    var samplesFile: Int32 = -1
    /// The first sample a second after the start, then every second: a sample reads every process's `/proc` entry,
    /// which hundreds of supervisors starting at once would each pay for nothing on tasks that end sooner (they are
    /// measured at their end, from the kernel's count); and a share of a core over a second is not skewed by the
    /// kernel counting reaped children's CPU time in ticks.
    lazy var nextSample: Int64 = startedAt + 1000
    /// Each replica's CPU time at its last sample, in nanoseconds, and when it was read.
    var previousCPU: [Int: (nanoseconds: UInt64, at: Int64)] = [:]
    var cgroups = ControlGroups(.none)
    let mask: LogMask

    init(directory: String, spec: ShimSpec) {
        self.directory = directory
        self.spec = spec
        work = spec.workDirectory
        replicas = (0..<spec.replicas).map { Replica(rank: $0) }
        mask = LogMask(spec.masked)
    }

    func run() {
        if let start = ProcStat(pid: getpid())?.startTime {
            FileBytes.replace(directory + "/shim.json", with: Array(#"{"pid":\#(getpid()),"startTime":\#(start)}"#.utf8))
        }
        prepareWorkDirectory()
        combinedLog = appendOnly(directory + "/output.log")
        replicaLogs = (0..<spec.replicas).map { appendOnly(directory + "/replica-\($0).log") }
        samplesFile = appendOnly(directory + "/samples.jsonl")
        if access(directory + "/stop", F_OK) == 0 {
            ending = ("cancelled", "cancelled before it started", nil)
        } else {
            cgroups = ControlGroups(spec.confinement)
            for problem in cgroups.problems { note(problem) }
            let ports = spec.replicas > 1 ? freePorts(spec.replicas) : []
            for rank in 0..<spec.replicas { start(rank, ports: ports) }
            FileBytes.replace(directory + "/running.json", with: Array(status(phase: "running", finishedAt: nil).utf8))
            supervise()
        }
        for rank in replicas.indices {
            for stream in 0..<2 {
                if let last = replicas[rank].splitters[stream].finish() { log([last], replica: rank) }
            }
        }
        cgroups.remove()
        let final = status(phase: ending?.phase ?? "succeeded", finishedAt: currentMilliseconds())
        FileBytes.replace(directory + "/status.json", with: Array(final.utf8))
        if !spec.keepWorkingDirectory { removeTree(work) }
    }

    /// The working directory, private to the user the processes run as.
    func prepareWorkDirectory() {
        mkdir(work, 0o700)
        if let uid = spec.confinement.uid, let gid = spec.confinement.gid { _ = chown(work, uid_t(uid), gid_t(gid)) }
    }

    /// A line for the supervisor's own log (shim.log), which the server keeps apart from the task's output.
    func note(_ message: String) {
        _ = FileBytes.writeAll(2, Array(("trellis-shim: " + message + "\n").utf8))
    }

    // MARK: Starting

    /// Starts replica `rank`; `ports` are free ports of 127.0.0.1, one per replica (rank 0's is the master's).
    func start(_ rank: Int, ports: [Int]) {
        var environment = spec.environment
        if spec.replicas > 1 {
            environment += [
                "TRELLIS_REPLICA=\(rank)", "TRELLIS_REPLICAS=\(spec.replicas)", "TRELLIS_MASTER_ADDR=127.0.0.1",
                "TRELLIS_MASTER_PORT=\(ports.first.map(String.init) ?? "")",
                "TRELLIS_REPLICA_PORTS=\(ports.map(String.init).joined(separator: ","))",
                // Every replica is on this machine: its rank here too (torchrun's LOCAL_RANK).
                "TRELLIS_LOCAL_REPLICA=\(rank)", "TRELLIS_LOCAL_REPLICAS=\(spec.replicas)",
            ]
        }
        let program = spec.command[0]
        let sandbox = spec.confinement.sandbox
        guard let path = sandbox.first ?? resolve(program, environment: environment) else {
            startFailed(rank, "cannot start \(program): not found on PATH")
            return
        }
        var output: [Int32] = [-1, -1]
        var errors: [Int32] = [-1, -1]
        var report: [Int32] = [-1, -1]
        var usage: [Int32] = [-1, -1]
        let measured = spec.confinement.measured && !sandbox.isEmpty
        guard pipe(&output) == 0, pipe(&errors) == 0, pipe(&report) == 0, !measured || pipe(&usage) == 0 else {
            startFailed(rank, "cannot make pipes: \(String(cString: strerror(errno)))")
            return
        }
        // Single-threaded: no other start can inherit them between pipe() and here.
        for descriptor in output + errors + report + usage where descriptor >= 0 { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        let measure = measured ? [Measure.pathInSandbox, "measure", String(Launch.usageDescriptor)] : []
        let launch = Launch(
            path: path, arguments: sandbox + measure + spec.command, environment: environment, output: output[1], errors: errors[1],
            report: report[1], usage: usage[1], directory: sandbox.isEmpty ? work : "/", cgroups: cgroups.joined,
            confinement: spec.confinement)
        let pid = launch.start()
        for descriptor in [output[1], errors[1], report[1], usage[1]] where descriptor >= 0 { close(descriptor) }
        // The child writes why it could not exec on the report pipe; a successful exec closes it empty.
        var failure = [UInt8](repeating: 0, count: 512)
        let count = failure.withUnsafeMutableBytes { Glibc.read(report[0], $0.baseAddress, $0.count) }
        close(report[0])
        guard pid > 0, count <= 0 else {
            for descriptor in [output[0], errors[0], usage[0]] where descriptor >= 0 { close(descriptor) }
            if pid > 0 {
                var status: Int32 = 0
                _ = waitpid(pid, &status, 0)
            }
            let reason = pid > 0 ? String(decoding: failure[0..<count], as: UTF8.self) : "fork: \(String(cString: strerror(errno)))"
            startFailed(rank, "cannot start \(program): \(reason)")
            return
        }
        // The report too: it is written before the replica ends, so it is read once, then; never waited for.
        for descriptor in [output[0], errors[0], usage[0]] where descriptor >= 0 {
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        }
        replicas[rank].pid = pid
        replicas[rank].streams = [output[0], errors[0]]
        replicas[rank].usage = usage[0]
        if ending != nil { kill(replica: pid, SIGTERM) }
    }

    func startFailed(_ rank: Int, _ reason: String) {
        log([Array(("trellis: " + reason).utf8)], replica: rank)
        replicas[rank].ended = true
        replicas[rank].exitCode = 127
        stopAll("lost", reason: spec.replicas > 1 ? "replica \(rank): \(reason)" : reason, exitCode: 127)
    }

    /// The executable for `program`: a path as given, else the first match on the task's own PATH.
    func resolve(_ program: String, environment: [String]) -> String? {
        if program.contains("/") { return program }
        let path = environment.last { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) } ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":") where !folder.isEmpty {
            let candidate = "\(folder)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    // MARK: Supervising

    /// Reads output and reaps processes until every replica ended and its pipes are drained.
    func supervise() {
        var drainUntil: Int64?
        // Uninitialized: zeroing it would touch its 16 pages, a fault each, in every supervisor, for output most
        // tasks never write.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        // With every output closed, only a process's exit is left to wait for, which no descriptor announces (and
        // SIGCHLD does not cut a poll short): look again soon, then less and less often (50 µs doubling to 100 ms), so
        // an exit right after the last output is seen at once — a process's descriptors close a moment before it can be
        // reaped, and a first wait of a whole millisecond made W1–W4 4–15 % slower (docs/benchmarks.md) — and a process
        // that closed its output costs nothing.
        var quietWait: Int64 = 50
        while true {
            let now = currentMilliseconds()
            let open = replicas.flatMap { replica in replica.streams.enumerated().map { (replica.rank, $0.offset, $0.element) } }
                .filter { $0.2 >= 0 }
            if replicas.allSatisfy(\.ended) {
                if drainUntil == nil {
                    // What the task left behind in its process groups ends with it, as in a container.
                    for replica in replicas where replica.pid > 0 { _ = Glibc.kill(-replica.pid, SIGKILL) }
                    cgroups.killAll()
                    drainUntil = now + 500
                }
                if open.isEmpty || now >= drainUntil! { break }
            }
            var descriptors = open.map { pollfd(fd: $0.2, events: Int16(POLLIN), revents: 0) }
            let wait = nextWake(now: now)
            if open.isEmpty {
                // Microseconds: poll's milliseconds are too coarse here.
                usleep(useconds_t(min(wait * 1000, quietWait)))
                quietWait = min(quietWait * 2, 100_000)
            } else {
                _ = poll(&descriptors, nfds_t(descriptors.count), Int32(wait))
            }
            for (index, entry) in open.enumerated() where descriptors[index].revents != 0 {
                read(replica: entry.0, stream: entry.1, into: buffer)
            }
            reap()
            checkStopAndTime()
            if currentMilliseconds() >= nextSample { sample() }
        }
        for replica in replicas {
            for descriptor in replica.streams where descriptor >= 0 { close(descriptor) }
        }
    }

    func nextWake(now: Int64) -> Int64 {
        var wake = min(now + 100, nextSample)
        if let killAt { wake = min(wake, killAt) }
        if let timeout = spec.timeoutMilliseconds, ending == nil { wake = min(wake, startedAt + timeout) }
        return max(0, wake - now)
    }

    func read(replica rank: Int, stream: Int, into buffer: UnsafeMutableRawBufferPointer) {
        let descriptor = replicas[rank].streams[stream]
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if count > 0 {
                let lines = replicas[rank].splitters[stream].push(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                if !lines.isEmpty { log(lines, replica: rank) }
                continue
            }
            if count < 0, errno == EINTR { continue }
            if count < 0, errno == EAGAIN { return }
            close(descriptor)
            replicas[rank].streams[stream] = -1
            return
        }
    }

    func reap() {
        var status: Int32 = 0
        var usage = rusage()
        while true {
            let pid = wait4(-1, &status, WNOHANG, &usage)
            guard pid > 0 else { return }
            guard let rank = replicas.firstIndex(where: { $0.pid == pid }) else { continue }
            let signaled = (status & 0x7f) != 0
            let signal = status & 0x7f
            ended(rank, exitCode: signaled ? 128 + Int(signal) : Int((status >> 8) & 0xff), signal: signaled ? signal : nil)
            finalSample(rank, usage: spec.confinement.sandbox.isEmpty ? Usage(usage) : measuredUsage(rank))
        }
    }

    func ended(_ rank: Int, exitCode: Int, signal: Int32?) {
        replicas[rank].ended = true
        replicas[rank].exitCode = exitCode
        replicas[rank].signal = signal
        guard exitCode != 0, ending == nil else { return }
        var how = signal.map { "was killed by signal \($0)" } ?? "exited with code \(exitCode)"
        if cgroups.outOfMemoryKills > 0 { how = "was killed for using more memory than its limit" }
        if cgroups.reachedProcessLimit { how += " after its processes reached the limit of \(spec.confinement.processLimit)" }
        let reason = spec.replicas > 1 ? "replica \(rank) \(how); the other replicas were stopped" : "the process \(how)"
        stopAll("failed", reason: reason, exitCode: exitCode)
    }

    func checkStopAndTime() {
        let now = currentMilliseconds()
        if ending == nil, access(directory + "/stop", F_OK) == 0 { stopAll("cancelled", reason: "cancelled") }
        if ending == nil, let timeout = spec.timeoutMilliseconds, now >= startedAt + timeout {
            stopAll("timed_out", reason: "timed out after \(Self.duration(timeout))")
        }
        if let killAt, now >= killAt {
            for replica in replicas where replica.pid > 0 && !replica.ended { kill(replica: replica.pid, SIGKILL) }
            self.killAt = nil
        }
    }

    /// SIGTERM to every process group, SIGKILL to what is left after the grace period.
    func stopAll(_ phase: String, reason: String, exitCode: Int? = nil) {
        if ending == nil { ending = (phase, reason, exitCode) }
        for replica in replicas where replica.pid > 0 && !replica.ended { kill(replica: replica.pid, SIGTERM) }
        killAt = killAt ?? currentMilliseconds() + spec.graceMilliseconds
    }

    /// SIGTERM reaches the task's processes; SIGKILL ends the whole replica. In a sandbox the replica is bubblewrap,
    /// its child is the sandbox's init (whose death ends every process inside), and the task is below: bubblewrap
    /// would die of a SIGTERM and take the task with it at once, so the grace period's SIGTERM goes to the task's
    /// processes alone. Without one, the replica's process group, as a shell's job control would.
    func kill(replica pid: pid_t, _ signal: Int32) {
        if spec.confinement.sandbox.isEmpty || signal == SIGKILL {
            _ = Glibc.kill(-pid, signal)
        }
        guard !spec.confinement.sandbox.isEmpty else { return }
        let tree = ProcessTree()
        let inits = tree.children(of: pid)
        if signal == SIGKILL {
            for process in inits { _ = Glibc.kill(process, SIGKILL) }
        } else {
            for process in tree.descendants(of: pid) where process != pid && !inits.contains(process) {
                _ = Glibc.kill(process, signal)
            }
        }
    }

    static func duration(_ milliseconds: Int64) -> String {
        milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }

    // MARK: Files

    func log(_ lines: [[UInt8]], replica: Int) {
        let stamp = Array((logTimestamp(milliseconds: currentMilliseconds()) + " ").utf8)
        let prefix = spec.replicas > 1 ? Array("[replica-\(replica)] ".utf8) : []
        var own: [UInt8] = []
        var all: [UInt8] = []
        own.reserveCapacity(lines.reduce(0) { $0 + $1.count + stamp.count + 1 })
        all.reserveCapacity(own.capacity + lines.count * prefix.count)
        for line in lines.map(mask.apply) {
            own.append(contentsOf: stamp)
            own.append(contentsOf: line)
            own.append(UInt8(ascii: "\n"))
            all.append(contentsOf: stamp)
            all.append(contentsOf: prefix)
            all.append(contentsOf: line)
            all.append(UInt8(ascii: "\n"))
        }
        _ = FileBytes.writeAll(replicaLogs[replica], own)
        _ = FileBytes.writeAll(combinedLog, all)
    }

    func status(phase: String, finishedAt: Int64?) -> String {
        let exitCode = phase == "running" ? nil : (ending?.exitCode ?? replicas.compactMap(\.exitCode).first { $0 != 0 } ?? 0)
        let replicaText = replicas.map { replica in
            JSONText.object([
                ("rank", String(replica.rank)), ("pid", replica.pid > 0 ? String(replica.pid) : nil),
                ("exitCode", replica.exitCode.map(String.init)), ("signal", replica.signal.map(String.init)),
            ])
        }
        return JSONText.object([
            ("id", JSONText.string(spec.id)), ("phase", JSONText.string(phase)), ("exitCode", exitCode.map(String.init)),
            ("reason", ending.map { JSONText.string($0.reason) }), ("startedAt", String(startedAt)),
            ("finishedAt", finishedAt.map(String.init)),
            ("workingDirectory", phase == "running" || spec.keepWorkingDirectory ? JSONText.string(work) : nil),
            ("replicas", "[" + replicaText.joined(separator: ",") + "]"),
        ])
    }

    /// Logs and samples are the server's alone (0600): a log may hold what a task printed of its secrets.
    func appendOnly(_ path: String) -> Int32 {
        open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
    }

    /// The working directory, gone: most are empty (one rmdir); others are removed with `rm -rf`.
    func removeTree(_ path: String) {
        if rmdir(path) == 0 { return }
        var pid: pid_t = 0
        let argv = (["rm", "-rf", path] as [String]).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        if posix_spawn(&pid, "/bin/rm", nil, nil, argv, nil) == 0 {
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
    }

    // MARK: Samples

    /// CPU (percent of one core since the last sample), resident memory, threads and (where `nvidia-smi` is) GPU use of each
    /// replica's processes (the replica and everything below it); an execution whose processes reach their limit is
    /// stopped.
    func sample() {
        nextSample = currentMilliseconds() + 1000
        let pageSize = Int64(sysconf(Int32(_SC_PAGESIZE)))
        let live = replicas.filter { $0.pid > 0 && !$0.ended }
        guard !live.isEmpty else { return }
        let gpu = spec.gpuProbe.flatMap(GPUReading.read(smi:))
        let tree = ProcessTree()
        var lines = ""
        for replica in live {
            let processes = tree.descendants(of: replica.pid)
            // Ended between the look at the replicas and the look at /proc: nothing to measure.
            guard !processes.isEmpty else { continue }
            // The replica's processes read again right before the clock (the scan of every process can take a while on
            // a busy machine): a share of a core is CPU time over the time between two readings, from the start first.
            let stats = processes.compactMap { pid in ProcStat(pid: pid).map { (pid, $0) } }
            let nanoseconds = stats.reduce(UInt64(0)) { $0 + $1.1.cpuNanoseconds(of: $1.0) }
            let now = currentMilliseconds()
            let pages = stats.reduce(Int64(0)) { $0 + $1.1.residentPages }
            let threads = stats.reduce(0) { $0 + $1.1.threads }
            var cpu = 0.0
            let before = previousCPU[replica.rank] ?? (0, startedAt)
            if nanoseconds >= before.nanoseconds, now > before.at {
                cpu = Double(nanoseconds - before.nanoseconds) / 1e9 / (Double(now - before.at) / 1000) * 100
            }
            // A process that ended is counted in the children's time of the parent that reaped it
            // (`ProcStat.childrenTicks`); one whose parent left the tree before it ended is not: the reading never goes
            // back, or the next sample would count that time again, over however short an interval.
            previousCPU[replica.rank] = (max(nanoseconds, before.nanoseconds), now)
            let gpuUse = gpu?.use(of: Set(processes))
            lines +=
                JSONText.object([
                    ("at", String(now)), ("replica", String(replica.rank)), ("cpuPercent", String((cpu * 10).rounded() / 10)),
                    ("rssBytes", String(pages * pageSize)), ("threads", String(threads)),
                    ("gpuPercent", gpuUse.map { String($0.percent) }),
                    ("gpuMemoryBytes", gpuUse.map { String($0.memoryBytes) }),
                ]) + "\n"
            let limit = spec.confinement.processLimit
            if limit > 0, processes.count >= limit - 2 || cgroups.reachedProcessLimit, ending == nil {
                stopAll("failed", reason: "its processes reached the limit of \(limit); the attempt was stopped", exitCode: 137)
            }
        }
        _ = FileBytes.writeAll(samplesFile, Array(lines.utf8))
    }

    /// What `trellis-shim measure` reported of the replica's task; nil when it could not (killed with the sandbox).
    func measuredUsage(_ rank: Int) -> Usage? {
        let descriptor = replicas[rank].usage
        guard descriptor >= 0 else { return nil }
        replicas[rank].usage = -1
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: 128)
        let count = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
        return count > 0 ? Usage(line: String(decoding: bytes[0..<count], as: UTF8.self)) : nil
    }

    /// The replica's last sample, when it ended: its peak memory and the CPU time it used, as the kernel counted them,
    /// so a task shorter than the sampling interval has one too. Its CPU is the share of a core since the last sample
    /// (or the start).
    func finalSample(_ rank: Int, usage: Usage?) {
        guard let usage else { return }
        let now = currentMilliseconds()
        let before: (seconds: Double, at: Int64) = previousCPU[rank].map { (Double($0.nanoseconds) / 1e9, $0.at) } ?? (0, startedAt)
        let seconds = Double(usage.cpuMicroseconds) / 1_000_000
        let cpu = now > before.at ? max(0, seconds - before.seconds) / (Double(now - before.at) / 1000) * 100 : 0
        let line =
            JSONText.object([
                ("at", String(now)), ("replica", String(rank)), ("cpuPercent", String((cpu * 10).rounded() / 10)),
                ("rssBytes", String(usage.peakResidentBytes)), ("final", "true"),
                ("peakRssBytes", String(usage.peakResidentBytes)), ("cpuSeconds", String((seconds * 1000).rounded() / 1000)),
            ]) + "\n"
        _ = FileBytes.writeAll(samplesFile, Array(line.utf8))
    }

    /// `count` distinct TCP ports free on 127.0.0.1 right now, one per replica to listen on (rank 0's first); each is
    /// held until all are chosen, so none is chosen twice. Empty when the machine has none to give.
    func freePorts(_ count: Int) -> [Int] {
        var sockets: [Int32] = []
        defer { for socketFD in sockets { close(socketFD) } }
        var ports: [Int] = []
        for _ in 0..<count {
            let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard socketFD >= 0 else { return [] }
            sockets.append(socketFD)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                    bind(socketFD, generic, length) == 0 && getsockname(socketFD, generic, &length) == 0
                }
            }
            guard bound else { return [] }
            ports.append(Int(UInt16(bigEndian: address.sin_port)))
        }
        return ports
    }
}
