import Testing

@testable import TrellisShim

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct ShimTests {
    /// Secret values are written `***` wherever they appear in a log line; a value of several lines, line by line
    /// (those of 4 bytes or more); a value holding another is masked whole.
    @Test func maskedValuesNeverReachTheLogs() {
        let spec = ShimSpec(
            id: "x", replicas: 1, timeoutMilliseconds: nil, graceMilliseconds: 1000, keepWorkingDirectory: false, workDirectory: "/tmp/x",
            command: ["true"], environment: [], masked: ["token-123", "token-123-long", "-----BEGIN KEY-----\nAbCdEfGh\nxy"])
        let supervisor = Supervisor(directory: "/tmp/x", spec: spec)
        func masked(_ line: String) -> String { String(decoding: supervisor.mask.apply(Array(line.utf8)), as: UTF8.self) }
        #expect(masked("token-123") == "***")
        #expect(masked("a token-123 and token-123-long, token-123token-123") == "a *** and ***, ******")
        #expect(masked("-----BEGIN KEY----- then AbCdEfGh") == "*** then ***")
        #expect(masked("xy stays: too short to mask without garbling") == "xy stays: too short to mask without garbling")
        #expect(masked("toke n-123") == "toke n-123")
    }

    @Test func specsSurviveTheTripWithNewlinesAndEmptyFields() {
        let spec = ShimSpec(
            id: "run-task-1", replicas: 3, timeoutMilliseconds: 1_500, graceMilliseconds: 10_000, keepWorkingDirectory: true,
            workDirectory: "/var/tmp/trellis-work/run-task-1", command: ["sh", "-c", "echo one\necho two", ""],
            environment: ["A=1", "MULTI=line\nbreak", "EMPTY="],
            confinement: .init(
                sandbox: ["/usr/bin/bwrap", "--bind", "/a b", "/work", "--"], uid: 2_000_001, gid: 2_000_001, processLimit: 1024,
                userProcessLimit: 16384,
                fileLimit: 4096, cgroups: ["/sys/fs/cgroup/pids/trellis-x"], cgroupSettings: ["pids.max=1024"]),
            masked: ["s3cret", "two\nlines"], gpuProbe: "/usr/bin/nvidia-smi")
        #expect(ShimSpec(decoding: spec.encoded) == spec)
        var bare = spec
        bare.confinement = .none
        #expect(ShimSpec(decoding: bare.encoded) == bare)
        var untimed = spec
        untimed.timeoutMilliseconds = nil
        #expect(ShimSpec(decoding: untimed.encoded)?.timeoutMilliseconds == nil)
        #expect(ShimSpec(decoding: Array("v2\0x\0".utf8)) == nil)
        #expect(ShimSpec(decoding: Array(spec.encoded.dropLast(20))) == nil)
    }

    @Test func procStatReadsPastACommandWithSpacesAndParentheses() {
        let line = "4242 (my (odd) cmd) S 1 4240 4240 0 -1 4194560 100 0 0 0 7 3 4 1 20 0 1 0 987654 1000000 250 18446744073709551615"
        let stat = ProcStat(line)
        #expect(stat?.parent == 1)
        #expect(stat?.processGroup == 4240)
        #expect(stat?.ownTicks == 10)  // 7 user + 3 system
        #expect(stat?.childrenTicks == 5)  // 4 + 1 of children it waited for
        #expect(stat?.startTime == 987654)
        #expect(stat?.residentPages == 250)
        #expect(stat?.threads == 1)
        #expect(ProcStat("garbage") == nil)
    }

    /// A sample's CPU time is the process's own to the nanosecond (its CPU-time clock), not /proc's ticks rounded
    /// down: those lag by up to 20 ms, which over a replica's last few milliseconds read as more than a core.
    @Test func aProcessOwnCPUTimeIsReadExactlyNotInTicks() throws {
        func processClock() -> UInt64 {
            var now = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
            return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
        }
        let tick = 1_000_000_000 / UInt64(sysconf(Int32(_SC_CLK_TCK)))
        let before = processClock()
        let stat = try #require(ProcStat(pid: getpid()))
        let own = stat.cpuNanoseconds(of: getpid()) - stat.childrenTicks * tick
        let after = processClock()
        #expect(before <= own && own <= after, "read \(own) ns, between \(before) and \(after) ns")
    }

    @Test func batchReportsSurviveTheTripWithSpacesInTheDirectory() {
        let ended = BatchReport(directory: "/srv/my data/executions/run-a-1", waitStatus: 256)
        #expect(ended.line == "256 /srv/my data/executions/run-a-1\n")
        #expect(BatchReport(line: ended.line.dropLast()) == ended)
        #expect(BatchReport(line: "-1 /x") == BatchReport(directory: "/x", waitStatus: nil))
        for garbage in ["", "256", "256 ", "x /x", " /x"] { #expect(BatchReport(line: garbage[...]) == nil, "\(garbage)") }
    }

    @Test func linesAreCutAtNewlinesAndAtTheLengthLimit() {
        var splitter = LineSplitter()
        let first = Array("one\ntw".utf8).withUnsafeBytes { splitter.push($0) }
        #expect(first == [Array("one".utf8)])
        let second = Array("o\n".utf8).withUnsafeBytes { splitter.push($0) }
        #expect(second == [Array("two".utf8)])
        let long = [UInt8](repeating: UInt8(ascii: "x"), count: LineSplitter.limit + 10)
        let pieces = long.withUnsafeBytes { splitter.push($0) }
        #expect(pieces.map(\.count) == [LineSplitter.limit])
        #expect(splitter.finish()?.count == 10)
        #expect(splitter.finish() == nil)
    }

    /// nvidia-smi's CSV (`--format=csv,noheader,nounits`): memory in MiB per process, utilisation per GPU; a replica's
    /// use is its processes' memory and the mean utilisation of the GPUs they hold memory on.
    @Test func gpuUseIsReadFromNvidiaSmisCSV() {
        let apps = GPUReading.applications(
            "4242, GPU-5d8e3b8a-1c2f-4f7e-9a0b-3c4d5e6f7a8b, 1024\n4243, GPU-aaaaaaaa-0000-0000-0000-000000000000, 512\r\n"
                + "4244, GPU-aaaaaaaa-0000-0000-0000-000000000000, [N/A]\nNo running processes found\n")
        #expect(apps.map(\.pid) == [4242, 4243])
        #expect(apps.first?.memoryBytes == 1 << 30)
        let utilisation = GPUReading.utilisation(
            "GPU-5d8e3b8a-1c2f-4f7e-9a0b-3c4d5e6f7a8b, 80\nGPU-aaaaaaaa-0000-0000-0000-000000000000, 40\nGPU-x, [Not Supported]\n")
        #expect(utilisation.count == 2)
        let reading = GPUReading(applications: apps, utilisation: utilisation)
        let both = reading.use(of: [4242, 4243, 1])
        #expect(both?.percent == 60 && both?.memoryBytes == (1 << 30) + (512 << 20))
        #expect(reading.use(of: [4243])?.percent == 40)
        #expect(reading.use(of: [7]) == nil)
    }

    /// A wedged nvidia-smi stalls no supervisor: it is killed after two seconds and its answer is none.
    @Test func aProbeThatHangsIsKilled() {
        #expect(GPUReading.capture(["/bin/sh", "-c", "sleep 30"]) == nil)
        #expect(GPUReading.capture(["/bin/sh", "-c", "echo 'GPU-1, 5'"]) == "GPU-1, 5\n")
        #expect(GPUReading.capture(["/bin/sh", "-c", "exit 3"]) == nil)
    }

    @Test func jsonTextEscapesWhatJSONNeeds() {
        #expect(JSONText.string("a\"b\\c\nd\u{1}") == #""a\"b\\c\nd\u0001""#)
        #expect(JSONText.object([("a", "1"), ("b", nil), ("c", JSONText.string("x"))]) == #"{"a":1,"c":"x"}"#)
        #expect(logTimestamp(milliseconds: 1_795_930_137_939) == "2026-11-29T05:28:57.939Z")
    }
}
