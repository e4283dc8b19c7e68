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
}
