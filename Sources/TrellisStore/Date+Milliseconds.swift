import Foundation

/// Tables keep times as Unix milliseconds in BIGINT columns: the same type and ordering on SQLite and PostgreSQL.
extension Date {
    public var milliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }

    public static func fromMilliseconds(_ value: Int64) -> Date {
        Date(timeIntervalSince1970: Double(value) / 1000)
    }
}
