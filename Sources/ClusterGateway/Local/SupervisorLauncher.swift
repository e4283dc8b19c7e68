import Foundation
import TrellisShim

#if canImport(Glibc)
    import Glibc
#endif

/// The server's side of `trellis-shim launch` (``Launcher``): one process, started at the first launch and again
/// whenever it is gone, that forks the supervisor of each execution the server names and tells when each ends. A task
/// so costs a fork instead of an exec of the supervisor, and the server keeps one thread reading the launcher's
/// reports instead of a thread per running execution waiting on its supervisor.
final class SupervisorLauncher: @unchecked Sendable {
    let shimPath: String
    /// The launcher's standard error.
    let log: String
    private let lock = NSLock()
    /// The server's end of the launcher's socket; -1 while no launcher runs.
    private var socket: Int32 = -1
    /// Counts the launchers started: each execution waits on the one that started it.
    private var generation = 0
    /// Executions started and not ended yet, by directory, each awaiting its supervisor's wait status (nil: its
    /// launcher went away before telling).
    private var waiting: [String: (generation: Int, continuation: CheckedContinuation<Int32?, any Error>)] = [:]

    init(shimPath: String, log: String) {
        self.shimPath = shimPath
        self.log = log
    }

    /// Starts the supervisor of `directory` and waits for its end: its wait status, or nil when the launcher went away
    /// before it ended (the supervisor runs on; the caller follows its files). Throws when no launcher could start it.
    func supervise(_ directory: String) async throws -> Int32? {
        guard !directory.contains("\n") else { throw LaunchError("an execution folder's path holds a line break: \(directory)") }
        return try await withCheckedThrowingContinuation { (started: CheckedContinuation<Int32?, any Error>) in
            lock.lock()
            defer { lock.unlock() }
            do {
                try send(directory)
            } catch {
                started.resume(throwing: error)
                return
            }
            // Resumed by the reader (under this lock, so never before it is registered).
            waiting[directory] = (generation, started)
        }
    }

    /// Ends the launcher (its input closed; the supervisors it started run on, to be found by the next server).
    func stop() {
        lock.lock()
        defer { lock.unlock() }
        if socket >= 0 { shutdown(socket, Int32(SHUT_WR)) }
    }

    /// Names `directory` to the launcher, starting one first if none runs; a launcher found gone is replaced once.
    /// Called with the lock held.
    private func send(_ directory: String) throws {
        let line = Array((directory + "\n").utf8)
        for attempt in 0..<2 {
            if socket < 0 { try start() }
            let sent = line.withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent == line.count { return }
            if attempt == 1 { throw LaunchError("cannot reach the supervisor launcher: \(String(cString: strerror(errno)))") }
            // Gone: its reader ends the executions it started (and closes the socket); this one goes to a new launcher.
            shutdown(socket, Int32(SHUT_RDWR))
            socket = -1
        }
    }

    /// Starts a launcher and the thread that reads its reports. Called with the lock held.
    private func start() throws {
        var ends: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            throw LaunchError("cannot make the supervisor launcher's socket: \(String(cString: strerror(errno)))")
        }
        defer { close(ends[1]) }
        let pid: pid_t
        do {
            pid = try SupervisorProcess.spawn(shimPath, "launch", input: ends[1], errors: log)
        } catch {
            close(ends[0])
            throw LaunchError("cannot start the supervisor launcher: \(error)")
        }
        socket = ends[0]
        generation += 1
        let (reader, started) = (ends[0], generation)
        Thread.detachNewThread { [self] in
            follow(reader, generation: started)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1, errno == EINTR {}
        }
    }

    /// Reads `reader`'s reports until the launcher is gone, then ends every execution it started and did not report
    /// with nil.
    private func follow(_ reader: Int32, generation launcher: Int) {
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(reader, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            pending += buffer[0..<count]
            lock.lock()
            while let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let report = Report(pending[..<end])
                pending.removeSubrange(...end)
                if let report { waiting.removeValue(forKey: report.directory)?.continuation.resume(returning: report.status) }
            }
            lock.unlock()
        }
        lock.lock()
        if generation == launcher, socket >= 0 {
            close(socket)
            socket = -1
        } else {
            close(reader)
        }
        // None of the executions this launcher started will be reported now.
        let orphans = waiting.filter { $0.value.generation == launcher }
        for directory in orphans.keys { waiting[directory] = nil }
        lock.unlock()
        for orphan in orphans.values { orphan.continuation.resume(returning: nil) }
    }

    /// `PID WAIT_STATUS DIRECTORY`: a supervisor ended; `-1 ERRNO DIRECTORY`: it could not be forked (reported as a
    /// wait status of exit code 127, as a shell reports a command it could not start).
    struct Report {
        let directory: String
        let status: Int32

        init?(_ line: ArraySlice<UInt8>) {
            let fields = line.split(separator: UInt8(ascii: " "), maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, let pid = Int32(String(decoding: fields[0], as: UTF8.self)),
                let status = Int32(String(decoding: fields[1], as: UTF8.self))
            else { return nil }
            directory = String(decoding: fields[2], as: UTF8.self)
            self.status = pid < 0 ? 127 << 8 : status
        }
    }

    struct LaunchError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
