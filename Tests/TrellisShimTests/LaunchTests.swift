import Testing

@testable import TrellisShim

#if canImport(Glibc)
    import Glibc
#endif

/// `Launch` starts a replica's process sharing the supervisor's memory until the exec: every step the child takes
/// between its start and the exec, and every way one fails, as the supervisor sees them.
@Suite struct LaunchTests {
    struct Ended {
        var output: String
        var report: String
        var status: Int32
        var pid: pid_t
    }

    /// Starts `arguments` (`path` the executable) with `confinement`, and waits for it.
    static func launch(
        _ path: String, _ arguments: [String], directory: String = "/", confinement: ShimSpec.Confinement = .init()
    ) throws -> Ended {
        var output: [Int32] = [-1, -1]
        var report: [Int32] = [-1, -1]
        try #require(pipe(&output) == 0 && pipe(&report) == 0)
        for descriptor in output + report { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        let launch = Launch(
            path: path, arguments: arguments, environment: ["PATH=/usr/bin:/bin"], output: output[1], errors: output[1],
            report: report[1], usage: -1, directory: directory, cgroups: [], confinement: confinement)
        let pid = launch.start()
        close(output[1])
        close(report[1])
        defer { close(output[0]); close(report[0]) }
        try #require(pid > 0)
        func readAll(_ descriptor: Int32) -> String {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { return String(decoding: bytes, as: UTF8.self) }
                bytes += chunk[0..<count]
            }
        }
        let text = readAll(output[0])
        let reported = readAll(report[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        return Ended(output: text, report: reported, status: status, pid: pid)
    }

    /// This process's descriptors above 2 that are /dev/null and not close-on-exec: every child inherits them.
    static func inheritedNulls() -> Int {
        (3..<Int32(1024)).filter { descriptor in
            let flags = fcntl(descriptor, F_GETFD)
            guard flags >= 0, flags & FD_CLOEXEC == 0 else { return false }
            var target = [CChar](repeating: 0, count: 64)
            let count = readlink("/proc/self/fd/\(descriptor)", &target, target.count - 1)
            return count > 0 && String(cString: target) == "/dev/null"
        }.count
    }

    @Test func theChildTakesEveryStepBeforeItsExec() throws {
        let script = """
            echo "group $(cut -d' ' -f5 /proc/$$/stat) self $$"
            echo "in $(pwd)"
            echo "files $(ulimit -n) cores $(ulimit -c)"
            echo "blocked $(grep SigBlk /proc/$$/status | cut -f2)"
            echo "stdin $(readlink /proc/$$/fd/0)"
            echo "nulls $(for open in /proc/$$/fd/*; do readlink "$open"; done | grep -c /dev/null)"
            """
        let ended = try Self.launch("/bin/sh", ["sh", "-c", script], directory: "/tmp", confinement: .init(fileLimit: 77))
        #expect(ended.report.isEmpty)
        #expect(ended.status == 0)
        let lines = ended.output.split(separator: "\n").map(String.init)
        #expect(lines.first == "group \(ended.pid) self \(ended.pid)", "its own process group: \(lines)")
        // /dev/null as stdin, not left open a second time (besides what this process passes on to every child).
        let nulls = 1 + Self.inheritedNulls()
        let rest = ["in /tmp", "files 77 cores 0", "blocked 0000000000000000", "stdin /dev/null", "nulls \(nulls)"]
        #expect(Array(lines.dropFirst()) == rest, "\(lines)")
    }

    @Test func aStepThatFailsIsReportedAndTheChildExits127() throws {
        let notExecutable = try Self.launch("/tmp", ["tmp"])
        #expect(notExecutable.report == "exec /tmp: Permission denied")
        #expect((notExecutable.status >> 8) & 0xff == 127)
        let nowhere = try Self.launch("/bin/true", ["true"], directory: "/nonexistent-folder")
        #expect(nowhere.report == "cannot enter /nonexistent-folder: No such file or directory")
        #expect((nowhere.status >> 8) & 0xff == 127)
    }
}
