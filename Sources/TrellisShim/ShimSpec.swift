#if canImport(Glibc)
    import Glibc
#endif

/// What the supervisor runs, as the local backend writes it (`spec`, NUL-separated fields, so commands may hold
/// newlines and any other byte but NUL): `v4`, id, replicas, timeout ms (-1: none), grace ms, keep (0/1), working
/// directory, argc, arguments…, envc, `KEY=VALUE`…, then the confinement: sandboxc, sandbox arguments…, uid, gid
/// (-1: unchanged), process limit, user process limit, open-file limit (0: unchanged), measured (0/1), cgroupc, cgroup directories…, settingc,
/// `file=value`…, maskedc, masked values…, then the GPU probe (nvidia-smi's path; empty: none). Foundation-free: the supervisor links nothing but the standard library.
public struct ShimSpec: Equatable, Sendable {
    public var id: String
    public var replicas: Int
    public var timeoutMilliseconds: Int64?
    public var graceMilliseconds: Int64
    public var keepWorkingDirectory: Bool
    /// Where the processes start (created by the supervisor, owned by `user`), on the host.
    public var workDirectory: String
    public var command: [String]
    /// `KEY=VALUE`, the task's whole environment.
    public var environment: [String]
    public var confinement: Confinement
    /// Values written `***` wherever they appear in the logs (the task's secret env entries'; a value of several
    /// lines is masked line by line).
    public var masked: [String]
    /// `nvidia-smi`, asked at each sample for the GPU use of the processes; nil: the machine has no GPU to ask about.
    public var gpuProbe: String?

    /// How the processes are confined: a sandbox command put before the task's (bubblewrap's), the user they run
    /// as, resource limits, and the control groups they join.
    public struct Confinement: Equatable, Sendable {
        /// The sandbox's command line, ending where the task's command follows; empty: the task runs as it is.
        public var sandbox: [String]
        public var uid: Int32?
        public var gid: Int32?
        /// Processes of the attempt (its pids cgroup's limit, when it has one; the supervisor stops an attempt that
        /// reaches it), the RLIMIT_NPROC of its user (counted over all the user's processes: above the attempt's with a
        /// pids cgroup, so that the cgroup's limit is the one met and named) and RLIMIT_NOFILE; core dumps are always off.
        public var processLimit: Int
        public var userProcessLimit: Int
        public var fileLimit: Int
        /// The sandbox shows the shim at ``Measure/pathInSandbox``: each replica runs under `trellis-shim measure`,
        /// which reports the task's peak memory and CPU time (bubblewrap's own exit status does not carry them).
        public var measured: Bool
        /// Directories the supervisor creates for this execution (one per cgroup v1 controller, or one of v2); every
        /// process joins each before it starts, and the supervisor removes them at the end.
        public var cgroups: [String]
        /// `file=value` written in each of those directories that has the file (`pids.max=512`, `memory.max=…`).
        public var cgroupSettings: [String]

        public init(
            sandbox: [String] = [], uid: Int32? = nil, gid: Int32? = nil, processLimit: Int = 0, userProcessLimit: Int = 0,
            fileLimit: Int = 0, measured: Bool = false, cgroups: [String] = [], cgroupSettings: [String] = []
        ) {
            self.sandbox = sandbox
            self.uid = uid
            self.gid = gid
            self.processLimit = processLimit
            self.userProcessLimit = userProcessLimit
            self.fileLimit = fileLimit
            self.measured = measured
            self.cgroups = cgroups
            self.cgroupSettings = cgroupSettings
        }

        /// No sandbox, no other user, no limits but no core dumps.
        public static let none = Confinement()
    }

    public init(
        id: String, replicas: Int, timeoutMilliseconds: Int64?, graceMilliseconds: Int64, keepWorkingDirectory: Bool,
        workDirectory: String, command: [String], environment: [String], confinement: Confinement = .none, masked: [String] = [],
        gpuProbe: String? = nil
    ) {
        self.id = id
        self.replicas = replicas
        self.timeoutMilliseconds = timeoutMilliseconds
        self.graceMilliseconds = graceMilliseconds
        self.keepWorkingDirectory = keepWorkingDirectory
        self.workDirectory = workDirectory
        self.command = command
        self.environment = environment
        self.confinement = confinement
        self.masked = masked
        self.gpuProbe = gpuProbe
    }

    public var encoded: [UInt8] {
        func list(_ items: [String]) -> [String] { [String(items.count)] + items }
        let fields =
            ["v4", id, String(replicas), String(timeoutMilliseconds ?? -1), String(graceMilliseconds), keepWorkingDirectory ? "1" : "0"]
            + [workDirectory] + list(command) + list(environment) + list(confinement.sandbox)
            + [
                String(confinement.uid ?? -1), String(confinement.gid ?? -1), String(confinement.processLimit),
                String(confinement.userProcessLimit), String(confinement.fileLimit), confinement.measured ? "1" : "0",
            ]
            + list(confinement.cgroups) + list(confinement.cgroupSettings) + list(masked) + [gpuProbe ?? ""]
        var bytes: [UInt8] = []
        for field in fields {
            bytes += field.utf8
            bytes.append(0)
        }
        return bytes
    }

