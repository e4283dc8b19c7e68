import Foundation
import TrellisShim

#if canImport(Glibc)
    import Glibc
#endif

/// A line of a pod's log as the API server gives it with `timestamps=true` (`2026-12-05T10:00:00.123456789Z text`),
/// written the way a local execution's supervisor writes its lines, so that a Kubernetes attempt's log reads the same.
struct PodLogLine: Sendable, Equatable {
    /// When the container wrote it (Unix milliseconds).
    var milliseconds: Int64
    var text: String

    /// A line whose stamp cannot be read (the API server always sends one) is taken as written at `previous`.
    init(kubernetes line: String, previous: Int64) {
        if let space = line.firstIndex(of: " "), let stamp = Self.milliseconds(rfc3339: line[..<space]) {
            milliseconds = stamp
            text = String(line[line.index(after: space)...])
        } else {
            milliseconds = previous
            text = line
        }
    }

    init(milliseconds: Int64, text: String) {
        self.milliseconds = milliseconds
        self.text = text
    }

    /// `2026-12-05T10:00:00.123Z [replica-N] text` (`prefix` is empty for a task of one replica, and in a replica's
    /// own log), with its newline.
    func written(prefix: String = "") -> String {
        logTimestamp(milliseconds: milliseconds) + " " + prefix + text + "\n"
    }

    /// What replica `rank` of an attempt of `replicas` prefixes its lines with in the attempt's whole log.
    static func prefix(rank: Int, of replicas: Int) -> String {
        replicas > 1 ? "[replica-\(rank)] " : ""
    }

    /// The replicas' lines interleaved by time, each replica's in its own order (a tie: the lower rank first).
    static func interleave(_ replicas: [[PodLogLine]]) -> [(rank: Int, line: PodLogLine)] {
        var next = Array(repeating: 0, count: replicas.count)
        var merged: [(rank: Int, line: PodLogLine)] = []
        merged.reserveCapacity(replicas.reduce(0) { $0 + $1.count })
        while true {
            var earliest: Int?
            for rank in replicas.indices where next[rank] < replicas[rank].count {
                if let best = earliest, replicas[best][next[best]].milliseconds <= replicas[rank][next[rank]].milliseconds { continue }
                earliest = rank
            }
            guard let rank = earliest else { return merged }
            merged.append((rank, replicas[rank][next[rank]]))
            next[rank] += 1
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (RFC 3339 in UTC, as the API server writes it), to the millisecond.
    static func milliseconds(rfc3339 stamp: Substring) -> Int64? {
        let bytes = Array(stamp.utf8)
        guard bytes.count >= 20, bytes.last == UInt8(ascii: "Z"), bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":")
        else { return nil }
        func number(_ range: Range<Int>) -> Int32? {
            var value: Int32 = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int32(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
            let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var fraction: Int64 = 0
        if bytes[19] == UInt8(ascii: ".") {
            let digits = bytes[20..<(bytes.count - 1)]
            guard !digits.isEmpty, let all = number(20..<min(bytes.count - 1, 23)) else { return nil }
            fraction = Int64(all) * [100, 10, 1][min(digits.count, 3) - 1]
        } else if bytes.count != 20 {
            return nil
        }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        return Int64(timegm(&parts)) * 1000 + fraction
    }
}
