import Foundation

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
    /// seconds, which truncate the binary fraction: an instant stored as 889 ms was written .888.
    public static func text(_ date: Date) -> String {
        var (seconds, milliseconds) = Int64((date.timeIntervalSince1970 * 1000).rounded()).quotientAndRemainder(dividingBy: 1000)
        if milliseconds < 0 { (seconds, milliseconds) = (seconds - 1, milliseconds + 1000) }
        let whole = Date(timeIntervalSince1970: Double(seconds)).formatted(.iso8601)
        let fraction = String(milliseconds)
        return whole.dropLast() + "." + String(repeating: "0", count: 3 - fraction.count) + fraction + "Z"
    }

    static let withMilliseconds = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}
