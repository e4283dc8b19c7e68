import Foundation
import ServiceContracts
import TrellisHTTP
import TrellisShim

#if canImport(Glibc)
    import Glibc
#endif

/// The files of one execution, shared by the local backend and the supervisor (`trellis-shim`) it starts:
///
/// | file | written by | holds |
/// |---|---|---|
/// | spec | backend, before the start | what the supervisor runs (`ShimSpec`) |
/// | shim.json | supervisor, at its start | its pid and kernel start time (to recognise it after a restart) |
/// | running.json | supervisor, once the replicas run | an ``ExecutionStatus`` with the pids |
/// | output.log, replica-N.log | supervisor | timestamped lines, all replicas (prefixed) and each alone |
/// | samples.jsonl | supervisor, every second | ``ResourceSample`` lines |
/// | stop | backend, on cancel | asks the supervisor to stop the processes |
/// | status.json | supervisor (or backend when the supervisor cannot start), last | the final ``ExecutionStatus`` |
/// | complete | cluster gateway, last, for a Kubernetes attempt's kept logs | marks them whole (``PodLogArchive``) |

/// The processes' working directory is apart (``LocalSandbox/workDirectory(_:)``): a task never sees these files.
struct ExecutionDirectory: Sendable {
    let url: URL

    init(root: URL, id: String) {
        url = root.appendingPathComponent(id, isDirectory: true)
    }

    init(url: URL) {
        self.url = url
    }

    var spec: URL { url.appendingPathComponent("spec") }
    var shim: URL { url.appendingPathComponent("shim.json") }
    var running: URL { url.appendingPathComponent("running.json") }
    var status: URL { url.appendingPathComponent("status.json") }
    var output: URL { url.appendingPathComponent("output.log") }
    var samples: URL { url.appendingPathComponent("samples.jsonl") }
    var stop: URL { url.appendingPathComponent("stop") }
    var supervisorLog: URL { url.appendingPathComponent("shim.log") }
    var complete: URL { url.appendingPathComponent("complete") }

    func replicaLog(_ rank: Int) -> URL { url.appendingPathComponent("replica-\(rank).log") }

    var exists: Bool { FileManager.default.fileExists(atPath: url.path) }

    /// What its files take, in bytes (the files only: the directory holds no directories). Read with `readdir` and
    /// `fstatat`: Foundation's `resourceValues` went through `NSURL` and UTF-16 for each file, a third of the server's
    /// time when a thousand executions end together.
    var bytes: Int64 {
        guard let folder = opendir(url.path) else { return 0 }
        defer { closedir(folder) }
        let descriptor = dirfd(folder)
        var total: Int64 = 0
        while let entry = readdir(folder) {
            var info = stat()
            let found = withUnsafePointer(to: entry.pointee.d_name) {
                fstatat(descriptor, UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self), &info, AT_SYMLINK_NOFOLLOW)
            }
            if found == 0, info.st_mode & S_IFMT == S_IFREG { total += Int64(info.st_size) }
        }
        return total
    }

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

    var isAlive: Bool { ProcStat(pid: pid)?.startTime == startTime }
}
