import Foundation
import Hummingbird
import NIOCore
import ServiceContracts
import Yams

/// Decodes request bodies sent as JSON (the default) or YAML (`application/yaml`), turning every failure into an
/// ``APIError`` that names the field: 400 for malformed or mistyped documents, 413 over the size limit, 415 for
/// other media types.
public struct DocumentDecoder: RequestDecoder {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        let contentType = request.headers[.contentType] ?? "application/json"
        let format = try Format(contentType: contentType)
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch is NIOTooManyBytesError {
            throw APIError.payloadTooLarge(limit: context.maxUploadSize)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.payloadTooLarge(limit: context.maxUploadSize)
        }
        return try Self.decode(type, from: Data(buffer: buffer), format: format)
    }

    public enum Format: Sendable {
        case json
        case yaml

        init(contentType: String) throws(APIError) {
            let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            switch mediaType {
            case "application/json", "text/json": self = .json
            case "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml": self = .yaml
            default: throw APIError.unsupportedMediaType(contentType)
            }
        }
    }

    /// Decodes `data`, naming the offending field in the error.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data, format: Format) throws(APIError) -> T {
        guard !data.isEmpty else {
            throw APIError.badRequest("the request body is empty; a \(format == .json ? "JSON" : "YAML") document is required")
        }
        do {
            switch format {
            case .json:
                return try APICoding.decoder().decode(type, from: data)
            case .yaml:
                guard let text = String(data: data, encoding: .utf8) else { throw APIError.badRequest("the YAML body is not UTF-8") }
                return try BoundedYAML.decode(type, from: text)
            }
        } catch let error as APIError {
            throw error
        } catch let error as DecodingError {
            throw describe(error, format: format)
        } catch let error as YamlError {
            throw APIError.badRequest("malformed YAML: \(error)")
        } catch {
            throw APIError.badRequest("malformed \(format == .json ? "JSON" : "YAML"): \(error)")
        }
    }

    static func describe(_ error: DecodingError, format: Format) -> APIError {
        switch error {
        case .keyNotFound(let key, let context):
            return .invalidField(path(context.codingPath + [key]), "is required")
        case .typeMismatch(let type, let context):
            return .invalidField(path(context.codingPath), "must be \(typeName(type))")
        case .valueNotFound(let type, let context):
            return .invalidField(path(context.codingPath), "must be \(typeName(type)), not null")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                let detail = (context.underlyingError as NSError?)?.localizedDescription ?? context.debugDescription
                return .badRequest("malformed \(format == .json ? "JSON" : "YAML"): \(detail)")
            }
            return .invalidField(path(context.codingPath), context.debugDescription)
        @unknown default:
            return .badRequest("the document could not be read: \(error)")
        }
    }

    /// `spec.tasks[2].name` from a coding path.
    static func path(_ codingPath: [any CodingKey]) -> String {
        var text = ""
        for key in codingPath {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text.isEmpty ? "(document)" : text
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is Int32.Type: "a whole number"
        case is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "true or false"
        case is [Any].Type: "a list"
        case is [String: Any].Type: "an object"
        default: "of type \(type)"
        }
    }
}

/// YAML read with its aliases bounded: a document whose aliases expand it beyond ``nodeLimit`` nodes (a "billion
/// laughs" of nested anchors, a few hundred bytes that expand to billions of nodes) is refused before anything walks
/// the expansion. Nodes are counted, not bytes, with the count stopping at the limit.
public enum BoundedYAML {
    /// More than a 1,000-task pipeline needs, many times over.
    public static let nodeLimit = 200_000

    /// `type` decoded from `text`, as `YAMLDecoder` decodes it.
    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        // YAMLDecoder's own resolver (merge keys only): scalars keep their text for the decoder to type.
        let parser = try Parser(yaml: text, resolver: Resolver.basic.appending(.merge))
        return try withExtendedLifetime(parser) {
            let node = try parser.singleRoot() ?? ""
            try check(node)
            return try YAMLDecoder().decode(type, from: node)
        }
    }

    /// The root node of `text` with the default resolver (as `Yams.compose`), its expansion checked.
    public static func compose(_ text: String) throws -> Node? {
        guard let node = try Yams.compose(yaml: text) else { return nil }
        try check(node)
        return node
    }

    /// Throws 413 when `node` expands to more than ``nodeLimit`` nodes; walks at most that many.
    static func check(_ node: Node) throws(APIError) {
        var pending = [node]
        var count = 0
        while let next = pending.popLast() {
            count += 1
            guard count <= nodeLimit else {
                throw APIError.payloadTooLarge(
                    "the YAML document expands to more than \(nodeLimit) nodes (through its aliases); write it without them")
            }
            switch next {
            case .mapping(let mapping):
                for (key, value) in mapping {
                    pending.append(key)
                    pending.append(value)
                }
            case .sequence(let sequence): pending.append(contentsOf: sequence)
            case .scalar, .alias: break
            }
        }
    }
}
