import Foundation
import TrellisShim

/// Starts supervisors with `posix_spawn` in a session of their own, and waits for their exit on a thread of their
/// own, one for a batch of them. (swift-subprocess 1.0 forks the whole server on Linux to start a process — a copy of
/// its page tables per task, the bottleneck of a 200-task fan-out; `posix_spawn` shares the address space until exec.)
enum SupervisorProcess {
    /// glibc's POSIX_SPAWN_SETSID (not exported to Swift without _GNU_SOURCE).
    static let setSessionFlag: Int16 = 0x80

    /// `executable directory…`, stdin on /dev/null, stdout on `reports` (/dev/null when nil), stderr appended to
    /// `errors`, with an empty environment: the supervisor needs none, and nothing of the server's (its admin password,
    /// say) may reach a task.
    static func spawn(_ executable: String, directories: [String], errors: String, reports: Int32? = nil) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let reports {
            posix_spawn_file_actions_adddup2(&actions, reports, 1)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 2, errors, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        posix_spawnattr_setflags(&attributes, setSessionFlag | Int16(POSIX_SPAWN_SETSIGMASK))
        let argv = ([executable] + directories).map { strdup($0) } + [nil]
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

    /// The supervisors of `directories`, one process for them all (`trellis-shim DIR DIR…`, TrellisShim's `Batch`):
    /// `report` hears of each as it ends, from a thread of its own; `ended` of those it never heard of (the batch's
    /// process was killed: their supervisors are still running, or ended unreported), once the batch is gone.
    static func spawnBatch(
        _ executable: String, directories: [String], report: @escaping @Sendable (BatchReport) -> Void,
        ended: @escaping @Sendable (_ unreported: [String]) -> Void
    ) throws {
        // Close-on-exec from the start (no other start may inherit either end), and a socket because pipe2 is not
        // Swift's to call.
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            throw SpawnError(executable: executable, code: errno)
        }
        let (reader, writer) = (ends[0], ends[1])
        let pid: pid_t
        do {
            pid = try spawn(executable, directories: directories, errors: "/dev/null", reports: writer)
        } catch {
            close(reader)
            close(writer)
            throw error
        }
        close(writer)
        Thread.detachNewThread {
            var unreported = Set(directories)
            var lines = LineSplitter()
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                for line in chunk.withUnsafeBytes({ lines.push(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }) {
                    let text = String(decoding: line, as: UTF8.self)
                    if let parsed = BatchReport(line: text[...]), unreported.remove(parsed.directory) != nil { report(parsed) }
                }
            }
            close(reader)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1, errno == EINTR {}
            ended(directories.filter(unreported.contains))
        }
    }

    struct SpawnError: Error, CustomStringConvertible {
        let executable: String
        let code: Int32
        var description: String { "cannot start \(executable): \(String(cString: strerror(code)))" }
    }
}
