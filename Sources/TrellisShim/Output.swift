#if canImport(Glibc)
    import Glibc
#endif

/// Wall-clock milliseconds since 1970.
func currentMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}

/// `2026-11-29T04:38:53.123Z`.
public func logTimestamp(milliseconds: Int64) -> String {
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

/// Cuts output into lines as it arrives; a line longer than `limit` bytes is cut into pieces, so an endless line
/// cannot grow memory without bound.
public struct LineSplitter {
    public static let limit = 64 * 1024
    private var pending: [UInt8] = []

    public init() {}

    /// The complete lines in `bytes` (without their newline); a partial last line is kept for later.
    public mutating func push(_ bytes: UnsafeRawBufferPointer) -> [[UInt8]] {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return [] }
        var lines: [[UInt8]] = []
        var start = 0
        // memchr: fast in any build, on output of any size.
        while start < bytes.count, let found = memchr(base + start, Int32(UInt8(ascii: "\n")), bytes.count - start) {
            let end = base.distance(to: UnsafeRawPointer(found))
            pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
            lines.append(pending)
            pending.removeAll(keepingCapacity: true)
            start = end + 1
        }
        pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<bytes.count]))
        while pending.count >= Self.limit {
            lines.append(Array(pending.prefix(Self.limit)))
            pending.removeFirst(Self.limit)
        }
        return lines
    }

    /// The unterminated last line, if any, at the end of the output.
    public mutating func finish() -> [UInt8]? {
        defer { pending.removeAll() }
        return pending.isEmpty ? nil : pending
    }
}

/// JSON text for the few documents the supervisor writes.
enum JSONText {
    static func string(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// An object from already-encoded values; nil values are left out.
    static func object(_ fields: [(String, String?)]) -> String {
        "{" + fields.compactMap { key, value in value.map { string(key) + ":" + $0 } }.joined(separator: ",") + "}"
    }
}
