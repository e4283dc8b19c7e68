#if canImport(Glibc)
    import Glibc
#endif

/// `trellis-shim DIR DIR…`: the supervisors of several executions that start together, each forked from this process
/// instead of started anew. An exec'd supervisor's start is about a quarter of a `true` attempt's CPU, supervisor and
/// task (glibc probing the CPU, which traps to the hypervisor on a VM, and the Swift runtime's first steps); a fork of
/// this small, single-threaded process costs a fraction of that. Each supervisor gets its own session and its own
/// `shim.log`, as one started alone; this process waits for them and writes a ``BatchReport`` line on stdout (a socket
/// the server reads) as each ends, then exits. Killed, it takes none of them along: they write their files as always,
/// and the server follows them from those.
enum Batch {
    static func main(_ directories: [String]) -> Never {
        // A server gone (restarted, say) closes the socket: the reports are lost, the supervisors are still reaped.
        signal(SIGPIPE, SIG_IGN)
        var pending: [pid_t: String] = [:]
        for directory in directories {
            let pid = fork()
            if pid == 0 { supervise(directory) }
            if pid < 0 {
                report(BatchReport(directory: directory, waitStatus: nil))
            } else {
                pending[pid] = directory
            }
        }
        while !pending.isEmpty {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, 0)
            if pid < 0, errno == EINTR { continue }
            guard pid > 0 else { break }
            if let directory = pending.removeValue(forKey: pid) { report(BatchReport(directory: directory, waitStatus: status)) }
        }
        exit(0)
    }

    static func supervise(_ directory: String) -> Never {
        setsid()
        let null = open("/dev/null", O_WRONLY)
        if null >= 0, null != 1 {
            dup2(null, 1)
            close(null)
        }
        let log = open(directory + "/shim.log", O_WRONLY | O_CREAT | O_APPEND, 0o600)
        if log >= 0, log != 2 {
            dup2(log, 2)
            close(log)
        }
        Shim.supervise(directory)
    }

    static func report(_ report: BatchReport) {
        _ = FileBytes.writeAll(1, Array(report.line.utf8))
    }
}

/// What `trellis-shim DIR DIR…` says of one execution's supervisor when it ended: `STATUS DIR`, the wait status, or
/// `-1 DIR` when it could not be started. Directories are the server's own paths, without newlines.
public struct BatchReport: Equatable, Sendable {
    public var directory: String
    /// nil: the supervisor could not be forked.
    public var waitStatus: Int32?

    public init(directory: String, waitStatus: Int32?) {
        self.directory = directory
        self.waitStatus = waitStatus
    }

    public var line: String { "\(waitStatus.map(String.init) ?? "-1") \(directory)\n" }

    public init?(line: Substring) {
        guard let space = line.firstIndex(of: " "), let status = Int32(line[..<space]) else { return nil }
        let directory = line[line.index(after: space)...]
        guard !directory.isEmpty else { return nil }
        self.init(directory: String(directory), waitStatus: status < 0 ? nil : status)
    }
}
