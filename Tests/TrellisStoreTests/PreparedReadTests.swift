import SQLKit
import Testing
import TrellisStore
import TrellisTestSupport

@Suite struct PreparedReadTests {
    /// Rows by a name, its parameter used twice; a flag and a limit bound as the other parameters.
    struct Named: PreparedRead {
        static let text = """
            SELECT id, n FROM prepared_t WHERE (id = $1 OR $2) AND id <> $1 || 'x' ORDER BY id LIMIT $3
            """
        let id: String
        let all: Bool
        let limit: Int64
        var parameters: [PreparedValue] { [.text(id), .bool(all), .integer(limit)] }
    }

    /// Whether PostgreSQL holds a prepared statement of this name on the connection that runs this one.
    struct Prepared: PreparedRead {
        static let text = "SELECT count(*) AS found FROM pg_prepared_statements WHERE name LIKE 'trellis_%' AND statement = $1"
        var parameters: [PreparedValue] { [.text(Self.text)] }
    }

    struct MissingParameter: PreparedRead {
        static let text = "SELECT id FROM prepared_t WHERE id = $2"
        var parameters: [PreparedValue] { [.text("a")] }
    }

    @Test(arguments: DatabaseKind.allCases)
    func aPreparedReadBindsItsParametersInBothDialects(_ kind: DatabaseKind) async throws {
        try await TestDatabases.withFresh(kind) { url in
            try await Database.withOpened(url, logger: TestDatabases.logger) { database in
                try await database.read { sql in
                    try await sql.raw("CREATE TABLE prepared_t (id TEXT PRIMARY KEY, n BIGINT NOT NULL)").run()
                    try await sql.raw("INSERT INTO prepared_t VALUES ('a', 1), ('b', 2), ('c', 3)").run()
                }
                func ids(_ statement: Named) async throws -> [String] {
                    try await database.rows(statement).map { try $0.decode(column: "id", as: String.self) }
                }
                // Run often enough that PostgreSQL would switch to a generic plan: the answers stay the same.
                for _ in 0..<7 {
                    #expect(try await ids(Named(id: "b", all: false, limit: 10)) == ["b"])
                    #expect(try await ids(Named(id: "b", all: true, limit: 2)) == ["a", "b"])
                    #expect(try await ids(Named(id: "z", all: false, limit: 10)) == [])
                }
                let row = try #require(try await database.rows(Named(id: "c", all: false, limit: 1)).first)
                #expect(try row.decode(column: "n", as: Int64.self) == 3)
                // A value is only ever a value.
                #expect(try await ids(Named(id: "a' OR 1=1 --", all: false, limit: 10)) == [])

                await #expect(throws: (any Error).self) { try await database.rows(MissingParameter()) }
                if kind == .postgres {
                    let found = try #require(try await database.rows(Prepared()).first)
                    #expect(try found.decode(column: "found", as: Int64.self) == 1)
                }
            }
        }
    }

    /// SQLite is given each `$N` as a bind of parameter N; a number with no parameter is an error naming it.
    @Test func theSQLiteTextNamesAMissingParameter() async throws {
        try await Database.withOpened(.sqliteMemory, logger: TestDatabases.logger) { database in
            let error = await #expect(throws: (any Error).self) { try await database.rows(MissingParameter()) }
            #expect(String(describing: error!).contains("uses $2 but has 1 parameters"))
        }
    }

    /// The highest `$N` of a text, where a read that extends another numbers its own parameters from.
    @Test func theHighestParameterIsReadFromTheText() {
        #expect(Named.highestParameter == 3)
        #expect(MissingParameter.highestParameter == 2)
        struct Many: PreparedRead {
            static let text = "SELECT $12, $3 || '$' AS dollar, $1"
            var parameters: [PreparedValue] { [] }
        }
        #expect(Many.highestParameter == 12)
        struct None: PreparedRead {
            static let text = "SELECT 1"
            var parameters: [PreparedValue] { [] }
        }
        #expect(None.highestParameter == 0)
    }
}
