/// Kubernetes-style quantities of a task's `resources`: `cpu` and `memory` as `request~limit` or one value for both.
public enum ResourceQuantity {
    /// Millicores from `2`, `0.5` or `500m`.
    public static func cpu(_ text: String, field: String) throws(ValidationError) -> Int64 {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix("m"), let milli = Int64(trimmed.dropLast()), milli >= 0 { return milli }
        guard let cores = Double(trimmed), cores >= 0, cores.isFinite else {
            throw ValidationError(field: field, "\"\(text)\" is not a CPU amount such as 2, 0.5 or 500m")
        }
        return Int64((cores * 1000).rounded())
    }

    static let memoryUnits: [(suffix: String, bytes: Double)] = [
        ("Ki", 1024), ("Mi", 1_048_576), ("Gi", 1_073_741_824), ("Ti", 1_099_511_627_776),
        ("K", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("", 1),
    ]

    /// Bytes from `4Gi`, `512Mi`, `2G` or a plain number of bytes.
    public static func memory(_ text: String, field: String) throws(ValidationError) -> Int64 {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for unit in memoryUnits where trimmed.hasSuffix(unit.suffix) {
            if let amount = Double(trimmed.dropLast(unit.suffix.count)), amount >= 0, amount.isFinite {
                return Int64(amount * unit.bytes)
            }
        }
        throw ValidationError(field: field, "\"\(text)\" is not a memory amount such as 4Gi, 512Mi or 2G")
    }

    /// `request~limit` (or one value for both) through `parse`, with request <= limit.
    public static func range(_ text: String, field: String, parse: (String, String) throws(ValidationError) -> Int64)
        throws(ValidationError) -> ClosedRange<Int64>
    {
        let parts = text.split(separator: "~", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2 else { throw ValidationError(field: field, "must be a value or request~limit, got \"\(text)\"") }
        let request = try parse(parts[0], field)
        let limit = parts.count == 2 ? try parse(parts[1], field) : request
        guard request <= limit else { throw ValidationError(field: field, "the request \(parts[0]) is above the limit \(parts[1])") }
        return request...limit
    }
}
