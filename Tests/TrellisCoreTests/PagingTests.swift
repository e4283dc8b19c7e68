import Testing
import TrellisCore

@Suite struct PagingTests {
    @Test func aCursorCarriesItsKeysAndNothingElseIsOne() throws {
        let keys = ["1764900000000", "run-ä/+="]
        #expect(try PageCursor.keys(decoding: PageCursor.encode(keys)) == keys)
        #expect(!PageCursor.encode(keys).contains { "+/=".contains($0) })
        for garbage in ["", "!!", "bm90IGpzb24", "W10", String(repeating: "A", count: 2000)] {
            #expect(throws: ValidationError(field: "cursor", "is not a cursor this list returned")) {
                try PageCursor.keys(decoding: garbage)
            }
        }
    }

    @Test func theLimitHasADefaultAndAMaximum() throws {
        #expect(try PageRequest(limit: nil, cursor: nil).limit == 100)
        #expect(try PageRequest(limit: "1000", cursor: nil).limit == 1000)
        for bad in ["0", "1001", "-1", "ten", "9223372036854775808"] {
            #expect(throws: ValidationError(field: "limit", "must be 1 to 1000")) { try PageRequest(limit: bad, cursor: nil) }
        }
        // A cursor whose key is not the integer the list sorts by names the cursor.
        let page = try PageRequest(limit: "5", cursor: PageCursor.encode(["name"]))
        #expect(throws: ValidationError.self) { try page.integerKey(0) }
        #expect(throws: ValidationError.self) { try page.key(1) }
    }

    @Test func oneMoreItemThanThePageSaysAnotherFollows() throws {
        let request = PageRequest(limit: 2)
        let more = Page(fetched: ["a", "b", "c"], request: request) { [$0] }
        #expect(more.items == ["a", "b"])
        #expect(try more.next.map(PageCursor.keys(decoding:)) == ["b"])
        let last = Page(fetched: ["a", "b"], request: request) { [$0] }
        #expect(last.items == ["a", "b"] && last.next == nil)
    }

    /// A filtered list reads batch after batch until the page is full, and the next page starts after the last item
    /// it returned: every kept item once, in order, whatever the filter drops.
    @Test func aFilteredListPagesThroughEveryKeptItemOnce() async throws {
        let rows = (0..<50).map { String(format: "item-%02d", $0) }
        let keep: @Sendable (String) -> String? = { Int($0.suffix(2))! % 7 == 0 ? $0 : nil }
        var seen: [String] = []
        var reads = 0
        var request = PageRequest(limit: 3)
        while true {
            let page = try await Page<String>.filtering(
                request, key: { [$0] }, rowKey: { [$0] },
                read: { after, count in
                    reads += 1
                    return Array(rows.filter { $0 > (after?.first ?? "") }.prefix(count))
                }, keep: keep)
            seen += page.items
            guard let next = page.next else { break }
            request = PageRequest(limit: 3, after: try PageCursor.keys(decoding: next))
        }
        #expect(seen == rows.compactMap(keep))
        #expect(reads < 30)
    }
}
