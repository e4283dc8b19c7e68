import Foundation
import Hummingbird
import SQLKit
import ServiceContracts
import TrellisCore
import TrellisHTTP
import TrellisStore

/// A cluster as the API shows it: never its credentials, only whether it has them.
struct ClusterView: Codable, Sendable, Equatable, ResponseEncodable {
    /// `local` (this machine's processes) or `kubernetes`.
    let name: String
    let kind: String
    let server: String?
    let namespace: String?
    let hasCA: Bool
    let credentials: String?
    /// The Prometheus that scrapes its pods' resource use (cAdvisor's and DCGM's series); nil: none, pods show no use.
    var prometheus: String?
    let createdBy: String
    let createdAt: Date
    /// Shown to platform admins only: it names the projects the cluster is granted to.
    var policy: ClusterPolicy?

    /// The built-in cluster every project is bound to until its owner chooses another.
    static let local = ClusterView(
        name: "local", kind: "local", server: nil, namespace: nil, hasCA: false, credentials: nil, createdBy: "trellis",
        createdAt: Date(timeIntervalSince1970: 0))
}

/// What is stored of a cluster: its view, its CA and its sealed credentials (a token, or a client certificate and key).
struct ClusterRecord: Sendable {
    var view: ClusterView
    var ca: String?
    var credentialSealed: String?
    var policy: ClusterPolicy
}

extension ClusterRecord {
    /// Where the Kubernetes API server is and the credentials, unsealed; nil for a local cluster.
    func kubernetes(secrets: SecretBox) throws -> KubernetesCluster? {
        guard view.kind == ClusterKind.kubernetes.rawValue, let server = view.server, let sealed = credentialSealed else { return nil }
        let credential = try JSONDecoder().decode(ClusterCredential.self, from: Data(try secrets.open(sealed).utf8))
        return KubernetesCluster(
            server: server, caPEM: ca,
            credential: credential.token.map { .token($0) }
                ?? .clientCertificate(certificatePEM: credential.certificate ?? "", keyPEM: credential.key ?? ""))
    }
}

/// The credentials of a Kubernetes cluster, as sealed at rest.
struct ClusterCredential: Codable, Sendable {
    var token: String?
    var certificate: String?
    var key: String?
}

struct ClusterRepository: Sendable {
    let database: Database

    struct Row: Decodable {
        let name: String, kind: String, server: String?, namespace: String?, ca: String?, credential_sealed: String?
        let created_by: String, created_at: Int64, prometheus: String?
    }

    func record(_ row: Row, policy: ClusterPolicy?) -> ClusterRecord {
        let credentials = row.credential_sealed == nil ? nil : "sealed"
        return ClusterRecord(
            view: ClusterView(
                name: row.name, kind: row.kind, server: row.server, namespace: row.namespace, hasCA: row.ca != nil,
                credentials: credentials, prometheus: row.prometheus, createdBy: row.created_by,
                createdAt: .fromMilliseconds(row.created_at)),
            ca: row.ca, credentialSealed: row.credential_sealed,
            policy: policy ?? (row.kind == ClusterKind.local.rawValue ? .localDefault : .kubernetesDefault))
    }

    func clusters() async throws -> [ClusterRecord] {
        let rows = try await database.read { sql in
            try await sql.select().columns("*").from("cluster_gateway_clusters").orderBy("name").all(decoding: Row.self)
        }
        let policies = try await self.policies()
        return rows.map { record($0, policy: policies[$0.name]) }
    }

    func cluster(named name: String) async throws -> ClusterRecord? {
        guard
            let row = try await database.read({ sql in
                try await sql.select().columns("*").from("cluster_gateway_clusters").where("name", .equal, name).first(decoding: Row.self)
            })
        else { return nil }
        return record(row, policy: try await policy(of: name))
    }

    /// The policy an admin set for the cluster (`local` included); nil: its kind's default.
    func policy(of cluster: String) async throws -> ClusterPolicy? {
        try await database.read { sql in
            try await sql.select().column("policy").from("cluster_gateway_policies").where("cluster", .equal, cluster)
                .first(decodingColumn: "policy", as: String.self)
        }.map { try JSONDecoder().decode(ClusterPolicy.self, from: Data($0.utf8)) }
    }

