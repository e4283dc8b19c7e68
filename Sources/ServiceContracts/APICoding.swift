import Foundation
import TrellisCore

/// The JSON of the API: dates as ISO 8601 in UTC with milliseconds (`2026-11-29T04:38:53.123Z`), so attempt times
/// can be compared to the millisecond; dates without fractional seconds are read too.
public enum APICoding {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(text(date))
        }
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            if let date = date(text) { return date }
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(text)\" is not an ISO 8601 date")
        }
        return decoder
    }

    /// An instant as the API writes it, or without fractional seconds; nil when it is not ISO 8601 with an offset.
    public static func date(_ text: String) -> Date? {
        (try? withMilliseconds.parse(text)) ?? (try? Date(text, strategy: .iso8601))
    }

    /// `2026-11-29T04:38:53.123Z`: the instant rounded to the millisecond. Not `ISO8601FormatStyle`'s fractional
    /// seconds, which truncate the binary fraction: an instant stored as 889 ms was written .888. Computed from the
    /// days since 1970 (the Gregorian calendar): a response with thousands of dates (a run's grid) spent most of its
    /// time in Foundation's calendar.
    public static func text(_ date: Date) -> String {
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded()
        // From 1600 (Foundation's calendar is Julian before 1582) to 9999 (four digits); what else is a date no API field
        // holds, its second written by Foundation as it reads it back.
        guard milliseconds >= -11_676_096_000_000, milliseconds < 253_402_300_800_000 else {
            guard abs(milliseconds) < 1e18 else { return date.formatted(.iso8601) }
            var (seconds, fraction) = Int64(milliseconds).quotientAndRemainder(dividingBy: 1000)
            if fraction < 0 { (seconds, fraction) = (seconds - 1, fraction + 1000) }
            let whole = Date(timeIntervalSince1970: Double(seconds)).formatted(.iso8601)
            return whole.dropLast() + "." + String(String(fraction + 1000).dropFirst()) + "Z"
        }
        var (days, ofDay) = Int64(milliseconds).quotientAndRemainder(dividingBy: 86_400_000)
        if ofDay < 0 { (days, ofDay) = (days - 1, ofDay + 86_400_000) }
        let (year, month, day) = PyDateTime.civil(fromDays: Int(days))
        let fields: [(value: Int64, digits: Int, after: UInt8)] = [
            (Int64(year), 4, UInt8(ascii: "-")), (Int64(month), 2, UInt8(ascii: "-")), (Int64(day), 2, UInt8(ascii: "T")),
            (ofDay / 3_600_000, 2, UInt8(ascii: ":")), (ofDay / 60_000 % 60, 2, UInt8(ascii: ":")),
            (ofDay / 1000 % 60, 2, UInt8(ascii: ".")), (ofDay % 1000, 3, UInt8(ascii: "Z")),
        ]
        return String(unsafeUninitializedCapacity: 24) { buffer in
            var position = 0
            for field in fields {
                var value = field.value
                for digit in stride(from: field.digits - 1, through: 0, by: -1) {
                    buffer[position + digit] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
                buffer[position + field.digits] = field.after
                position += field.digits + 1
            }
            return position
        }
    }

    static let withMilliseconds = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}
