import Foundation
import Hummingbird
import SQLKit
import ServiceContracts
import TrellisCore
import TrellisHTTP
import TrellisStore

/// A named image of a project, as the API shows it: the registry password is never included.
public struct ImageView: Codable, Sendable, Equatable, ResponseEncodable {
    public let name: String
    public let reference: String
    public let registry: String
    public let username: String
    public let hasPassword: Bool
    public let createdBy: String
    public let createdAt: Date
}

/// A stored image row; `passwordSealed` is the encrypted password.
public struct ImageRecord: Sendable, Equatable {
    public let project: String
    public let view: ImageView
    public let passwordSealed: String?
}

public protocol ImageRepository: Sendable {
    func images(inProject project: String) async throws -> [ImageRecord]
    /// Inserts or replaces the image of that name; true when it was new.
    func save(_ image: ImageRecord) async throws -> Bool
    func delete(name: String, project: String) async throws -> Bool
    /// Deletes every image of a deleted project, with its sealed registry login.
    func deleteAll(ofProject project: String) async throws
}

public struct SQLImageRepository: ImageRepository {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    struct Row: Decodable {
        let project: String, name: String, reference: String, registry: String, username: String
        let password_sealed: String?, created_by: String, created_at: Int64
    }

    public func images(inProject project: String) async throws -> [ImageRecord] {
        try await database.read { sql in
            try await sql.select().columns("*").from("templates_images").where("project", .equal, project).orderBy("name")
                .all(decoding: Row.self)
        }.map { row in
            ImageRecord(
                project: row.project,
                view: ImageView(
                    name: row.name, reference: row.reference, registry: row.registry, username: row.username,
                    hasPassword: row.password_sealed != nil, createdBy: row.created_by, createdAt: .fromMilliseconds(row.created_at)
                ),
                passwordSealed: row.password_sealed
            )
        }
    }

    public func save(_ image: ImageRecord) async throws -> Bool {
        try await database.transaction { sql in
            let deleted = try await sql.select().column("id").from("templates_images")
                .where("project", .equal, image.project).where("name", .equal, image.view.name).first()
            try await sql.delete(from: "templates_images").where("project", .equal, image.project).where("name", .equal, image.view.name)
                .run()
            try await sql.insert(into: "templates_images")
                .columns("id", "project", "name", "reference", "registry", "username", "password_sealed", "created_by", "created_at")
                .values(
                    SQLBind(UUID().uuidString.lowercased()), SQLBind(image.project), SQLBind(image.view.name),
                    SQLBind(image.view.reference),
                    SQLBind(image.view.registry), SQLBind(image.view.username), SQLBind(image.passwordSealed),
                    SQLBind(image.view.createdBy),
                    SQLBind(image.view.createdAt.milliseconds)
                ).run()
            return deleted == nil
        }
    }

    public func deleteAll(ofProject project: String) async throws {
        try await database.read { sql in try await sql.delete(from: "templates_images").where("project", .equal, project).run() }
    }

    public func delete(name: String, project: String) async throws -> Bool {
        try await database.transaction { sql in
            let found = try await sql.select().column("id").from("templates_images").where("project", .equal, project).where(
                "name", .equal, name
            ).first()
            try await sql.delete(from: "templates_images").where("project", .equal, project).where("name", .equal, name).run()
            return found != nil
        }
    }
}

/// `…/projects/{project}/images`: named images with registry credentials. Developers add and remove them; every
/// member lists them; nobody reads a password back.
struct ImageController<Repository: ImageRepository>: Sendable {
    let repository: Repository
    let secrets: SecretBox
    let access: ProjectAccess
    let now: @Sendable () -> Date

    func addRoutes(to routes: RouterGroup<TrellisRequestContext>) {
        routes.get("projects/:project/images", use: list)
        routes.post("projects/:project/images", use: save)
        routes.delete("projects/:project/images/:name", use: delete)
    }

    struct ImageList: ResponseEncodable {
        let images: [ImageView]
    }

    struct SaveRequest: Decodable {
        let name: String
        let reference: String
        let registry: String?
        let username: String?
        let password: String?
    }

    @Sendable func list(_ request: Request, context: TrellisRequestContext) async throws -> ImageList {
        let project = try context.parameters.require("project")
        try await access.require(.read, in: project, context: context)
        return ImageList(images: try await repository.images(inProject: project).map(\.view))
    }

    @Sendable func save(_ request: Request, context: TrellisRequestContext) async throws -> EditedResponse<ImageView> {
        let project = try context.parameters.require("project")
        try await access.require(.manageTemplates, in: project, context: context)
        let body = try await request.decode(as: SaveRequest.self, context: context)
        try Names.validateResourceName(body.name, field: "name")
        guard !body.reference.isEmpty, !body.reference.contains(" ") else {
            throw ValidationError(field: "reference", "must be an image reference such as registry.example.com/team/trainer:1.2")
        }
        if body.password != nil, (body.username ?? "").isEmpty {
            throw ValidationError(field: "username", "is required with a password")
        }
        let view = ImageView(
            name: body.name, reference: body.reference, registry: body.registry ?? "", username: body.username ?? "",
            hasPassword: body.password != nil, createdBy: try context.requireUser().username, createdAt: now()
        )
        let created = try await repository.save(
            ImageRecord(project: project, view: view, passwordSealed: try body.password.map(secrets.seal))
        )
        return EditedResponse(status: created ? .created : .ok, response: view)
    }

    /// The logins of the project's images that have a password, one per registry, unsealed.
    func credentials(ofProject project: String) async throws -> [RegistryCredential] {
        var logins: [String: RegistryCredential] = [:]
        for image in try await repository.images(inProject: project) {
            guard let sealed = image.passwordSealed else { continue }
            let registry = image.view.registry.isEmpty ? Self.registry(of: image.view.reference) : image.view.registry
            logins[registry] = RegistryCredential(registry: registry, username: image.view.username, password: try secrets.open(sealed))
        }
        return logins.keys.sorted().compactMap { logins[$0] }
    }

    /// The registry of a reference: its first part when it names a host (has a `.` or `:`, or is localhost), else
    /// Docker Hub.
    static func registry(of reference: String) -> String {
        let first = reference.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        let isHost = reference.contains("/") && (first.contains(".") || first.contains(":") || first == "localhost")
        return isHost ? first : "docker.io"
    }

    struct Registries: ResponseEncodable {
        let logins: [RegistryCredential]
        func encode(to encoder: any Encoder) throws { try logins.encode(to: encoder) }
    }

    /// The internal route (service token): the logins a run on Kubernetes pulls its images with.
    @Sendable func registries(_ request: Request, context: TrellisRequestContext) async throws -> Registries {
        Registries(logins: try await credentials(ofProject: try context.parameters.require("project")))
    }

    @Sendable func delete(_ request: Request, context: TrellisRequestContext) async throws -> HTTPResponse.Status {
        let project = try context.parameters.require("project")
        try await access.require(.manageTemplates, in: project, context: context)
        let name = try context.parameters.require("name")
        guard try await repository.delete(name: name, project: project) else {
            throw APIError.notFound("project \(project) has no image named \"\(name)\"")
        }
        return .noContent
    }
}