    public init?(decoding bytes: [UInt8]) {
        var fields = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        if fields.last == "" { fields.removeLast() }
        var cursor = fields.makeIterator()
        func number() -> Int? { cursor.next().flatMap { Int($0) } }
        func list() -> [String]? {
            guard let count = number(), count >= 0 else { return nil }
            var items: [String] = []
            for _ in 0..<count {
                guard let item = cursor.next() else { return nil }
                items.append(item)
            }
            return items
        }
        guard cursor.next() == "v4", let id = cursor.next(), let replicas = number(), replicas > 0,
            let timeout = cursor.next().flatMap({ Int64($0) }), let grace = cursor.next().flatMap({ Int64($0) }),
            let keep = cursor.next(), let work = cursor.next(), let command = list(), !command.isEmpty, let environment = list(),
            let sandbox = list(), let uid = number(), let gid = number(), let processLimit = number(), let userProcessLimit = number(),
            let fileLimit = number(), let measured = cursor.next(),
            let cgroups = list(), let cgroupSettings = list(), let masked = list(), let gpuProbe = cursor.next(), cursor.next() == nil
        else { return nil }
        self.init(
            id: id, replicas: replicas, timeoutMilliseconds: timeout < 0 ? nil : timeout, graceMilliseconds: grace,
            keepWorkingDirectory: keep == "1", workDirectory: work, command: command, environment: environment,
            confinement: Confinement(
                sandbox: sandbox, uid: uid < 0 ? nil : Int32(uid), gid: gid < 0 ? nil : Int32(gid), processLimit: processLimit,
                userProcessLimit: userProcessLimit, fileLimit: fileLimit, measured: measured == "1", cgroups: cgroups,
                cgroupSettings: cgroupSettings),
            masked: masked, gpuProbe: gpuProbe.isEmpty ? nil : gpuProbe)
    }
}

/// The fields of /proc/PID/stat Trellis reads.
public struct ProcStat: Equatable, Sendable {
    public let parent: Int32
    public let processGroup: Int32
    /// The process's own user plus system CPU time, in clock ticks, each rounded down.
    public let ownTicks: UInt64
    /// The user plus system CPU time of the children it waited for, in clock ticks: it left the tree of processes
    /// when they were reaped, and would otherwise leave the sum of its processes' time.
    public let childrenTicks: UInt64
    /// When the process started, in clock ticks since boot: with the pid, it names one process for good.
    public let startTime: UInt64
    public let residentPages: Int64
    public let threads: Int

    public init?(pid: Int32) {
        guard let bytes = FileBytes.read("/proc/\(pid)/stat") else { return nil }
        self.init(String(decoding: bytes, as: UTF8.self))
    }

    /// Fields from 3 (state) on, after the parenthesised command, which may hold spaces and parentheses.
    public init?(_ text: String) {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 21, let parent = Int32(fields[1]), let group = Int32(fields[2]), let user = UInt64(fields[11]),
            let system = UInt64(fields[12]), let children = UInt64(fields[13]), let childrenSystem = UInt64(fields[14]),
            let threads = Int(fields[17]), let start = UInt64(fields[19]), let rss = Int64(fields[21])
        else { return nil }
        self.parent = parent
        processGroup = group
        ownTicks = user + system
        childrenTicks = children + childrenSystem
        startTime = start
        residentPages = rss
        self.threads = threads
    }
}

extension ProcStat {
    /// The CPU time, in nanoseconds, of process `pid` (whose entry this is) and of the children it waited for. Its own
    /// comes from its CPU-time clock, exact: /proc's two tick counts are each rounded down, so a reading lags by up to
    /// two ticks (20 ms), which over the few milliseconds between a replica's last sample and its end read as more
    /// than a core. The children's has no finer count than /proc's ticks; it changes only when one is reaped.
    public func cpuNanoseconds(of pid: Int32) -> UInt64 {
        let tick = 1_000_000_000 / UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))
        var clock = clockid_t()
        var now = timespec()
        let own =
            clock_getcpuclockid(pid, &clock) == 0 && clock_gettime(clock, &now) == 0
            ? UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec) : ownTicks * tick
        return own + childrenTicks * tick
    }
}

/// Small file helpers over the C library.
public enum FileBytes {
    public static func read(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var result: [UInt8] = []
        // Uninitialized: the pages a read does not fill are never touched.
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * 1024, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let count = Glibc.read(descriptor, chunk.baseAddress, chunk.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return count == 0 ? result : nil }
            result.append(contentsOf: chunk[0..<count])
        }
    }

    /// Writes `bytes` to a temporary file and renames it over `path`: readers see all or nothing. The file is the
    /// server's alone (0600): an execution's spec holds its task's whole environment.
    @discardableResult
    public static func replace(_ path: String, with bytes: [UInt8]) -> Bool {
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return false }
        let written = writeAll(descriptor, bytes)
        close(descriptor)
        return written && rename(temporary, path) == 0
    }

    public static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, bytes.count - offset) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return false }
            offset += count
        }
        return true
    }
}
