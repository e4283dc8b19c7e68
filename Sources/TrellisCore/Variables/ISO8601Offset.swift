import Foundation

/// The UTC offset written at the end of an ISO 8601 date and time (`Z`, `+08:00`, `-0530`), in seconds; 0 without one.
public enum ISO8601Offset {
    public static func seconds(in text: String) -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix("Z") || trimmed.hasSuffix("z") { return 0 }
        guard let time = trimmed.firstIndex(of: "T") ?? trimmed.firstIndex(of: " "),
            let sign = trimmed[time...].lastIndex(where: { $0 == "+" || $0 == "-" })
        else { return 0 }
        let digits = trimmed[trimmed.index(after: sign)...].filter(\.isNumber)
        guard digits.count == 4, let hours = Int(digits.prefix(2)), let minutes = Int(digits.suffix(2)) else { return 0 }
        return (trimmed[sign] == "-" ? -1 : 1) * (hours * 3600 + minutes * 60)
    }
}

extension ISO8601Offset {
    /// `+08:00`, `-04:00`, `+00:00`: an offset as Python's `isoformat()` writes it.
    public static func text(seconds: Int) -> String {
        let minutes = abs(seconds) / 60
        return (seconds < 0 ? "-" : "+") + pad(minutes / 60, 2) + ":" + pad(minutes % 60, 2)
    }

    /// `2026-11-29T02:00:00+08:00`: the instant as wall-clock time in `zone`, with its offset.
    public static func text(_ date: Date, in zone: TimeZone) -> String {
        let offset = zone.secondsFromGMT(for: date)
        let local = PyDateTime(microseconds: (Int64((date.timeIntervalSince1970).rounded(.down)) + Int64(offset)) * 1_000_000)
        return local.text(separator: "T") + text(seconds: offset)
    }
}
