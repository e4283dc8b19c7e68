import Foundation
import ServiceContracts
import Testing

/// Dates in the API's JSON: the instant stored, to the millisecond.
@Suite struct APICodingTests {
    /// Every millisecond of a second (and of one before 1970) is written as stored and read back the same: instants
    /// the engine records (a retry's due time, an attempt's end) can be compared exactly.
    @Test func everyMillisecondIsWrittenAsStored() throws {
        for base in [Int64(1_796_443_206_000), -86_400_000] {
            for offset in Int64(0)..<1000 {
                let stored = base + offset
                let text = APICoding.text(Date(timeIntervalSince1970: Double(stored) / 1000))
                #expect(text.hasSuffix(String(format: ".%03dZ", Int(offset))), "\(stored) → \(text)")
                #expect(APICoding.date(text).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } == stored, "\(stored) → \(text)")
            }
        }
        #expect(APICoding.text(Date(timeIntervalSince1970: 1_796_443_206.889)) == "2026-12-05T04:00:06.889Z")
    }

    /// The calendar arithmetic agrees with Foundation's ISO 8601 formatting on instants spread from 1600 to 9999, the
    /// turns of years, months and leap days included; a date outside them is written by Foundation.
    @Test func datesAgreeWithFoundationsCalendar() {
        var generator = SystemRandomNumberGenerator()
        let turns: [Int64] = [
            0, -1, 951_782_400, 951_868_800, 4_107_542_400, 4_102_444_800, -2_203_891_200, -11_676_096_000, -11_676_096_001,
            -62_135_596_800, 253_402_300_799, 1_709_164_800, 1_709_251_200,
        ]
        let random = (0..<2000).map { _ in Int64.random(in: -11_676_096_000..<253_402_300_800, using: &generator) }
        for seconds in turns + random {
            let date = Date(timeIntervalSince1970: Double(seconds))
            #expect(APICoding.text(date) == date.formatted(.iso8601).dropLast() + ".000Z", "\(seconds)")
        }
        #expect(APICoding.text(Date(timeIntervalSince1970: 253_402_300_800.25)).hasPrefix("10000-01-01T00:00:00.250Z"))
        #expect(APICoding.text(Date(timeIntervalSince1970: -11_676_096_000.75)) == "1599-12-31T23:59:59.250Z")
        #expect(APICoding.text(Date(timeIntervalSince1970: -0.0004)) == "1970-01-01T00:00:00.000Z")
        #expect(APICoding.text(Date(timeIntervalSince1970: -0.0006)) == "1969-12-31T23:59:59.999Z")
    }
}
