import PostgresKit
import SQLKit

/// A read a service makes on most requests (who a token is, what it may see). On PostgreSQL it is a named prepared
/// statement, parsed and planned once per connection instead of at each run — parsing and planning two such statements
/// were most of PostgreSQL's time under a read load in split mode; on SQLite it runs as any statement.
///
/// `text` is one statement valid in both dialects, its parameters written `$1`, `$2`… (each may appear more than once;
/// no `$` and digit may appear in a quoted string).
public protocol PreparedRead: Sendable {
    static var text: String { get }
    /// The values of `$1`, `$2`…, in order.
    var parameters: [PreparedValue] { get }
}

extension PreparedRead {
    /// The highest `$N` of `text`: a read that adds parameters to another's numbers them from here.
    public static var highestParameter: Int {
        var highest = 0
        var number: Int?  // the digits after a `$`, while they are read
        for byte in text.utf8 {
            if let digits = number, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                number = digits * 10 + Int(byte - UInt8(ascii: "0"))
                continue
            }
            if let digits = number { highest = max(highest, digits) }
            number = byte == UInt8(ascii: "$") ? 0 : nil
        }
        return max(highest, number ?? 0)
    }
}

/// A parameter of a ``PreparedRead``.
public enum PreparedValue: Sendable, Equatable {
    case text(String)
    case integer(Int64)
    case bool(Bool)
}

extension Database {
    /// The rows `statement` reads, outside any transaction.
    public func rows<Statement: PreparedRead>(_ statement: Statement) async throws -> [any SQLRow] {
        let parameters = statement.parameters
        switch backend {
        case .sqlite:
            let query = try PreparedText.sqlite(Statement.text, parameters)
            return try await read { sql in try await sql.raw(query).all() }
        case .postgres(let client, let running):
            guard await running.wait() else { throw CancellationError() }
            // As PostgresKit logs the statements it runs, so that a debug log shows these too.
            logger.debug(
                "Executing query", metadata: ["sql": .string(Statement.text), "binds": .array(parameters.map { .string("\($0)") })])
            let prepared = PostgresPrepared<Statement>(parameters: parameters)
            return try await client.withConnection { connection in
                var rows: [any SQLRow] = []
                for try await row in try await connection.execute(prepared, logger: logger) { rows.append(row.sql()) }
                return rows
            }
        }
    }
}

/// A ``PreparedRead`` as PostgresNIO prepares it: each connection prepares a name once and runs it from then on.
struct PostgresPrepared<Statement: PreparedRead>: PostgresPreparedStatement {
    typealias Row = PostgresRow
    static var sql: String { Statement.text }
    /// Named after the text (PostgreSQL keeps 63 bytes of a name: a type's full name could be cut to another's).
    static var name: String { PreparedText.name(of: Statement.text) }
    let parameters: [PreparedValue]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: parameters.count)
        for parameter in parameters {
            switch parameter {
            case .text(let value): bindings.append(value)
            case .integer(let value): bindings.append(value)
            case .bool(let value): bindings.append(value)
            }
        }
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}

/// The text of a ``PreparedRead`` for each database.
enum PreparedText {
    /// `trellis_` and the 64-bit FNV-1a hash of `text`, in hex.
    static func name(of text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return "trellis_" + String(hash, radix: 16)
    }

    /// The text with each `$N` replaced by a bind of parameter N, as SQLite's statements take them.
    static func sqlite(_ text: String, _ parameters: [PreparedValue]) throws -> SQLQueryString {
        var query = SQLQueryString("")
        var literal = ""
        var characters = text.unicodeScalars.makeIterator()
        var pending = characters.next()
        while let scalar = pending {
            pending = characters.next()
            guard scalar == "$", let first = pending, ("0"..."9").contains(first) else {
                literal.unicodeScalars.append(scalar)
                continue
            }
            var digits = ""
            while let digit = pending, ("0"..."9").contains(digit) {
                digits.unicodeScalars.append(digit)
                pending = characters.next()
            }
            guard let number = Int(digits), number >= 1, number <= parameters.count else {
                throw PreparedTextError(text: text, parameter: digits, count: parameters.count)
            }
            query.appendLiteral(literal)
            literal = ""
            switch parameters[number - 1] {
            case .text(let value): query.appendInterpolation(bind: value)
            case .integer(let value): query.appendInterpolation(bind: value)
            case .bool(let value): query.appendInterpolation(bind: value)
            }
        }
        query.appendLiteral(literal)
        return query
    }
}

/// A `$N` in a statement's text with no parameter N.
struct PreparedTextError: Error, CustomStringConvertible {
    let text: String
    let parameter: String
    let count: Int
    var description: String { "the statement uses $\(parameter) but has \(count) parameters: \(text)" }
}