    private func policies() async throws -> [String: ClusterPolicy] {
        let rows = try await database.read { sql in
            try await sql.select().columns("cluster", "policy").from("cluster_gateway_policies").all()
        }
        var policies: [String: ClusterPolicy] = [:]
        for row in rows {
            let text = try row.decode(column: "policy", as: String.self)
            policies[try row.decode(column: "cluster", as: String.self)] = try JSONDecoder().decode(
                ClusterPolicy.self, from: Data(text.utf8))
        }
        return policies
    }

    func setPolicy(_ policy: ClusterPolicy, of cluster: String) async throws {
        let text = String(decoding: try JSONEncoder().encode(policy), as: UTF8.self)
        try await database.transaction { sql in
            try await sql.delete(from: "cluster_gateway_policies").where("cluster", .equal, cluster).run()
            try await sql.insert(into: "cluster_gateway_policies").columns("cluster", "policy").values(SQLBind(cluster), SQLBind(text))
                .run()
        }
    }

    /// Registers a cluster; false when the name is taken.
    func create(_ cluster: ClusterRecord) async throws -> Bool {
        try await database.transaction { sql in
            guard
                try await sql.select().column("name").from("cluster_gateway_clusters").where("name", .equal, cluster.view.name).first()
                    == nil
            else { return false }
            try await sql.insert(into: "cluster_gateway_clusters")
                .columns("name", "kind", "server", "namespace", "ca", "credential_sealed", "created_by", "created_at", "prometheus")
                .values(
                    SQLBind(cluster.view.name), SQLBind(cluster.view.kind), SQLBind(cluster.view.server), SQLBind(cluster.view.namespace),
                    SQLBind(cluster.ca), SQLBind(cluster.credentialSealed), SQLBind(cluster.view.createdBy),
                    SQLBind(cluster.view.createdAt.milliseconds), SQLBind(cluster.view.prometheus)
                ).run()
            try await sql.delete(from: "cluster_gateway_policies").where("cluster", .equal, cluster.view.name).run()
            try await sql.insert(into: "cluster_gateway_policies").columns("cluster", "policy")
                .values(SQLBind(cluster.view.name), SQLBind(String(decoding: try JSONEncoder().encode(cluster.policy), as: UTF8.self)))
                .run()
            return true
        }
    }

    func delete(_ name: String) async throws -> Bool {
        try await database.transaction { sql in
            guard try await sql.select().column("name").from("cluster_gateway_clusters").where("name", .equal, name).first() != nil else {
                return false
            }
            try await sql.delete(from: "cluster_gateway_clusters").where("name", .equal, name).run()
            try await sql.delete(from: "cluster_gateway_policies").where("cluster", .equal, name).run()
            return true
        }
    }
}

/// `/api/v1/clusters`: platform admins register and remove clusters and check their health; every user sees their
/// names (project owners bind their projects to one). Credentials go in and never come out.
struct ClusterController: Sendable {
    let repository: ClusterRepository
    let secrets: SecretBox
    let now: @Sendable () -> Date

    func addRoutes(to routes: RouterGroup<TrellisRequestContext>) {
        routes.get("clusters", use: list)
        routes.post("clusters", use: register)
        routes.delete("clusters/:cluster", use: delete)
        routes.get("clusters/:cluster/health", use: health)
        routes.get("clusters/:cluster/policy", use: policy)
        routes.put("clusters/:cluster/policy", use: setPolicy)
    }

    struct ClusterList: ResponseEncodable {
        let clusters: [ClusterView]
    }

    /// Every user sees the clusters' names and kinds; admins also their policies.
    @Sendable func list(_ request: Request, context: TrellisRequestContext) async throws -> ClusterList {
        let admin = try context.requireUser().isAdmin
        var local = ClusterView.local
        local.policy = admin ? try await repository.policy(of: local.name) ?? .localDefault : nil
        let registered = try await repository.clusters().map { record in
            var view = record.view
            view.policy = admin ? record.policy : nil
            return view
        }
        return ClusterList(clusters: [local] + registered)
    }

