import Foundation

/// One page of a list read in its order: at most `limit` items after the item a cursor names. Every list of the
/// API is read this way (`?limit=&cursor=`, docs/api.md): a default and a maximum bound what one request returns, and
/// the cursor is the sort key of the last item returned, so a page never skips or repeats an item when others are
/// added or removed between requests.
public struct PageRequest: Sendable, Equatable {
    public static let defaultLimit = 100
    public static let maximumLimit = 1000

    public let limit: Int
    /// The sort key of the last item of the previous page; nil on the first.
    public let after: [String]?

    public init(limit: Int = Self.defaultLimit, after: [String]? = nil) {
        self.limit = limit
        self.after = after
    }

    /// Reads `limit` and `cursor` as a client sent them; a field that is not one names itself.
    public init(limit text: String?, cursor: String?) throws(ValidationError) {
        var limit = Self.defaultLimit
        if let text {
            guard let parsed = Int(text), (1...Self.maximumLimit).contains(parsed) else {
                throw ValidationError(field: "limit", "must be 1 to \(Self.maximumLimit)")
            }
            limit = parsed
        }
        self.init(limit: limit, after: try cursor.map(PageCursor.keys(decoding:)))
    }

    /// The key the cursor holds at `index` as an integer (a time or a count), or the error naming the cursor.
    public func integerKey(_ index: Int) throws(ValidationError) -> Int64? {
        guard let after else { return nil }
        guard index < after.count, let value = Int64(after[index]) else { throw PageCursor.invalid }
        return value
    }

    /// The key the cursor holds at `index`, or the error naming the cursor.
    public func key(_ index: Int) throws(ValidationError) -> String? {
        guard let after else { return nil }
        guard index < after.count else { throw PageCursor.invalid }
        return after[index]
    }
}

/// A cursor as clients see it: the sort key of an item, opaque (base64url of a JSON array of strings).
public enum PageCursor {
    static let invalid = ValidationError(field: "cursor", "is not a cursor this list returned")
    static let maximumLength = 1024

    public static func encode(_ keys: [String]) -> String {
        let data = (try? JSONEncoder().encode(keys)) ?? Data()
        return data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func keys(decoding text: String) throws(ValidationError) -> [String] {
        guard text.utf8.count <= maximumLength else { throw invalid }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let keys = try? JSONDecoder().decode([String].self, from: data), !keys.isEmpty
        else { throw invalid }
        return keys
    }
}

/// Items of one page and the cursor of the next, nil on the last.
public struct Page<Item: Sendable>: Sendable {
    public let items: [Item]
    public let next: String?

    /// The page of `fetched` — up to `limit + 1` items read in order after the cursor: one more than the page
    /// holds says another page follows.
    public init(fetched: [Item], request: PageRequest, key: (Item) -> [String]) {
        if fetched.count > request.limit {
            items = Array(fetched.prefix(request.limit))
            next = items.last.map { PageCursor.encode(key($0)) }
        } else {
            items = fetched
            next = nil
        }
    }

    /// A page of a list filtered after reading: reads rows in batches from `read(after:, count)` and keeps those
    /// `keep` makes an item of, until one more than the page is found or the rows run out.
    public static func filtering<Row>(
        _ request: PageRequest, key: (Item) -> [String], rowKey: (Row) -> [String],
        read: ([String]?, Int) async throws -> [Row], keep: (Row) async throws -> Item?
    ) async throws -> Page<Item> {
        var found: [Item] = []
        var after = request.after
        let batch = request.limit + 1
        scanning: while true {
            let rows = try await read(after, batch)
            for row in rows {
                if let item = try await keep(row) {
                    found.append(item)
                    if found.count > request.limit { break scanning }
                }
            }
            guard rows.count == batch, let last = rows.last else { break }
            after = rowKey(last)
        }
        return Page(fetched: found, request: request, key: key)
    }
}
