#if canImport(Glibc)
    import Glibc
#endif

/// `trellis-shim measure FD COMMAND…`: runs the task inside a sandbox and reports what the kernel measured of it.
///
/// bubblewrap's outer process exits as soon as its init reports the task's status, before it reaps that init, so the
/// peak memory and CPU time `wait4` gives the supervisor are bubblewrap's own, not the task's. This runs as the
/// task's parent inside the sandbox (the static `trellis-shim`, bound read-only): it waits for the task and writes
/// `peak-KiB cpu-µs` on FD, a pipe the supervisor reads once the replica ended, then exits as the task
/// did. It ignores the signals the supervisor sends the task's processes, so the task gets its grace period: were this
/// process to die first, the sandbox's init would end with it and take the task along.
public enum Measure {
    /// Where the sandbox shows the shim.
    public static let pathInSandbox = "/run/trellis/shim"

    static let forwarded = [SIGTERM, SIGINT, SIGHUP, SIGQUIT]

    static func main(_ arguments: [String]) -> Never {
        guard arguments.count >= 4, let descriptor = Int32(arguments[2]) else {
            Shim.fail("usage: trellis-shim measure FD COMMAND...", code: 2)
        }
        let command = Array(arguments[3...])
        for signal in forwarded { Glibc.signal(signal, SIG_IGN) }
        let argv = command.map { strdup($0) } + [nil]
        let pid = fork()
        if pid == 0 {
            for signal in forwarded { Glibc.signal(signal, SIG_DFL) }
            close(descriptor)
            execvp(command[0], argv)
            let message = "trellis: cannot start \(command[0]): \(String(cString: strerror(errno)))\n"
            _ = FileBytes.writeAll(2, Array(message.utf8))
            _exit(127)
        }
        guard pid > 0 else { Shim.fail("trellis: fork: \(String(cString: strerror(errno)))", code: 127) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0, errno == EINTR {}
        _ = FileBytes.writeAll(descriptor, Array(Usage(usage).line.utf8))
        close(descriptor)
        let signal = status & 0x7f
        guard signal != 0 else { exit((status >> 8) & 0xff) }
        Glibc.signal(signal, SIG_DFL)
        kill(getpid(), signal)
        _exit(128 + signal)
    }
}

/// What the kernel counted of a process and the children it waited for: its peak resident memory (the largest of any
/// one of them) and the CPU time they used.
public struct Usage: Equatable, Sendable {
    public var peakResidentBytes: Int64
    public var cpuMicroseconds: Int64

    public init(peakResidentBytes: Int64, cpuMicroseconds: Int64) {
        self.peakResidentBytes = peakResidentBytes
        self.cpuMicroseconds = cpuMicroseconds
    }

    init(_ usage: rusage) {
        peakResidentBytes = Int64(usage.ru_maxrss) * 1024
        let user = Int64(usage.ru_utime.tv_sec) * 1_000_000 + Int64(usage.ru_utime.tv_usec)
        let system = Int64(usage.ru_stime.tv_sec) * 1_000_000 + Int64(usage.ru_stime.tv_usec)
        cpuMicroseconds = user + system
    }

    /// `KiB µs\n`, as `measure` writes it.
    var line: String { "\(peakResidentBytes / 1024) \(cpuMicroseconds)\n" }

    /// A line `measure` wrote; nil for anything else.
    public init?(line: String) {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count == 2, let kibibytes = Int64(fields[0]), let micros = Int64(fields[1]), kibibytes >= 0, micros >= 0
        else { return nil }
        self.init(peakResidentBytes: kibibytes * 1024, cpuMicroseconds: micros)
    }
}
