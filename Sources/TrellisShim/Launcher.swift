#if canImport(Glibc)
    import Glibc
#endif

/// `trellis-shim launch`: one long-lived process that starts a supervisor per execution by forking itself, so a task
/// does not pay for a supervisor's exec (on a VM whose CPUID traps, glibc's start alone is a third of a millisecond,
/// and the Swift runtime's start as much again). Each supervisor is still a process of its own, in a session of its
/// own, exactly as when started alone: the crash domain is one execution. The launcher only forks and reaps.
///
/// Its standard input is a stream socket to the server: the server writes an execution directory per line; the
/// launcher answers, on the same socket, one line per supervisor that ended, `PID WAIT_STATUS DIRECTORY` (and
/// `-1 ERRNO DIRECTORY` when it could not fork one). At the end of its input (the server gone) it exits and leaves
/// the supervisors running: the next server finds them by their `shim.json` (the local backend's adoption).
public enum Launcher {
    public static func main() -> Never {
        Shim.closeInheritedDescriptors()
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGCHLD)
        sigprocmask(SIG_BLOCK, &blocked, nil)
        // A handler that does nothing, so that SIGCHLD, unblocked only while waiting, cuts the wait short.
        signal(SIGCHLD) { _ in }
        var waiting = sigset_t()
        sigemptyset(&waiting)
        var running: [pid_t: String] = [:]
        var incoming: [UInt8] = []
        // Reports not sent yet: the launcher never blocks on the server (which may be blocked sending to it).
        var outgoing: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            var readable = standardInput, writable = standardInput
            let ready =
                outgoing.isEmpty
                ? pselect(1, &readable, nil, nil, nil, &waiting) : pselect(1, &readable, &writable, nil, nil, &waiting)
            reap(&running, into: &outgoing)
            flush(&outgoing)
            guard ready > 0 else { continue }
            let count = recv(0, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count == 0 || (count < 0 && errno != EINTR && errno != EAGAIN) { exit(0) }
            guard count > 0 else { continue }
            incoming += buffer[0..<count]
            while let end = incoming.firstIndex(of: UInt8(ascii: "\n")) {
                let directory = String(decoding: incoming[..<end], as: UTF8.self)
                incoming.removeSubrange(...end)
                start(directory, running: &running, reports: &outgoing)
            }
            flush(&outgoing)
        }
    }

    /// A descriptor set of standard input alone.
    static var standardInput: fd_set {
        var set = fd_set()
        withUnsafeMutableBytes(of: &set) { bytes in
            bytes.initializeMemory(as: UInt8.self, repeating: 0)
            bytes[0] = 1  // descriptor 0
        }
        return set
    }

    /// Forks the supervisor of `directory`; in the child, the state a spawned supervisor starts with: its own
    /// session, SIGCHLD as by default and unblocked, /dev/null in and out, its log (`shim.log`) as standard error.
    static func start(_ directory: String, running: inout [pid_t: String], reports: inout [UInt8]) {
        let pid = fork()
        if pid == 0 {
            signal(SIGCHLD, SIG_DFL)
            var none = sigset_t()
            sigemptyset(&none)
            sigprocmask(SIG_SETMASK, &none, nil)
            setsid()
            let null = open("/dev/null", O_RDWR)
            dup2(null, 0)
            dup2(null, 1)
            let log = open(directory + "/shim.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            if log >= 0 { dup2(log, 2) }
            Shim.supervise(directory)
        }
        if pid < 0 {
            reports += Array("-1 \(errno) \(directory)\n".utf8)
        } else {
            running[pid] = directory
        }
    }

    /// Adds a report of every supervisor that ended since the last look.
    static func reap(_ running: inout [pid_t: String], into reports: inout [UInt8]) {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return }
            if let directory = running.removeValue(forKey: pid) { reports += Array("\(pid) \(status) \(directory)\n".utf8) }
        }
    }

    /// Sends what the socket takes now of `reports`, keeping the rest.
    static func flush(_ reports: inout [UInt8]) {
        while !reports.isEmpty {
            let sent = reports.withUnsafeBytes { send(0, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
            if sent < 0, errno == EINTR { continue }
            guard sent > 0 else { return }
            reports.removeFirst(sent)
        }
    }
}
