import Foundation
import TrellisCore
import Yams

/// A cluster's connection taken from one context of a kubeconfig file: the server, its CA, the user's token or client
/// certificate, and the context's namespace. Only what can be stored is taken: inline data (`*-data`), not file
/// paths, exec plugins or auth providers; and the server's certificate is always verified.
struct Kubeconfig {
    var server: String
    var caPEM: String?
    var credential: ClusterCredential
    var namespace: String?

    /// Reads `context` (the file's current context when nil) of the kubeconfig `text`; errors name `kubeconfig` or
    /// `context` and the entry at fault.
    init(_ text: String, context wanted: String?) throws(ValidationError) {
        let document: Any?
        do {
            document = try Yams.load(yaml: text)
        } catch {
            throw ValidationError(field: "kubeconfig", "is not YAML: \(error)")
        }
        guard let root = document as? [String: Any] else { throw ValidationError(field: "kubeconfig", "must be a kubeconfig file") }
        guard let name = wanted ?? root["current-context"] as? String else {
            throw ValidationError(field: "context", "the kubeconfig has no current-context: name one")
        }
        let context = try Self.entry(root, "contexts", named: name, field: "context")
        guard let clusterName = context["cluster"] as? String, let userName = context["user"] as? String else {
            throw ValidationError(field: "kubeconfig", "context \"\(name)\" names no cluster or no user")
        }
        let cluster = try Self.entry(root, "clusters", named: clusterName, field: "kubeconfig")
        let user = try Self.entry(root, "users", named: userName, field: "kubeconfig")
        guard let server = cluster["server"] as? String else {
            throw ValidationError(field: "kubeconfig", "cluster \"\(clusterName)\" has no server")
        }
        if cluster["certificate-authority"] != nil || user["client-certificate"] != nil || user["client-key"] != nil
            || user["tokenFile"] != nil
        {
            throw ValidationError(field: "kubeconfig", "file paths cannot be registered: inline them (certificate-authority-data, …)")
        }
        if user["exec"] != nil || user["auth-provider"] != nil {
            throw ValidationError(
                field: "kubeconfig", "user \"\(userName)\" logs in through a plugin: give a token or a client certificate")
        }
        if cluster["insecure-skip-tls-verify"] as? Bool == true, cluster["certificate-authority-data"] == nil {
            throw ValidationError(
                field: "kubeconfig",
                "cluster \"\(clusterName)\" skips TLS verification: Trellis always verifies; add certificate-authority-data")
        }
        self.server = server
        caPEM = try Self.decoded(cluster["certificate-authority-data"], "certificate-authority-data")
        credential = ClusterCredential(
            token: user["token"] as? String, certificate: try Self.decoded(user["client-certificate-data"], "client-certificate-data"),
            key: try Self.decoded(user["client-key-data"], "client-key-data"))
        namespace = context["namespace"] as? String
    }

    /// The `name`d item of a list of `{name, <kind>: {...}}`, its inner object.
    static func entry(_ root: [String: Any], _ list: String, named name: String, field: String) throws(ValidationError) -> [String: Any] {
        let items = root[list] as? [[String: Any]] ?? []
        let inner = String(list.dropLast())
        guard let item = items.first(where: { $0["name"] as? String == name }), let object = item[inner] as? [String: Any] else {
            let known = items.compactMap { $0["name"] as? String }.joined(separator: ", ")
            throw ValidationError(field: field, "the kubeconfig has no \(inner) named \"\(name)\" (it has: \(known))")
        }
        return object
    }

    static func decoded(_ value: Any?, _ key: String) throws(ValidationError) -> String? {
        guard let text = value as? String else { return nil }
        guard let data = Data(base64Encoded: text, options: .ignoreUnknownCharacters) else {
            throw ValidationError(field: "kubeconfig", "\(key) is not base64")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
