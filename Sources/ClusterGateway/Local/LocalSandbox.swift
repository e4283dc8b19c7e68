import Foundation
import Logging
import ServiceContracts
import TrellisCore
import TrellisHTTP
import TrellisShim

/// How the local backend confines each execution (docs/security.md). Sandboxed (the default), every replica runs
/// under bubblewrap in new user, PID, mount, IPC, UTS and cgroup namespaces (and network, when the project turns it
/// off), in a new session, killed with its supervisor; it sees the system folders read-only, a private `/tmp`, its own
/// working folder and its declared mounts — nothing of the data directory, other executions or the server. A server
/// running as root runs each project's tasks as a user of their own (`task.uids`); otherwise tasks run as the
/// server's user, which the mount namespace keeps away from the server's files. Limits: processes, open files and no
/// core dumps always; processes, memory and CPU through control groups where the server may make them.
struct LocalSandbox: Sendable {
    enum Mode: Sendable, Equatable {
        case sandboxed(bubblewrap: String)
        case unsandboxed
        /// A sandbox was asked for and cannot be had here: local launches are refused with this reason.
        case unavailable(String)
    }

    /// A system folder as the sandbox shows it: bound read-only, or (merged /usr) the same symlink.
    enum SystemPath: Sendable, Equatable {
        case folder(String)
        case symlink(String, target: String)

        var path: String {
            switch self {
            case .folder(let path), .symlink(let path, _): path
            }
        }
    }

    var mode: Mode
    /// The project users when the server runs as root; nil: tasks run as the server's user.
    var users: ClosedRange<Int>?
    var processLimit: Int
    var fileLimit: Int
    var cgroups: ControlGroupRoots
    var system: [SystemPath]
    /// The machine's name, which tasks see as their own (as a process outside a sandbox would).
    var hostName: String
    /// Never visible to a task, never mountable: the data directory.
    var dataDirectory: String
    /// Where the executions' working folders are made (inside the data directory unless tasks run as other users,
    /// who cannot pass its mode 0700).
    var workRoot: String
    /// The static supervisor, bound read-only into each sandbox to measure the task (`trellis-shim measure`); nil: not
    /// measured (the final sample's peak memory and CPU time are then missing for sandboxed attempts).
    var shimPath: String?
    /// `nvidia-smi`, which the supervisor asks for the processes' GPU use at each sample; nil: no GPU here.
    var gpuProbe: String?

    static let systemFolders = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt"]
    static let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    // MARK: Finding out what this machine allows

