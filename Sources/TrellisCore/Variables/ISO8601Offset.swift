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