    /// `GET /api/v1/clusters/{cluster}/policy` (admins): the projects granted and what their pods may ask.
    @Sendable func policy(_ request: Request, context: TrellisRequestContext) async throws -> ClusterPolicy {
        _ = try context.requireAdmin(for: "managing clusters")
        let name = try context.parameters.require("cluster")
        if name == ClusterView.local.name { return try await repository.policy(of: name) ?? .localDefault }
        guard let record = try await repository.cluster(named: name) else { throw APIError.notFound("no cluster named \"\(name)\"") }
        return record.policy
    }

    /// `PUT /api/v1/clusters/{cluster}/policy` (admins): replaces the policy; absent fields take the strict defaults (no
    /// project, restricted, nothing allowed).
    @Sendable func setPolicy(_ request: Request, context: TrellisRequestContext) async throws -> ClusterPolicy {
        _ = try context.requireAdmin(for: "managing clusters")
        let name = try context.parameters.require("cluster")
        if name != ClusterView.local.name, try await repository.cluster(named: name) == nil {
            throw APIError.notFound("no cluster named \"\(name)\"")
        }
        let policy = try await request.decode(as: ClusterPolicy.self, context: context)
        let problems = policy.problems()
        guard problems.isEmpty else { throw ValidationErrors(problems) }
        try await repository.setPolicy(policy, of: name)
        context.logger.notice(
            "cluster policy set",
            metadata: [
                "cluster": .string(name), "level": .string(policy.level.rawValue),
                "projects": .string(policy.projects.joined(separator: ",")),
            ])
        return policy
    }

    struct RegisterRequest: Decodable {
        let name: String
        let kind: String?
        let server: String?
        let namespace: String?
        /// PEM of the CA that signs the API server's certificate (default: the system's CAs).
        let ca: String?
        let token: String?
        let clientCertificate: String?
        let clientKey: String?
        /// Or all of the above from one context of a kubeconfig file (its current context unless `context` is given).
        let kubeconfig: String?
        let context: String?
        /// The Prometheus (http:// or https://) that scrapes the cluster's pods, for their resource use.
        var prometheus: String? = nil
        /// The projects granted and what their pods may ask; default: none, restricted (every project for kind local).
        var policy: ClusterPolicy? = nil
    }