    /// The sandbox `mode` asks for, as far as this machine allows it: bubblewrap found, the working folders' root
    /// safe, control groups tried, and one sandboxed `true` run through the supervisor to prove it all works.
    static func detect(
        mode: LocalExecutorMode, users: ClosedRange<Int>, processLimit: Int, fileLimit: Int, dataDirectory: String, shimPath: String
    ) -> LocalSandbox {
        let root = getuid() == 0
        var sandbox = LocalSandbox(
            mode: .unsandboxed, users: root && mode == .sandboxed ? users : nil, processLimit: processLimit, fileLimit: fileLimit,
            cgroups: .detect(), system: systemPaths(), hostName: ProcessInfo.processInfo.hostName, dataDirectory: dataDirectory,
            workRoot: root && mode == .sandboxed ? "/var/tmp/trellis-work" : dataDirectory + "/work", shimPath: shimPath)
        let advice = "; start trellis with --local-executor=unsandboxed to run local tasks without a sandbox (see docs/security.md)"
        if let problem = prepareWorkRoot(sandbox.workRoot, shared: sandbox.users != nil) {
            sandbox.mode = .unavailable(problem + (mode == .sandboxed ? advice : ""))
            return sandbox
        }
        guard mode == .sandboxed else { return sandbox }
        let places: [String] = ["/usr/bin/bwrap", "/usr/local/bin/bwrap"]
        guard let bubblewrap = places.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            sandbox.mode = .unavailable("bubblewrap is not installed (Debian: apt-get install bubblewrap)" + advice)
            return sandbox
        }
        sandbox.mode = .sandboxed(bubblewrap: bubblewrap)
        if let problem = sandbox.trial(shimPath: shimPath) { sandbox.mode = .unavailable(problem + advice) }
        return sandbox
    }

    static func systemPaths() -> [SystemPath] {
        systemFolders.compactMap { path in
            var info = stat()
            guard lstat(path, &info) == 0 else { return nil }
            if (info.st_mode & S_IFMT) == S_IFLNK, let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
                return .symlink(path, target: target)
            }
            return (info.st_mode & S_IFMT) == S_IFDIR ? .folder(path) : nil
        }
    }

    /// The working folders' root: the server's own (0700) inside the data directory, or, for tasks of other users, a
    /// root-owned folder they may pass but not list or write (0711), which must not be anyone else's.
    static func prepareWorkRoot(_ path: String, shared: Bool) -> String? {
        mkdir(path, shared ? 0o711 : 0o700)
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return "\(path) is not a folder" }
        guard info.st_uid == getuid(), info.st_mode & 0o022 == 0 else {
            return "\(path) must belong to the server's user and be writable by no one else"
        }
        _ = chmod(path, shared ? 0o711 : 0o700)
        return nil
    }

    /// Runs `true` in a sandbox as a task would run, through the supervisor; the reason when it fails.
    func trial(shimPath: String) -> String? {
        // Its own name: servers on one machine share the working folders' root.
        let id = "sandbox-trial-\(UUID().uuidString.lowercased())"
        let directory = dataDirectory + "/" + id
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: workDirectory(id))
        }
        guard mkdir(directory, 0o700) == 0 else { return "cannot create \(directory): \(String(cString: strerror(errno)))" }
        let request = ExecutionRequest(
            id: id, project: "", pipeline: "", run: "", task: "", attempt: 1, command: ["true"], environment: [:], image: "",
            workingDirectory: nil, replicas: 1, timeoutMilliseconds: 10_000, stopGraceMilliseconds: 1000, keepWorkingDirectory: false)
        guard let spec = try? spec(for: request, user: users.map { Int32($0.lowerBound) }) else { return "no sandbox" }
        guard FileBytes.replace(directory + "/spec", with: spec.encoded),
            let pid = try? SupervisorProcess.spawn(shimPath, directories: [directory], errors: directory + "/shim.log")
        else { return "cannot start \(shimPath) for a trial sandbox" }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1, errno == EINTR {}
        let result = (try? String(contentsOfFile: directory + "/status.json", encoding: .utf8)) ?? ""
        guard !result.contains(#""phase":"succeeded""#) else { return nil }
        let said =
            ((try? String(contentsOfFile: directory + "/output.log", encoding: .utf8)) ?? "")
            + ((try? String(contentsOfFile: directory + "/shim.log", encoding: .utf8)) ?? "")
        return "a trial sandbox failed (user namespaces may be off on this machine): "
            + said.trimmingCharacters(in: .whitespacesAndNewlines).suffix(500)
    }

    // MARK: Confinement of one execution

    /// The user an execution of `project` runs as is asked of `users` only when the sandbox switches users.
    var switchesUsers: Bool { users != nil && isSandboxed }
    var isSandboxed: Bool { if case .sandboxed = mode { true } else { false } }

    func workDirectory(_ id: String) -> String { workRoot + "/" + id }

    /// What the supervisor runs for `request`, as `user` when users are switched.
    func spec(for request: ExecutionRequest, user: Int32?) throws(APIError) -> ShimSpec {
        let work = workDirectory(request.id)
        return ShimSpec(
            id: request.id, replicas: request.replicas, timeoutMilliseconds: request.timeoutMilliseconds,
            graceMilliseconds: request.stopGraceMilliseconds, keepWorkingDirectory: request.keepWorkingDirectory, workDirectory: work,
            command: request.command, environment: environment(request.environment, work: work),
            confinement: try confinement(for: request, user: user), masked: request.masked ?? [], gpuProbe: gpuProbe)
    }

    /// What the supervisor needs to confine `request`, run as `user` (uid = gid) when users are switched.
    func confinement(for request: ExecutionRequest, user: Int32?) throws(APIError) -> ShimSpec.Confinement {
        // Control groups only for attempts with resource limits: moving a process into a new group waits for an RCU grace
        // period on cgroup v1 (about 15 ms), three times the cost of the whole sandbox.
        let limited = request.cpuLimitMillicores != nil || request.memoryLimitBytes != nil
        let groups = limited ? cgroups.directories(for: request.id) : []
        let settings =
            limited ? cgroups.settings(processes: processLimit, cpu: request.cpuLimitMillicores, memory: request.memoryLimitBytes) : []
        switch mode {
        case .unavailable(let reason):
            throw APIError.unavailable(reason)
        case .unsandboxed:
            return ShimSpec.Confinement(fileLimit: fileLimit, cgroups: groups, cgroupSettings: settings)
        case .sandboxed(let bubblewrap):
            let mounts = try localMounts(request.mounts ?? [], allowed: request.hostPaths ?? [])
            let inside = Self.workingDirectory(request.workingDirectory, system: system)
            let arguments = Self.bubblewrapArguments(
                bubblewrap: bubblewrap, hostName: hostName, system: system, hidden: [dataDirectory], work: workDirectory(request.id),
                workInside: inside, mounts: mounts, network: request.network ?? true, shim: shimPath)
            return ShimSpec.Confinement(
                sandbox: arguments, uid: user, gid: user, processLimit: processLimit,
                userProcessLimit: groups.contains { $0.contains("/pids") } ? processLimit * 16 : processLimit,
                fileLimit: fileLimit, measured: shimPath != nil, cgroups: groups, cgroupSettings: settings)
        }
    }

    /// The environment of every task process: a fixed base (nothing of the server's), then the task's.
    func environment(_ task: [String: String], work: String) -> [String] {
        let base = ["PATH": Self.path, "HOME": isSandboxed ? "/tmp" : work, "LANG": "C.UTF-8"]
        return base.merging(task) { $1 }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }

    /// The mounts a sandbox binds: `hostpath` (read-write, the folder its path leads to) and `memory` (a tmpfs of that
    /// size); the others have no meaning on this machine. The data directory, or a folder holding it, is never bound.
    func localMounts(_ texts: [String], allowed: [String]) throws(APIError) -> [Mount] {
        let folders = allowed.compactMap(Self.realPath)
        var mounts: [Mount] = []
        for (index, text) in texts.enumerated() {
            let field = "mounts[\(index)]"
            let mount: Mount
            do {
                mount = try Mount(parsing: text, field: field)
            } catch {
                throw APIError.invalidField(field, error.message)
            }
            guard HostPath.isClean(mount.path), !["/proc", "/dev"].contains(where: { HostPath.isWithin(mount.path, $0) }) else {
                throw APIError.invalidField(field, "\(text): the path in the sandbox must be clean and outside /proc and /dev")
            }
            switch mount.kind {
            case .hostpath:
                guard HostPath.isClean(mount.source) else {
                    throw APIError.invalidField(field, "\(text): the host path must be absolute, without . or .. parts")
                }
                // What is bound is where the path leads: a symlink a task left in an allowed folder can lead neither out
                // of the project's folders nor to Trellis's files.
                guard let source = Self.realPath(mount.source) else {
                    throw APIError.invalidField(field, "\(text): \(mount.source) cannot be mounted: \(String(cString: strerror(errno)))")
                }
                guard folders.contains(where: { HostPath.isWithin(source, $0) }) else {
                    throw APIError.invalidField(
                        field, "\(text) leads to \(source), outside the project's host folders (settings.hostPaths)")
                }
                for protected in [dataDirectory, workRoot]
                where HostPath.isWithin(source, protected) || HostPath.isWithin(protected, source) {
                    throw APIError.invalidField(field, "\(text) would show Trellis's own files (\(protected)) to the task")
                }
                mounts.append(Mount(source: source, kind: .hostpath, path: mount.path))
            case .memory:
                guard (try? ResourceQuantity.memory(mount.source, field: field)) != nil else {
                    throw APIError.invalidField(field, "\(text): the size must be a memory amount such as 512Mi")
                }
                mounts.append(mount)
            default:
                continue
            }
        }
        return mounts
    }

    /// The path with every symlink followed; nil when it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The template's working directory when it can be one (a clean path outside the system folders), else `/work`.
    static func workingDirectory(_ asked: String?, system: [SystemPath]) -> String {
        guard let asked, asked != "/", HostPath.isClean(asked),
            !(system.map(\.path) + ["/proc", "/dev"]).contains(where: { HostPath.isWithin(asked, $0) })
        else { return "/work" }
        return asked
    }

    /// bubblewrap's command line up to the task's command.
    static func bubblewrapArguments(
        bubblewrap: String, hostName: String, system: [SystemPath], hidden: [String], work: String, workInside: String, mounts: [Mount],
        network: Bool, shim: String?
    ) -> [String] {
        var arguments = [
            bubblewrap, "--die-with-parent", "--new-session", "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--disable-userns", "--hostname", hostName,
        ]
        if !network { arguments.append("--unshare-net") }
        for entry in system {
            switch entry {
            case .folder(let path): arguments += ["--ro-bind", path, path]
            case .symlink(let path, let target): arguments += ["--symlink", target, path]
            }
        }
        // A data directory below a system folder would be visible read-only: an empty folder covers it.
        for path in hidden
        where system.contains(where: { if case .folder(let folder) = $0 { HostPath.isWithin(path, folder) } else { false } }) {
            arguments += ["--tmpfs", path]
        }
        arguments += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--bind", work, workInside]
        for mount in mounts {
            switch mount.kind {
            case .memory:
                let bytes = (try? ResourceQuantity.memory(mount.source, field: "")) ?? 0
                arguments += ["--size", String(bytes), "--tmpfs", mount.path]
            default:
                arguments += ["--bind", mount.source, mount.path]
            }
        }
        // Last: no mount of the task's covers it.
        if let shim { arguments += ["--ro-bind", shim, Measure.pathInSandbox] }
        return arguments + ["--chdir", workInside, "--"]
    }

    /// One line for the log at start: how tasks are confined and which limits hold.
    var summary: String {
        let groups = ["pids", "memory", "cpu"].filter(cgroups.has)
        let limits =
            "open files \(fileLimit), no core dumps, processes \(processLimit) per user (RLIMIT_NPROC)"
            + (groups.isEmpty
                ? "; memory and cpu NOT limited (no cgroup can be made)"
                : "; an attempt with resources gets its own control groups (cgroup \(cgroups.version): \(groups.joined(separator: ", ")))")
        switch mode {
        case .sandboxed(let bubblewrap):
            let who = users.map { "as a user per project from \($0.lowerBound)-\($0.upperBound) (task.uids)" } ?? "as the server's user"
            return "local tasks run in a sandbox (\(bubblewrap), user namespaces) \(who); \(limits)"
        case .unsandboxed:
            return
                "local tasks run UNSANDBOXED as the server's user (local.executor=unsandboxed): a task can read the data directory; \(limits)"
        case .unavailable(let reason):
            return "local tasks cannot run: \(reason)"
        }
    }
}

