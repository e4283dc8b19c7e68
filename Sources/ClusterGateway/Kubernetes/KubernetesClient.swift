import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import ServiceContracts
import TrellisCore
import TrellisHTTP

/// Where a Kubernetes API server is and how to prove who we are: a bearer token or a client certificate, and the
/// CA its certificate is checked against (the system's when none is given).
public struct KubernetesCluster: Sendable, Equatable {
    public enum Credential: Sendable, Equatable {
        case token(String)
        case clientCertificate(certificatePEM: String, keyPEM: String)
    }

    public var server: String
    public var caPEM: String?
    public var credential: Credential

    public init(server: String, caPEM: String?, credential: Credential) {
        self.server = server
        self.caPEM = caPEM
        self.credential = credential
    }
}

/// A resource kind of the Kubernetes API: `/api/v1` for the core group, `/apis/{group}/{version}` otherwise.
public struct KubernetesResource: Sendable, Equatable {
    public var group: String
    public var version: String
    public var plural: String

    public init(group: String, version: String, plural: String) {
        self.group = group
        self.version = version
        self.plural = plural
    }

    public static let workflows = KubernetesResource(group: "argoproj.io", version: "v1alpha1", plural: "workflows")
    public static let pods = KubernetesResource(group: "", version: "v1", plural: "pods")
    public static let namespaces = KubernetesResource(group: "", version: "v1", plural: "namespaces")
    public static let events = KubernetesResource(group: "", version: "v1", plural: "events")
    public static let secrets = KubernetesResource(group: "", version: "v1", plural: "secrets")
    public static let services = KubernetesResource(group: "", version: "v1", plural: "services")
    public static let customResourceDefinitions = KubernetesResource(
        group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions")

    /// The operator's jobs of a framework (kubeflow.org/v1, ray.io/v1).
    public static func jobs(of framework: TrainingFramework) -> KubernetesResource {
        let parts = framework.apiVersion.split(separator: "/").map(String.init)
        return KubernetesResource(group: parts[0], version: parts[1], plural: framework.plural)
    }

    var base: String { group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)" }

    /// The collection (or, with `name`, the object) in `namespace`; cluster-scoped without one.
    func path(namespace: String?, name: String? = nil, subresource: String? = nil) -> String {
        var path = base
        if let namespace { path += "/namespaces/\(ServiceRequests.escaped(namespace))" }
        path += "/\(plural)"
        if let name { path += "/\(ServiceRequests.escaped(name))" }
        if let subresource { path += "/\(subresource)" }
        return path
    }
}

/// What the API server refused, from its `Status` answer: the HTTP status, the reason (`AlreadyExists`,
/// `NotFound`, `Invalid`, `Forbidden`…) and its message.
public struct KubernetesError: Error, Sendable, Equatable, CustomStringConvertible, APIErrorConvertible {
    public let status: Int
    public let reason: String
    public let message: String

    public var description: String { "Kubernetes answered \(status) \(reason): \(message)" }

    /// As the cluster gateway answers it: the API server's refusal of what was sent is a 400 with its words; any
    /// other failure a 503.
    public var apiError: APIError {
        (400..<500).contains(status) && status != 401 && status != 403
            ? .badRequest("the cluster refused it: \(description)") : .unavailable("the cluster cannot be used: \(description)")
    }
}

/// One change seen by a watch.
public struct KubernetesWatchEvent: Sendable, Equatable {
    /// ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.
    public let type: String
    public let object: JSONValue
}

/// A small client of the Kubernetes API over async-http-client: create, get, list, merge-patch, delete and watch
/// of namespaced (custom) resources, and pod logs. Its own HTTP client carries the cluster's CA and client
/// certificate; `shutdown()` when done.
public final class KubernetesClient: Sendable {
    let cluster: KubernetesCluster
    let http: HTTPClient
    let timeout: TimeAmount

