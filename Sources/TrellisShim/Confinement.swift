import CSpawn

#if canImport(Glibc)
    import Glibc
#endif

/// Starts one replica's process: in the child its own process group, default signals, the pipes as stdout and stderr,
/// the control groups joined, the limits set, the user switched, and exec (`cspawn_start`, which shares the
/// supervisor's memory until the exec instead of copying it; `posix_spawn` cannot do the middle part). A step that
/// fails is written on `report` (close-on-exec: a successful exec leaves it empty) and the child exits 127.
struct Launch {
    let path: String
    let arguments: [String]
    let environment: [String]
    let output: Int32
    let errors: Int32
    let report: Int32
    /// The write end of `trellis-shim measure`'s report, given to the child as ``usageDescriptor`` (-1: none).
    let usage: Int32
    let directory: String
    let cgroups: [String]
    let confinement: ShimSpec.Confinement

    /// Signals a task starts with their default action (the supervisor may have inherited them ignored).
    static let defaultSignals = [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2, SIGALRM, SIGCHLD]

    /// The descriptor `trellis-shim measure` writes its report on, through the sandbox.
    static let usageDescriptor: Int32 = 3

    /// The child's pid, or -1 when it could not be started.
    func start() -> pid_t {
        // Everything the child needs is made here: it only calls the C library, on this process's memory.
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        let procs = cgroups.map { strdup($0 + "/cgroup.procs") }
        defer { (argv + envp + procs).forEach { free($0) } }
        let procFiles = procs.map { UnsafePointer($0) }
        return argv.withUnsafeBufferPointer { argv in
            envp.withUnsafeBufferPointer { envp in
                procFiles.withUnsafeBufferPointer { procFiles in
                    Self.defaultSignals.withUnsafeBufferPointer { signals in
                        var plan = cspawn_plan(
                            path: nil, argv: argv.baseAddress, envp: envp.baseAddress, output: output, errors: errors, report: report,
                            usage: usage, usage_target: Self.usageDescriptor, cgroup_procs: procFiles.baseAddress,
                            cgroup_count: Int32(procFiles.count), default_signals: signals.baseAddress,
                            default_signal_count: Int32(signals.count), file_limit: confinement.fileLimit,
                            user_process_limit: confinement.userProcessLimit, gid: confinement.gid ?? -1, uid: confinement.uid ?? -1,
                            directory: nil)
                        return path.withCString { path in
                            directory.withCString { directory in
                                plan.path = path
                                plan.directory = directory
                                return cspawn_start(&plan)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The processes of the machine by parent, read from /proc at one moment.
struct ProcessTree {
    var stats: [pid_t: ProcStat] = [:]
    private var childrenOf: [pid_t: [pid_t]] = [:]

    init() {
        guard let folder = opendir("/proc") else { return }
        defer { closedir(folder) }
        while let entry = readdir(folder) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            guard let pid = Int32(name), let stat = ProcStat(pid: pid) else { continue }
            stats[pid] = stat
            childrenOf[stat.parent, default: []].append(pid)
        }
    }

    func children(of pid: pid_t) -> [pid_t] { childrenOf[pid] ?? [] }

    /// `pid` and every process below it (orphans of a sandbox stay below it: its init adopts them).
    func descendants(of pid: pid_t) -> [pid_t] {
        guard stats[pid] != nil else { return [] }
        var found = [pid]
        var index = 0
        while index < found.count {
            found += children(of: found[index])
            index += 1
        }
        return found
    }
}

/// The execution's control groups: made with their limits at the start, read for limit events, emptied and removed
/// at the end. Only files a directory has are written (`pids.max` in the pids controller's, `memory.max` in v2's one).
struct ControlGroups {
    /// The directories made; every process joins each.
    private(set) var joined: [String] = []
    /// What could not be set up, for the supervisor's log.
    private(set) var problems: [String] = []

    init(_ confinement: ShimSpec.Confinement) {
        for directory in confinement.cgroups {
            guard mkdir(directory, 0o755) == 0 || errno == EEXIST else {
                problems.append("cannot create \(directory): \(String(cString: strerror(errno)))")
                continue
            }
            joined.append(directory)
        }
        for setting in confinement.cgroupSettings {
            let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            for directory in joined where access("\(directory)/\(parts[0])", F_OK) == 0 {
                let descriptor = open("\(directory)/\(parts[0])", O_WRONLY | O_CLOEXEC)
                if descriptor < 0 || !FileBytes.writeAll(descriptor, Array(parts[1].utf8)) {
                    problems.append("cannot set \(directory)/\(parts[0]) to \(parts[1]): \(String(cString: strerror(errno)))")
                }
                if descriptor >= 0 { close(descriptor) }
            }
        }
    }

    /// A process of the execution was refused because the pids controller's limit was reached.
    var reachedProcessLimit: Bool { counter("pids.events", "max") > 0 }

    /// Processes of the execution the kernel killed for its memory limit (v1 `memory.oom_control`, v2 `memory.events`).
    var outOfMemoryKills: Int { counter("memory.oom_control", "oom_kill") + counter("memory.events", "oom_kill") }

    private func counter(_ file: String, _ key: String) -> Int {
        var total = 0
        for directory in joined {
            guard let bytes = FileBytes.read("\(directory)/\(file)") else { continue }
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
                let fields = line.split(separator: " ")
                if fields.count == 2, fields[0] == key, let value = Int(fields[1]) { total += value }
            }
        }
        return total
    }

    /// SIGKILL to every process still in the groups, whichever session or process group it moved to.
    func killAll() {
        for directory in joined {
            guard let bytes = FileBytes.read("\(directory)/cgroup.procs") else { continue }
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
                if let pid = Int32(line), pid > 0 { _ = kill(pid, SIGKILL) }
            }
        }
    }

    /// Removes the groups once their last process is gone (a killed process takes a moment to leave).
    func remove() {
        killAll()
        for directory in joined {
            var tries = 0
            while rmdir(directory) != 0, errno == EBUSY, tries < 200 {
                killAll()
                var pause = timespec(tv_sec: 0, tv_nsec: 10_000_000)
                nanosleep(&pause, nil)
                tries += 1
            }
        }
    }
}
