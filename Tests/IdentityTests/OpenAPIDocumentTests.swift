import Foundation
import Testing
import TrellisTestSupport

/// docs/openapi.yaml against the code: every route the platform's router registers is an operation of the document
/// and every operation a route (both ways, as the access matrix holds docs/permissions.md); each operation's
/// `x-trellis-access` and security are the permission table's; every `$ref` resolves, path parameters are declared,
/// operation ids are unique; and the platform serves the document as written (YAML) and as JSON, to anyone.
@Suite struct OpenAPIDocumentTests {
    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/openapi.yaml")

    @Test func theDocumentIsEveryRouteAndOnlyThem() async throws {
        let table = try PermissionTable.load()
        try await EmbeddedHarness.withRoutes(.sqlite) { api, _, routes in
            let yaml = try await api.call("GET", "/api/v1/openapi.yaml")
            #expect(yaml.status == 200 && yaml.headers["content-type"]?.hasPrefix("application/yaml") == true)
            #expect(yaml.body == (try Data(contentsOf: Self.file)), "the platform serves docs/openapi.yaml as written")
            let served = try await api.call("GET", "/api/v1/openapi.json")
            let document = served.json
            #expect(document["openapi"] as? String == "3.1.0")
            let paths = try #require(document["paths"] as? [String: [String: Any]])

            var operations: [String: [String: Any]] = [:]
            for (path, methods) in paths {
                for (method, operation) in methods {
                    guard let operation = operation as? [String: Any] else { continue }
                    operations["\(method.uppercased()) \(path)"] = operation
                }
            }
            let registered = Set(routes.filter { $0.contains(" /api/") })
            #expect(registered.subtracting(operations.keys).sorted() == [], "routes missing from docs/openapi.yaml")
            #expect(Set(operations.keys).subtracting(registered).sorted() == [], "operations nobody serves")

            var ids: Set<String> = []
            for (route, operation) in operations.sorted(by: { $0.key < $1.key }) {
                let access = operation["x-trellis-access"] as? String
                #expect(access == table.routes[route]?.description, "\(route): x-trellis-access \(access ?? "none")")
                let security = operation["security"] as? [[String: Any]]
                switch table.routes[route] {
                case .public?: #expect(security?.isEmpty == true, "\(route) is public: security []")
                case .service?: #expect(security?.first?.keys.first == "serviceToken", "\(route) takes the service token")
                default: #expect(security == nil, "\(route) takes the document's bearer token")
                }
                let id = try #require(operation["operationId"] as? String, "\(route) has no operationId")
                #expect(ids.insert(id).inserted, "operationId \(id) is used twice")
                let path = String(route.split(separator: " ")[1])
                let declared = Set(
                    (operation["parameters"] as? [[String: Any]] ?? []).compactMap { $0["$ref"] as? String }.filter {
                        $0.hasPrefix("#/components/parameters/path_")
                    }.map { String($0.dropFirst("#/components/parameters/path_".count)) })
                let inPath = Set(path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) })
                #expect(declared == inPath, "\(route): path parameters \(declared.sorted()) for \(inPath.sorted())")
                #expect(operation["responses"] != nil, "\(route) has no responses")
            }
            // Every reference resolves.
            func references(_ value: Any) -> [String] {
                switch value {
                case let object as [String: Any]:
                    return (object["$ref"] as? String).map { [$0] } ?? object.values.flatMap(references)
                case let array as [Any]: return array.flatMap(references)
                default: return []
                }
            }
            for reference in Set(references(document)).sorted() {
                var node: Any? = document
                for key in reference.dropFirst(2).split(separator: "/") { node = (node as? [String: Any])?[String(key)] }
                #expect(node != nil, "\(reference) resolves to nothing")
            }
        }
    }
}