    public init(cluster: KubernetesCluster, timeout: TimeAmount = .seconds(30)) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca = cluster.caPEM {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(ca.utf8)))
        }
        if case .clientCertificate(let certificate, let key) = cluster.credential {
            tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certificate.utf8)).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(key.utf8), format: .pem))
        }
        self.cluster = cluster
        self.timeout = timeout
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    }

    public func shutdown() async throws {
        try await http.shutdown()
    }

    /// A client for the length of `body`, shut down after it whatever it throws.
    public static func with<T: Sendable>(
        _ cluster: KubernetesCluster, timeout: TimeAmount = .seconds(30), _ body: (KubernetesClient) async throws -> T
    ) async throws -> T {
        let client = try KubernetesClient(cluster: cluster, timeout: timeout)
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// The API server's version (`gitVersion`), which any authenticated caller may read: the health check.
    public func version() async throws -> String {
        let answer = try await send(.GET, "/version")
        guard case .object(let fields) = answer, case .string(let version)? = fields["gitVersion"] else { return "(unknown version)" }
        return version
    }

    // MARK: Objects

    /// Creates `object`; `KubernetesError` with reason `AlreadyExists` when one of its name is there.
    public func create(_ resource: KubernetesResource, namespace: String?, _ object: JSONValue) async throws -> JSONValue {
        try await send(.POST, resource.path(namespace: namespace), body: object)
    }

    /// The object, or nil when there is none.
    public func get(_ resource: KubernetesResource, namespace: String?, name: String) async throws -> JSONValue? {
        do {
            return try await send(.GET, resource.path(namespace: namespace, name: name))
        } catch let error as KubernetesError where error.status == 404 {
            return nil
        }
    }

    /// The objects, with `labelSelector` (`trellis/run=…`) and `fieldSelector` (`involvedObject.name=…`) when given,
    /// and the list's resource version (to watch from).
    public func list(
        _ resource: KubernetesResource, namespace: String?, labelSelector: String? = nil, fieldSelector: String? = nil
    ) async throws -> (items: [JSONValue], resourceVersion: String) {
        var query: [String] = []
        if let labelSelector { query.append("labelSelector=\(Self.queryEscaped(labelSelector))") }
        if let fieldSelector { query.append("fieldSelector=\(Self.queryEscaped(fieldSelector))") }
        let path = resource.path(namespace: namespace) + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        let answer = try await send(.GET, path)
        guard case .object(let list) = answer, case .array(let items)? = list["items"] else { return ([], "") }
        let version: String
        if case .object(let metadata)? = list["metadata"], case .string(let text)? = metadata["resourceVersion"] {
            version = text
        } else {
            version = ""
        }
        return (items, version)
    }

    /// A JSON merge patch (RFC 7386) of the object, or of its `status` subresource.
    public func patch(
        _ resource: KubernetesResource, namespace: String?, name: String, merge patch: JSONValue, subresource: String? = nil
    ) async throws -> JSONValue {
        try await send(
            .PATCH, resource.path(namespace: namespace, name: name, subresource: subresource), body: patch,
            contentType: "application/merge-patch+json")
    }

    /// Deletes the object; true when it was there.
    @discardableResult
    public func delete(_ resource: KubernetesResource, namespace: String?, name: String) async throws -> Bool {
        do {
            _ = try await send(.DELETE, resource.path(namespace: namespace, name: name))
            return true
        } catch let error as KubernetesError where error.status == 404 {
            return false
        }
    }

    /// Creates the namespace unless it exists.
    /// Creates the namespace with `labels`, or sets them on the namespace that is there.
    public func ensureNamespace(_ name: String, labels: [String: String] = [:]) async throws {
        let metadata: JSONValue = .object(["name": .string(name), "labels": .object(labels.mapValues(JSONValue.string))])
        do {
            _ = try await create(.namespaces, namespace: nil, .object(["metadata": metadata]))
        } catch let error as KubernetesError where error.status == 409 {
            guard !labels.isEmpty else { return }
            _ = try await patch(
                .namespaces, namespace: nil, name: name, merge: .object(["metadata": .object(["labels": metadata["labels"]!])]))
        }
    }

    // MARK: Streams

    /// The changes of the collection after `resourceVersion`, as they happen, until the server ends the watch (it
    /// does after a while: watch again from the last version seen).
    public func watch(
        _ resource: KubernetesResource, namespace: String?, resourceVersion: String, labelSelector: String? = nil
    ) -> AsyncThrowingStream<KubernetesWatchEvent, any Error> {
        var path = resource.path(namespace: namespace) + "?watch=1&allowWatchBookmarks=true&resourceVersion=\(resourceVersion)"
        if let labelSelector { path += "&labelSelector=\(Self.queryEscaped(labelSelector))" }
        return lines(path) { line in
            guard case .object(let event) = try JSONDecoder().decode(JSONValue.self, from: line), case .string(let type)? = event["type"]
            else { return nil }
            return KubernetesWatchEvent(type: type, object: event["object"] ?? .null)
        }
    }

    /// A pod's log (one container's when given), followed while the pod runs when `follow`; each line stamped with when
    /// it was written (RFC 3339, nanoseconds) when `timestamps`; at most `limitBytes` when given.
    public func logs(
        pod: String, namespace: String, container: String? = nil, follow: Bool = false, timestamps: Bool = false, limitBytes: Int? = nil
    ) -> AsyncThrowingStream<String, any Error> {
        var path = KubernetesResource.pods.path(namespace: namespace, name: pod, subresource: "log") + "?follow=\(follow)"
        if let container { path += "&container=\(Self.queryEscaped(container))" }
        if timestamps { path += "&timestamps=true" }
        if let limitBytes { path += "&limitBytes=\(limitBytes)" }
        return lines(path) { String(decoding: $0, as: UTF8.self) }
    }

    /// The answer to `GET path`, line by line, each turned into an element (nil: skipped).
    func lines<Element: Sendable>(
        _ path: String, _ element: @escaping @Sendable (Data) throws -> Element?
    ) -> AsyncThrowingStream<Element, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var request = HTTPClientRequest(url: cluster.server + path)
                    authorize(&request)
                    let response = try await http.execute(request, timeout: .hours(24))
                    guard response.status.code < 300 else {
                        throw Self.failure(response.status.code, try await response.body.collect(upTo: 1 << 20))
                    }
                    var pending = Data()
                    for try await chunk in response.body {
                        pending.append(contentsOf: chunk.readableBytesView)
                        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                            let line = pending[pending.startIndex..<newline]
                            pending = Data(pending[pending.index(after: newline)...])
                            if let value = try element(Data(line)) { continuation.yield(value) }
                        }
                    }
                    if !pending.isEmpty, let value = try element(pending) { continuation.yield(value) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    // MARK: Requests

    func authorize(_ request: inout HTTPClientRequest) {
        if case .token(let token) = cluster.credential { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.headers.add(name: "Accept", value: "application/json")
    }

    func send(
        _ method: HTTPMethod, _ path: String, body: JSONValue? = nil, contentType: String = "application/json"
    ) async throws -> JSONValue {
        var request = HTTPClientRequest(url: cluster.server + path)
        request.method = method
        authorize(&request)
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(body)))
        }
        let response = try await http.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 32 << 20)
        guard response.status.code < 300 else { throw Self.failure(response.status.code, bytes) }
        return try JSONDecoder().decode(JSONValue.self, from: Data(buffer: bytes))
    }

    /// The API server's `Status` (reason, message) of a refusal, or the bare status.
    static func failure(_ status: UInt, _ bytes: ByteBuffer) -> KubernetesError {
        let answer = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: bytes))
        var reason = "Unknown"
        var message = String(buffer: bytes)
        if case .object(let fields)? = answer {
            if case .string(let text)? = fields["reason"] { reason = text }
            if case .string(let text)? = fields["message"] { message = text }
        }
        return KubernetesError(status: Int(status), reason: reason, message: message)
    }

    static func queryEscaped(_ text: String) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
