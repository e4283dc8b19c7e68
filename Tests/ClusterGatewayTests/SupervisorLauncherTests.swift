import Foundation
import Testing
import TrellisShim
import TrellisTestSupport

@testable import ClusterGateway

@Suite struct SupervisorLauncherTests {
    /// Far more executions at once than the launcher's socket holds lines, as a 1,000-wide fan-out starts them: every
    /// supervisor is forked, runs its task and is reported, while the server keeps naming new ones (neither side may
    /// wait on the other: a server blocked sending under its lock, with its reader waiting for that lock, and a
    /// launcher blocked reporting, stopped W3 for good).
    @Test func aBurstOfExecutionsAllEndAndAreReported() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("launcher-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let count = 1_000
        var directories: [String] = []
        for index in 0..<count {
            let directory = root.appendingPathComponent("e\(index)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            let spec = ShimSpec(
                id: "e\(index)", replicas: 1, timeoutMilliseconds: nil, graceMilliseconds: 1000, keepWorkingDirectory: false,
                workDirectory: root.appendingPathComponent("w\(index)").path, command: ["/bin/true"], environment: ["PATH=/usr/bin:/bin"])
            #expect(FileBytes.replace(directory + "/spec", with: spec.encoded))
            directories.append(directory)
        }
        let launcher = SupervisorLauncher(shimPath: LocalBackend.defaultShimPath(), log: root.appendingPathComponent("launcher.log").path)
        defer { launcher.stop() }
        let statuses = Statuses()
        for directory in directories {
            Task.detached { await statuses.record(directory, try await launcher.supervise(directory)) }
        }
        try await Waiting.until("every supervisor to be reported", limit: .seconds(300)) { await statuses.all.count == count }
        let reported = await statuses.all
        #expect(reported.values.allSatisfy { $0 == 0 }, "\(reported.filter { $0.value != 0 }.prefix(5))")
        for directory in directories {
            let status = try String(contentsOfFile: directory + "/status.json", encoding: .utf8)
            #expect(status.contains(#""phase":"succeeded""#), "\(directory): \(status)")
        }
    }

    /// The launcher never waits on the server: named ten thousand executions by a server that reads none of its
    /// reports, it still reads every name (a launcher that blocked reporting would stop reading, and a server sending
    /// under the lock its reader needs would wait for good). Each supervisor here finds no spec and exits 2 at once.
    @Test func theLauncherReadsOnWhileItsReportsWait() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("launcher-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        var ends: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0)
        let pid = try SupervisorProcess.spawn(
            LocalBackend.defaultShimPath(), "launch", input: ends[1], errors: root.appendingPathComponent("launcher.log").path)
        close(ends[1])
        defer {
            close(ends[0])
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        let count = 10_000
        var names: [UInt8] = []
        for index in 0..<count {
            let directory = root.appendingPathComponent("e\(index)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            names += Array((directory + "\n").utf8)
        }
        // Sent without blocking, the socket's room waited for at most a minute in all.
        var sent = 0
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while sent < names.count, ContinuousClock.now < deadline {
            let written = names[sent...].withUnsafeBytes { send(ends[0], $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
            if written > 0 { sent += written } else { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(sent == names.count, "the launcher stopped reading after \(sent) of \(names.count) bytes")
        // Then every report: each supervisor exited 2 (no spec).
        var reports = 0
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while reports < count, ContinuousClock.now < deadline.advanced(by: .seconds(60)) {
            let read = buffer.withUnsafeMutableBytes { recv(ends[0], $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if read > 0 {
                pending += buffer[..<read]
                while let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = pending[..<end]
                    #expect(SupervisorLauncher.Report(line)?.status == 2 << 8, "\(String(decoding: line, as: UTF8.self))")
                    pending.removeSubrange(...end)
                    reports += 1
                }
            } else {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        #expect(reports == count)
    }

    actor Statuses {
        var all: [String: Int32?] = [:]
        func record(_ directory: String, _ status: Int32?) { all[directory] = status }
    }
}
