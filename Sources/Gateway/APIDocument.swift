import Foundation
import Hummingbird
import TrellisHTTP
import Yams

/// The OpenAPI document of every route (docs/openapi.yaml, compiled in): `GET /api/v1/openapi.yaml` as written, and
/// `GET /api/v1/openapi.json` the same document as JSON (the portal's API reference reads it). Public, in both modes.
struct APIDocument: Sendable {
    static let yamlPath = "/api/v1/openapi.yaml"
    static let jsonPath = "/api/v1/openapi.json"
    static let paths: Set<String> = [yamlPath, jsonPath]

    let yaml: Data
    let json: Data

    struct Missing: Error, CustomStringConvertible {
        var description: String { "the build carries no docs/openapi.yaml" }
    }

    init(files: [String: Data] = EmbeddedDocs.files) throws {
        guard let yaml = files["openapi.yaml"] else { throw Missing() }
        self.yaml = yaml
        json = try JSONSerialization.data(
            withJSONObject: try Yams.load(yaml: String(decoding: yaml, as: UTF8.self)) ?? [:],
            options: [.sortedKeys, .withoutEscapingSlashes])
    }

    func addRoutes(to router: Router<TrellisRequestContext>) {
        let (yaml, json) = (ByteBuffer(data: yaml), ByteBuffer(data: json))
        router.get(RouterPath(String(Self.yamlPath.dropFirst()))) { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"], body: .init(byteBuffer: yaml))
        }
        router.get(RouterPath(String(Self.jsonPath.dropFirst()))) { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: json))
        }
    }
}
