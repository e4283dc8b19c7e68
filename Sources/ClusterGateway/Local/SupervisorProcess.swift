import Foundation

/// Starts supervisors with `posix_spawn` in a session of their own, and waits for their exit on a thread of their
/// own. (swift-subprocess 1.0 forks the whole server on Linux to start a process — a copy of its page tables per
/// task, the bottleneck of a 200-task fan-out; `posix_spawn` shares the address space until exec.)
enum SupervisorProcess {
    /// glibc's POSIX_SPAWN_SETSID (not exported to Swift without _GNU_SOURCE).
    static let setSessionFlag: Int16 = 0x80

    /// `executable directory`, stdin and stdout on /dev/null, stderr appended to `errors`, with an empty environment:
    /// the supervisor needs none, and nothing of the server's (its admin password, say) may reach a task.
    static func spawn(_ executable: String, directory: String, errors: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, errors, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        posix_spawnattr_setflags(&attributes, setSessionFlag | Int16(POSIX_SPAWN_SETSIGMASK))
        let argv = ([executable, directory] as [String]).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        var environment: [UnsafeMutablePointer<CChar>?] = [nil]
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, &environment)
        guard result == 0 else { throw SpawnError(executable: executable, code: result) }
        return pid
    }

    /// The wait status of `pid`, a child of this process, once it exits.
    static func exitStatus(of pid: pid_t) async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) == -1, errno == EINTR {}
                continuation.resume(returning: status)
            }
        }
    }

    struct SpawnError: Error, CustomStringConvertible {
        let executable: String
        let code: Int32
        var description: String { "cannot start \(executable): \(String(cString: strerror(code)))" }
    }
}
