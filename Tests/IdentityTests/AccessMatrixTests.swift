import Foundation
import Testing
import TrellisCore
import TrellisHTTP
import TrellisTestSupport

/// Every route the platform's router registers × {anonymous, a member of another project, viewer, developer, owner,
/// admin}, against the table of docs/permissions.md: a route the table lacks fails, a persona answered otherwise than
/// the table says fails, an outsider's successful answer that shows the project fails, and a refused call that changed
/// the project fails.
@Suite struct AccessMatrixTests {
    @Test(arguments: DatabaseKind.allCases)
    func everyRouteAdmitsExactlyWhomTheTableSays(_ kind: DatabaseKind) async throws {
        let table = try PermissionTable.load()
        let roles = Dictionary(uniqueKeysWithValues: ProjectAction.allCases.map { ($0.rawValue, $0.minimumRole.rawValue) })
        #expect(table.leastRoles == roles, "the role table of docs/permissions.md is ProjectAction's")
        try await EmbeddedHarness.withRoutes(kind) { api, _, routes in
            let registered = Set(routes)
            let undocumented = registered.subtracting(table.routes.keys).sorted()
            #expect(undocumented.isEmpty, "routes missing from docs/permissions.md: \(undocumented)")
            let unserved = Set(table.routes.keys).subtracting(registered).sorted()
            #expect(unserved.isEmpty, "docs/permissions.md lists routes nobody serves: \(unserved)")

            let served = table.order.filter(registered.contains)
            let setup = MatrixSetup(
                api: api, identity: api, serviceToken: try await EmbeddedHarness.serviceToken(),
                adminPassword: EmbeddedHarness.adminPassword)
            let calls = try await AccessMatrix.check(served, of: table, with: setup)
            #expect(calls > served.count * Persona.allCases.count)
        }
    }
}
