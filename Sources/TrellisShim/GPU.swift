#if canImport(Glibc)
    import Glibc
#endif

/// What `nvidia-smi` says of the GPUs in use, read once per sample when the machine has one: the memory each process
/// holds on which GPU (`--query-compute-apps`) and each GPU's utilisation (`--query-gpu`). A replica's GPU use is that
/// of its processes: the memory they hold, and the mean utilisation of the GPUs they hold memory on.
struct GPUReading: Equatable {
    struct Application: Equatable {
        var pid: Int32
        var gpu: String
        var memoryBytes: Int64
    }

    var applications: [Application]
    /// Percent, by GPU uuid.
    var utilisation: [String: Double]

    /// `pid, gpu_uuid, used_memory` lines in MiB (`--format=csv,noheader,nounits`); lines it cannot read are skipped
    /// (`[N/A]`, `[Not Supported]`).
    static func applications(_ csv: String) -> [Application] {
        csv.split(whereSeparator: \.isNewline).compactMap { line in
            let fields = Self.fields(line)
            guard fields.count == 3, let pid = Int32(fields[0]), !fields[1].isEmpty, let mebibytes = Int64(fields[2]) else { return nil }
            return Application(pid: pid, gpu: fields[1], memoryBytes: mebibytes * 1_048_576)
        }
    }

    /// `uuid, utilization.gpu` lines (percent).
    static func utilisation(_ csv: String) -> [String: Double] {
        var found: [String: Double] = [:]
        for line in csv.split(whereSeparator: \.isNewline) {
            let fields = Self.fields(line)
            if fields.count == 2, let percent = Double(fields[1]) { found[fields[0]] = percent }
        }
        return found
    }

    /// A CSV line's fields without the spaces around them.
    static func fields(_ line: Substring) -> [String] {
        line.split(separator: ",", omittingEmptySubsequences: false).map { field in
            let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\r" || $0 == "\t" }
            return String(field.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
        }
    }

    /// The GPU use of the processes `pids`: nil when they hold no GPU memory.
    func use(of pids: Set<Int32>) -> (percent: Double, memoryBytes: Int64)? {
        let held = applications.filter { pids.contains($0.pid) }
        guard !held.isEmpty else { return nil }
        let gpus = Set(held.map(\.gpu))
        let percents = gpus.compactMap { utilisation[$0] }
        let percent = percents.isEmpty ? 0 : percents.reduce(0, +) / Double(percents.count)
        return (percent, held.map(\.memoryBytes).reduce(0, +))
    }

    /// Asks `smi` (an absolute path); nil when it fails or takes longer than two seconds.
    static func read(smi: String) -> GPUReading? {
        guard let apps = capture([smi, "--query-compute-apps=pid,gpu_uuid,used_memory", "--format=csv,noheader,nounits"]),
            let gpus = capture([smi, "--query-gpu=uuid,utilization.gpu", "--format=csv,noheader,nounits"])
        else { return nil }
        return GPUReading(applications: applications(apps), utilisation: utilisation(gpus))
    }

    /// The standard output of `arguments` when it exits 0 within two seconds (it is killed otherwise).
    static func capture(_ arguments: [String]) -> String? {
        var output: [Int32] = [-1, -1]
        guard pipe(&output) == 0 else { return nil }
        _ = fcntl(output[0], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var environment: [UnsafeMutablePointer<CChar>?] = [nil]
        var pid: pid_t = 0
        let started = posix_spawn(&pid, arguments[0], &actions, nil, argv, &environment) == 0
        close(output[1])
        defer { close(output[0]) }
        guard started else { return nil }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = currentMilliseconds() + 2000
        while bytes.count < 1 << 20 {
            var descriptor = pollfd(fd: output[0], events: Int16(POLLIN), revents: 0)
            let left = deadline - currentMilliseconds()
            guard left > 0, poll(&descriptor, 1, Int32(left)) > 0 else {
                kill(pid, SIGKILL)
                break
            }
            let count = buffer.withUnsafeMutableBytes { Glibc.read(output[0], $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += buffer[0..<count]
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        return status == 0 ? String(decoding: bytes, as: UTF8.self) : nil
    }
}