/// Where the server may make control groups for executions: one base folder per cgroup v1 controller, or one of v2.
struct ControlGroupRoots: Sendable, Equatable {
    var version: Int
    /// Controller (pids, memory, cpu) → the folder its execution groups go in.
    var bases: [String: String]

    static let none = ControlGroupRoots(version: 0, bases: [:])

    func has(_ controller: String) -> Bool { bases[controller] != nil }

    func directories(for id: String) -> [String] {
        Array(Set(bases.values)).sorted().map { "\($0)/trellis-\(id)" }
    }

    /// Limit files for the supervisor to write where they exist.
    func settings(processes: Int, cpu: Int64?, memory: Int64?) -> [String] {
        var settings = ["pids.max=\(processes)"]
        if version == 2 {
            if let memory { settings += ["memory.max=\(memory)", "memory.swap.max=0"] }
            if let cpu { settings.append("cpu.max=\(max(1000, cpu * 100)) 100000") }
        } else {
            if let memory { settings.append("memory.limit_in_bytes=\(memory)") }
            if let cpu { settings += ["cpu.cfs_period_us=100000", "cpu.cfs_quota_us=\(max(1000, cpu * 100))"] }
        }
        return settings
    }

    /// The groups this process may make: under its own group of each controller, tried by making one.
    static func detect(selfCgroup: String = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? "") -> ControlGroupRoots
    {
        var bases: [String: String] = [:]
        for line in selfCgroup.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 3 else { continue }
            let relative = fields[2] == "/" ? "" : fields[2]
            if fields[1].isEmpty {
                // v2, when it is the only hierarchy: usable when the server's group delegates all three controllers.
                let base = "/sys/fs/cgroup" + relative
                if access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0, probe(base, has: ["pids.max", "memory.max", "cpu.max"]) {
                    return ControlGroupRoots(version: 2, bases: ["pids": base, "memory": base, "cpu": base])
                }
                continue
            }
            for controller in fields[1].split(separator: ",").map(String.init) where ["pids", "memory", "cpu"].contains(controller) {
                let base = "/sys/fs/cgroup/\(fields[1])" + relative
                if probe(base, has: []) { bases[controller] = base }
            }
        }
        return bases.isEmpty ? .none : ControlGroupRoots(version: 1, bases: bases)
    }

    /// Makes a group under `base`, checks it has `files`, and removes it.
    private static func probe(_ base: String, has files: [String]) -> Bool {
        let path = "\(base)/trellis-probe-\(getpid())"
        guard mkdir(path, 0o755) == 0 else { return false }
        defer { rmdir(path) }
        return files.allSatisfy { access("\(path)/\($0)", F_OK) == 0 }
    }
}