    @Sendable func register(_ request: Request, context: TrellisRequestContext) async throws -> EditedResponse<ClusterView> {
        let user = try context.requireAdmin(for: "managing clusters")
        var body = try await request.decode(as: RegisterRequest.self, context: context)
        var problems: [ValidationError] = []
        problems.record { () throws(ValidationError) in try Names.validateResourceName(body.name, field: "name") }
        if body.name == "local" { problems.append(ValidationError(field: "name", "\"local\" is the built-in cluster")) }
        let kind = body.kind ?? "kubernetes"
        if let kubeconfig = body.kubeconfig {
            if body.server != nil || body.ca != nil || body.token != nil || body.clientCertificate != nil || body.clientKey != nil {
                problems.append(ValidationError(field: "kubeconfig", "give a kubeconfig, or server and credentials, not both"))
            }
            problems.record { () throws(ValidationError) in
                let found = try Kubeconfig(kubeconfig, context: body.context)
                body = RegisterRequest(
                    name: body.name, kind: body.kind, server: found.server, namespace: body.namespace ?? found.namespace, ca: found.caPEM,
                    token: found.credential.token, clientCertificate: found.credential.certificate, clientKey: found.credential.key,
                    kubeconfig: nil, context: nil, prometheus: body.prometheus, policy: body.policy)
            }
        }
        var credential = ClusterCredential()
        switch kind {
        case "local":
            if body.server != nil || body.token != nil || body.clientCertificate != nil || body.kubeconfig != nil {
                problems.append(ValidationError(field: "kind", "a local cluster has no server or credentials"))
            }
            if body.prometheus != nil {
                problems.append(ValidationError(field: "prometheus", "a local cluster's tasks are sampled by their supervisors"))
            }
        case "kubernetes" where body.kubeconfig != nil:
            break  // The kubeconfig could not be read: its problem is recorded.
        case "kubernetes":
            let url = body.server.flatMap { URL(string: $0) }
            if url?.scheme != "https" || url?.host == nil {
                problems.append(ValidationError(field: "server", "must be the API server's https:// URL"))
            }
            if let namespace = body.namespace {
                problems.record { () throws(ValidationError) in try Names.validateResourceName(namespace, field: "namespace") }
            }
            switch (body.token, body.clientCertificate, body.clientKey) {
            case (let token?, nil, nil) where !token.isEmpty: credential.token = token
            case (nil, let certificate?, let key?):
                credential.certificate = certificate
                credential.key = key
            default:
                problems.append(ValidationError(field: "token", "give a token, or clientCertificate and clientKey"))
            }
            if let ca = body.ca, !ca.contains("BEGIN CERTIFICATE") {
                problems.append(ValidationError(field: "ca", "must be PEM (-----BEGIN CERTIFICATE-----)"))
            }
        default:
            problems.append(ValidationError(field: "kind", "must be local or kubernetes, got \"\(kind)\""))
        }
        if let prometheus = body.prometheus {
            let url = URL(string: prometheus)
            let valid = ["http", "https"].contains(url?.scheme ?? "") && url?.host != nil && url?.query == nil && url?.user == nil
            if !valid {
                problems.append(ValidationError(field: "prometheus", "must be the Prometheus server's http:// or https:// URL"))
            }
        }
        problems += body.policy?.problems() ?? []
        guard problems.isEmpty else { throw ValidationErrors(problems) }
        let sealed =
            kind == "kubernetes" ? try secrets.seal(String(decoding: try JSONEncoder().encode(credential), as: UTF8.self)) : nil
        let record = ClusterRecord(
            view: ClusterView(
                name: body.name, kind: kind, server: body.server, namespace: body.namespace ?? (kind == "kubernetes" ? "default" : nil),
                hasCA: body.ca != nil, credentials: sealed == nil ? nil : "sealed", prometheus: body.prometheus, createdBy: user.username,
                createdAt: now()),
            ca: body.ca, credentialSealed: sealed, policy: body.policy ?? (kind == "local" ? .localDefault : .kubernetesDefault))
        guard try await repository.create(record) else { throw APIError.conflict("a cluster named \"\(body.name)\" exists") }
        context.logger.notice("cluster registered", metadata: ["cluster": .string(body.name), "kind": .string(kind)])
        var view = record.view
        view.policy = record.policy
        return EditedResponse(status: .created, response: view)
    }

    @Sendable func delete(_ request: Request, context: TrellisRequestContext) async throws -> HTTPResponse.Status {
        _ = try context.requireAdmin(for: "managing clusters")
        let name = try context.parameters.require("cluster")
        guard try await repository.delete(name) else { throw APIError.notFound("no cluster named \"\(name)\"") }
        return .noContent
    }

    struct Health: ResponseEncodable {
        let cluster: String
        let ok: Bool
        let message: String
    }

    /// Whether Trellis can reach the cluster with its credentials: the API server's `/version` for Kubernetes.
    @Sendable func health(_ request: Request, context: TrellisRequestContext) async throws -> Health {
        _ = try context.requireAdmin(for: "managing clusters")
        let name = try context.parameters.require("cluster")
        if name == "local" { return Health(cluster: name, ok: true, message: "tasks run as local processes") }
        guard let record = try await repository.cluster(named: name) else { throw APIError.notFound("no cluster named \"\(name)\"") }
        guard let kubernetes = try record.kubernetes(secrets: secrets) else {
            return Health(cluster: name, ok: true, message: "tasks run as local processes")
        }
        let namespace = record.view.namespace ?? "default"
        do {
            return try await KubernetesClient.with(kubernetes, timeout: .seconds(10)) { client in
                let version = try await client.version()
                // Argo's Workflow kind must be there, and the credentials allowed to use it.
                _ = try await client.list(.workflows, namespace: namespace)
                return Health(
                    cluster: name, ok: true, message: "Kubernetes \(version); Argo Workflows can be listed in namespace \(namespace)")
            }
        } catch let error as KubernetesError where error.status == 404 {
            return Health(cluster: name, ok: false, message: "Argo Workflows is not installed: \(error)")
        } catch {
            return Health(cluster: name, ok: false, message: "\(error)")
        }
    }
}

extension ClusterPolicy: ResponseEncodable {}
