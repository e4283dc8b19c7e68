import Foundation
import ServiceContracts

/// Kubernetes attempts' logs kept by the cluster gateway once their pods ended, in `<data>/pod-logs/<execution>/`: the
/// files a local execution's supervisor writes — `output.log` (every replica's lines, prefixed, interleaved by time) and
/// `replica-N.log` — then `complete`, written last, once they are whole. Read the same way as a local execution's log,
/// after the pods and their Workflow are gone; discarded with the attempt's run.
struct PodLogArchive: Sendable {
    let root: URL

    func directory(_ id: String) -> ExecutionDirectory { ExecutionDirectory(root: root, id: id) }

    func isComplete(_ id: String) -> Bool {
        LocalBackend.isValid(id) && FileManager.default.fileExists(atPath: directory(id).complete.path)
    }

    /// Writes the attempt's logs from its replicas' lines (by rank), replacing any partial copy of an earlier try.
    func store(_ id: String, replicas: [[PodLogLine]]) throws {
        guard LocalBackend.isValid(id) else { throw CocoaError(.fileWriteInvalidFileName) }
        let directory = directory(id)
        try? FileManager.default.removeItem(at: directory.url)
        try FileManager.default.createDirectory(at: directory.url, withIntermediateDirectories: true)
        for (rank, lines) in replicas.enumerated() {
            try Self.write(lines.lazy.map { $0.written() }, to: directory.replicaLog(rank))
        }
        let merged = PodLogLine.interleave(replicas).lazy.map {
            $0.line.written(prefix: PodLogLine.prefix(rank: $0.rank, of: replicas.count))
        }
        try Self.write(merged, to: directory.output)
        try Data().write(to: directory.complete)
    }

    /// Writes `lines` to a new file a mebibyte at a time (never the whole log again in memory).
    static func write(_ lines: some Sequence<String>, to file: URL) throws {
        guard FileManager.default.createFile(atPath: file.path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        var pending = Data()
        for line in lines {
            pending.append(contentsOf: line.utf8)
            if pending.count >= 1 << 20 {
                try handle.write(contentsOf: pending)
                pending.removeAll(keepingCapacity: true)
            }
        }
        try handle.write(contentsOf: pending)
    }

    /// The kept log (one replica's, or the whole), once complete; nil otherwise.
    func logs(of id: String, replica: Int?) -> LogStream? {
        guard isComplete(id), (replica ?? 0) >= 0 else { return nil }
        let directory = directory(id)
        let file = replica.map(directory.replicaLog) ?? directory.output
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        let reader = LogFileReader(path: file.path)
        return LogStream(unfolding: { try reader.next() })
    }

    /// What the kept log takes, once complete.
    func bytes(of id: String) -> Int64? {
        isComplete(id) ? directory(id).bytes : nil
    }

    func discard(_ id: String) throws {
        guard LocalBackend.isValid(id), directory(id).exists else { return }
        try FileManager.default.removeItem(at: directory(id).url)
    }
}
