import Foundation
import TrellisHTTP

/// The files of one execution, shared by the local backend and the supervisor (`trellis-shim`) it starts:
///
/// | file | written by | holds |
/// |---|---|---|
/// | request.json | backend, before the start | the ``ExecutionRequest`` |
/// | shim.json | supervisor, at its start | its pid and kernel start time (to recognise it after a restart) |
/// | running.json | supervisor, once the replicas run | an ``ExecutionStatus`` with the pids |
/// | output.log, replica-N.log | supervisor | timestamped lines, all replicas (prefixed) and each alone |
/// | samples.jsonl | supervisor, every second | ``ResourceSample`` lines |
/// | stop | backend, on cancel | asks the supervisor to stop the processes |
/// | status.json | supervisor (or backend when the supervisor cannot start), last | the final ``ExecutionStatus`` |
/// | work/ | supervisor | the processes' working directory |
struct ExecutionDirectory: Sendable {
    let url: URL

    init(root: URL, id: String) {
        url = root.appendingPathComponent(id, isDirectory: true)
    }

    init(url: URL) {
        self.url = url
    }

    var request: URL { url.appendingPathComponent("request.json") }
    var shim: URL { url.appendingPathComponent("shim.json") }
    var running: URL { url.appendingPathComponent("running.json") }
    var status: URL { url.appendingPathComponent("status.json") }
    var output: URL { url.appendingPathComponent("output.log") }
    var samples: URL { url.appendingPathComponent("samples.jsonl") }
    var stop: URL { url.appendingPathComponent("stop") }
    var work: URL { url.appendingPathComponent("work", isDirectory: true) }
    var supervisorLog: URL { url.appendingPathComponent("shim.log") }

    func replicaLog(_ rank: Int) -> URL { url.appendingPathComponent("replica-\(rank).log") }

    var exists: Bool { FileManager.default.fileExists(atPath: url.path) }

    func read<T: Decodable>(_ type: T.Type, from file: URL) -> T? {
        guard let data = try? Data(contentsOf: file) else { return nil }
        return try? Self.decoder.decode(type, from: data)
    }

    /// Written whole or not at all (a temporary file renamed over the target), so a reader never sees half.
    func write<T: Encodable>(_ value: T, to file: URL) throws {
        let temporary = file.appendingPathExtension("tmp")
        try Self.encoder.encode(value).write(to: temporary)
        guard rename(temporary.path, file.path) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }()
}

/// A process as the kernel knows it: its pid and start time, so a reused pid is not mistaken for it.
struct ProcessIdentity: Codable, Sendable, Equatable {
    let pid: Int32
    let startTime: UInt64

    /// This process.
    static func current() -> ProcessIdentity? {
        let pid = getpid()
        return startTime(of: pid).map { ProcessIdentity(pid: pid, startTime: $0) }
    }

    var isAlive: Bool { Self.startTime(of: pid) == startTime }

    /// Field 22 of /proc/PID/stat (after the parenthesised command, which may hold spaces).
    static func startTime(of pid: Int32) -> UInt64? {
        ProcStat(pid: pid).map(\.startTime)
    }
}

/// The fields of /proc/PID/stat Trellis reads.
struct ProcStat {
    let processGroup: Int32
    let state: Character
    /// User plus system CPU time, in clock ticks.
    let cpuTicks: UInt64
    let startTime: UInt64
    let residentPages: Int64

    init?(pid: Int32) {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        self.init(text)
    }

    init?(_ text: String) {
        guard let close = text.lastIndex(of: ")") else { return nil }
        // Fields from 3 (state) on; field n is at index n - 3.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 21, let group = Int32(fields[2]), let user = UInt64(fields[11]), let system = UInt64(fields[12]),
            let start = UInt64(fields[19]), let rss = Int64(fields[21]), let state = fields[0].first
        else { return nil }
        processGroup = group
        self.state = state
        cpuTicks = user + system
        startTime = start
        residentPages = rss
    }
}

extension FileHandle {
    /// A handle that appends to `url`, created when missing.
    static func appending(to url: URL) throws -> FileHandle {
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else { throw CocoaError(.fileWriteNoPermission) }
        }
        let handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        return handle
    }
}
