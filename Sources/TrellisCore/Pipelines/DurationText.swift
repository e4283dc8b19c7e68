/// Durations as people write them in pipeline files: `45s`, `10m`, `1h30m`, `2d`, `500ms`.
public enum DurationText {
    static let units: [(suffix: String, milliseconds: Int64)] = [
        ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
    ]

    /// Parses `text`, naming the field when it is not a duration.
    public static func parse(_ text: String, field: String) throws(ValidationError) -> Duration {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        var total: Int64 = 0
        guard !rest.isEmpty else { throw ValidationError(field: field, "must be a duration such as 30s, 10m or 1h30m") }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber }
            guard let amount = Int64(digits) else {
                throw ValidationError(field: field, "\"\(text)\" is not a duration such as 30s, 10m or 1h30m")
            }
            rest = rest.dropFirst(digits.count)
            let unit = String(rest.prefix { $0.isLetter })
            guard let scale = units.first(where: { $0.suffix == unit })?.milliseconds else {
                throw ValidationError(field: field, "\"\(text)\" is not a duration such as 30s, 10m or 1h30m (units: ms, s, m, h, d)")
            }
            rest = rest.dropFirst(unit.count)
            let (product, overflow) = amount.multipliedReportingOverflow(by: scale)
            guard !overflow, total <= Int64.max - product else { throw ValidationError(field: field, "\"\(text)\" is too long") }
            total += product
        }
        return .milliseconds(total)
    }

    /// The way people write it back: `10m`, `1h30m`, `45s`, `1500ms`.
    public static func format(milliseconds: Int64) -> String {
        guard milliseconds % 1000 == 0, milliseconds != 0 else { return "\(milliseconds)ms" }
        var seconds = milliseconds / 1000
        var text = ""
        for (suffix, size) in [("d", Int64(86_400)), ("h", 3_600), ("m", 60), ("s", 1)] where seconds >= size {
            text += "\(seconds / size)\(suffix)"
            seconds %= size
        }
        return text
    }
}
