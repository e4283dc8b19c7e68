import Foundation

/// The JSON of the API: dates as ISO 8601 in UTC with milliseconds (`2026-11-29T04:38:53.123Z`), so attempt times
/// can be compared to the millisecond; dates without fractional seconds are read too.
public enum APICoding {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(withMilliseconds))
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

    static let withMilliseconds = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}
