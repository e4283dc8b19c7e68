import Foundation

/// Cuts a process's output into lines as it arrives; a line longer than `limit` bytes is cut into pieces, so one
/// endless line cannot grow memory without bound.
struct LineSplitter {
    static let limit = 64 * 1024
    private var pending: [UInt8] = []

    /// The complete lines in `bytes` (without their newline), keeping a partial last line for later.
    mutating func push(_ bytes: UnsafeRawBufferPointer) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                lines.append(ArraySlice(pending))
                pending.removeAll(keepingCapacity: true)
            } else {
                pending.append(byte)
                if pending.count >= Self.limit {
                    lines.append(ArraySlice(pending))
                    pending.removeAll(keepingCapacity: true)
                }
            }
        }
        return lines
    }

    /// The unterminated last line, if any, at the end of the output.
    mutating func finish() -> ArraySlice<UInt8>? {
        defer { pending.removeAll() }
        return pending.isEmpty ? nil : ArraySlice(pending)
    }
}

/// `2026-11-29T04:38:53.123Z`, without a formatter (every log line gets one).
enum LogTimestamp {
    static func format(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(milliseconds % 1000), 3))Z"
    }
}

/// Appends timestamped lines to an execution's combined log (each line prefixed `[replica-N]` when there are
/// several replicas, as cube-studio's stern does) and to the replica's own log.
actor LogWriter {
    private let combined: FileHandle
    private let perReplica: [FileHandle]
    private let prefixed: Bool

    init(directory: ExecutionDirectory, replicas: Int) throws {
        combined = try FileHandle.appending(to: directory.output)
        perReplica = try (0..<replicas).map { try FileHandle.appending(to: directory.replicaLog($0)) }
        prefixed = replicas > 1
    }

    func write(_ lines: [ArraySlice<UInt8>], replica: Int, at date: Date = Date()) {
        let stamp = Array((LogTimestamp.format(date) + " ").utf8)
        let prefix = Array("[replica-\(replica)] ".utf8)
        var own: [UInt8] = []
        var all: [UInt8] = []
        for line in lines {
            own += stamp
            own += line
            own.append(UInt8(ascii: "\n"))
            all += stamp
            if prefixed { all += prefix }
            all += line
            all.append(UInt8(ascii: "\n"))
        }
        try? perReplica[replica].write(contentsOf: own)
        try? combined.write(contentsOf: all)
    }

    func close() {
        try? combined.close()
        for handle in perReplica { try? handle.close() }
    }
}
