import AsyncHTTPClient
import Foundation
import TrellisCore

/// A template version's status as the registry reports it.
public struct TemplateVersionStatus: Codable, Sendable, Equatable {
    public let version: String
    public let status: String

    public init(version: String, status: String) {
        self.version = version
        self.status = status
    }
}

/// How to log in to a container registry: from a project's images that have a password.
public struct RegistryCredential: Codable, Sendable, Equatable {
    /// The registry's host (`registry.example.com`, `docker.io`).
    public let registry: String
    public let username: String
    public let password: String

    public init(registry: String, username: String, password: String) {
        self.registry = registry
        self.username = username
        self.password = password
    }
}

/// What other services ask the template registry: in process in embedded mode, over HTTP in split mode. Both
/// answer with what the caller may see.
public protocol TemplateClient: Sendable {
    /// The versions of `name` the caller may see, newest first; empty when there are none.
    func versions(of name: String, caller: Caller) async throws -> [TemplateVersionStatus]
    /// One version's template, nil when the caller may not see it.
    func template(_ name: String, version: String, caller: Caller) async throws -> TemplateSpec?
    /// The registry logins of the project's images, asked on nobody's behalf: a run on Kubernetes pulls with them.
    func registryCredentials(ofProject project: String) async throws -> [RegistryCredential]
}

/// ``TemplateClient`` over HTTP, asking as the caller (the registry logins with the service token).
public struct HTTPTemplateClient: TemplateClient {
    let requests: ServiceRequests
    let serviceToken: ServiceToken

    public init(baseURL: String, httpClient: HTTPClient, serviceToken: ServiceToken) {
        requests = ServiceRequests(service: .templates, baseURL: baseURL, httpClient: httpClient)
        self.serviceToken = serviceToken
    }

    /// `GET /api/v1/internal/templates/projects/{project}/registries`, the service token's only.
    public static func registriesPath(_ project: String) -> String {
        "/api/v1/internal/templates/projects/\(ServiceRequests.escaped(project))/registries"
    }

    public func registryCredentials(ofProject project: String) async throws -> [RegistryCredential] {
        try await requests.get(Self.registriesPath(project), as: [RegistryCredential].self, token: serviceToken.value) ?? []
    }

    public func versions(of name: String, caller: Caller) async throws -> [TemplateVersionStatus] {
        struct Summary: Decodable { let versions: [TemplateVersionStatus] }
        let path = "/api/v1/templates/\(ServiceRequests.escaped(name))"
        return try await requests.get(path, as: Summary.self, caller: caller.token)?.versions ?? []
    }

    public func template(_ name: String, version: String, caller: Caller) async throws -> TemplateSpec? {
        struct Version: Decodable { let spec: TemplateSpec }
        let path = "/api/v1/templates/\(ServiceRequests.escaped(name))/versions/\(ServiceRequests.escaped(version))"
        return try await requests.get(path, as: Version.self, caller: caller.token)?.spec
    }
}
