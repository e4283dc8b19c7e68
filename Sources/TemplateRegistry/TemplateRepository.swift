import Foundation
import SQLKit
import TrellisCore
import TrellisStore

/// A template row: its name and where it belongs.
public struct TemplateRecord: Sendable, Equatable {
    public let id: String
    public let name: String
    public let project: String?
    public let builtin: Bool
}

/// A version row with its template's name.
public struct VersionRecord: Sendable, Equatable {
    public let templateID: String
    public let version: TemplateVersion
}

/// The registry's tables: `templates_templates` and `templates_versions` (migrations/templates).
public protocol TemplateRepository: Sendable {
    func template(named name: String) async throws -> TemplateRecord?
    /// Up to `limit` templates named after `after`, by name (only `project`'s when it is set), each with its versions
    /// newest first: two queries, whatever the count.
    func templates(inProject project: String?, after: String?, limit: Int) async throws -> [(TemplateRecord, [VersionRecord])]
    /// The template's versions, newest first.
    func versions(of template: TemplateRecord) async throws -> [VersionRecord]
    /// Creates the template when it is new, and inserts or replaces the version `version` (a draft).
    func save(_ version: TemplateVersion, template: TemplateRecord) async throws
    func setStatus(_ status: VersionStatus, template: TemplateRecord, version: String, at date: Date) async throws
    func setDeprecated(_ message: String?, template: TemplateRecord, version: String) async throws
    /// A deleted project's templates: drafts go; a template with versions other projects may use (published or
    /// unpublished) is handed to the platform — no project, every kept version deprecated — so their pipelines
    /// keep working; a template left with no version goes.
    func release(ofProject project: String) async throws
}

/// ``TemplateRepository`` in SQL, the same on SQLite and PostgreSQL.
public struct SQLTemplateRepository: TemplateRepository {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    struct TemplateRow: Decodable {
        let id: String, name: String, project: String?, builtin: Bool
        var record: TemplateRecord { TemplateRecord(id: id, name: name, project: project, builtin: builtin) }
    }

    struct VersionRow: Decodable {
        let template_id: String, version: String, spec: String, status: String, deprecated: String?
        let created_by: String, created_at: Int64, published_at: Int64?
    }

    public func template(named name: String) async throws -> TemplateRecord? {
        try await database.read { sql in
            try await sql.select().columns("id", "name", "project", "builtin").from("templates_templates")
                .where("name", .equal, name).first(decoding: TemplateRow.self)?.record
        }
    }

    public func templates(inProject project: String?, after: String?, limit: Int) async throws -> [(TemplateRecord, [VersionRecord])] {
        let (templates, versionRows) = try await database.snapshot { sql in
            var query = sql.select().columns("id", "name", "project", "builtin").from("templates_templates")
                .where("name", .greaterThan, after ?? "")
            if let project { query = query.where("project", .equal, project) }
            let templates = try await query.orderBy("name").limit(limit).all(decoding: TemplateRow.self).map(\.record)
            guard !templates.isEmpty else { return (templates, [VersionRow]()) }
            let versions = try await sql.select().columns("*").from("templates_versions").where("template_id", .in, templates.map(\.id))
                .all(decoding: VersionRow.self)
            return (templates, versions)
        }
        let byTemplate = Dictionary(grouping: versionRows, by: \.template_id)
        return try templates.map { template in (template, try Self.newestFirst(byTemplate[template.id] ?? [], of: template)) }
    }

    public func versions(of template: TemplateRecord) async throws -> [VersionRecord] {
        let rows = try await database.read { sql in
            try await sql.select().columns("*").from("templates_versions").where("template_id", .equal, template.id)
                .all(decoding: VersionRow.self)
        }
        return try Self.newestFirst(rows, of: template)
    }

    static func newestFirst(_ rows: [VersionRow], of template: TemplateRecord) throws -> [VersionRecord] {
        try rows.map { row in
            let spec = try JSONDecoder().decode(TemplateSpec.self, from: Data(row.spec.utf8))
            return VersionRecord(
                templateID: row.template_id,
                version: TemplateVersion(
                    template: template.name, version: row.version, status: VersionStatus(rawValue: row.status) ?? .draft,
                    deprecated: row.deprecated, createdBy: row.created_by, createdAt: .fromMilliseconds(row.created_at),
                    publishedAt: row.published_at.map(Date.fromMilliseconds), spec: spec
                )
            )
        }
        // Each version string is parsed once.
        .map { ((try? SemanticVersion(parsing: $0.version.version)) ?? .zero, $0) }
        .sorted { $0.0 > $1.0 }
        .map(\.1)
    }

    public func save(_ version: TemplateVersion, template: TemplateRecord) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let spec = String(decoding: try encoder.encode(version.spec), as: UTF8.self)
        try await database.transaction { sql in
            let existing = try await sql.select().columns("id", "name", "project", "builtin").from("templates_templates")
                .where("name", .equal, template.name).first(decoding: TemplateRow.self)
            if existing == nil {
                try await sql.insert(into: "templates_templates")
                    .columns("id", "name", "project", "builtin", "created_by", "created_at")
                    .values(
                        SQLBind(template.id), SQLBind(template.name), SQLBind(template.project), SQLBind(template.builtin),
                        SQLBind(version.createdBy), SQLBind(version.createdAt.milliseconds)
                    ).run()
            }
            try await sql.delete(from: "templates_versions").where("template_id", .equal, template.id)
                .where("version", .equal, version.version).where("status", .equal, VersionStatus.draft.rawValue).run()
            try await sql.insert(into: "templates_versions")
                .columns(
                    "template_id", "version", "spec", "category", "description", "status", "deprecated", "created_by", "created_at",
                    "published_at"
                )
                .values(
                    SQLBind(template.id), SQLBind(version.version), SQLBind(spec), SQLBind(version.spec.category ?? ""),
                    SQLBind(version.spec.description ?? ""), SQLBind(version.status.rawValue), SQLBind(version.deprecated),
                    SQLBind(version.createdBy), SQLBind(version.createdAt.milliseconds), SQLBind(version.publishedAt?.milliseconds)
                ).run()
        }
    }

    public func setStatus(_ status: VersionStatus, template: TemplateRecord, version: String, at date: Date) async throws {
        try await database.read { sql in
            var update = sql.update("templates_versions").set("status", to: SQLBind(status.rawValue))
            if status == .published { update = update.set("published_at", to: SQLBind(date.milliseconds)) }
            try await update.where("template_id", .equal, template.id).where("version", .equal, version).run()
        }
    }

    public func release(ofProject project: String) async throws {
        let notice = "its project \(project) was deleted; the platform keeps this version for the pipelines that use it"
        try await database.transaction { sql in
            let templates = try await sql.select().column("id").from("templates_templates").where("project", .equal, project).all()
            for row in templates {
                let id = try row.decode(column: "id", as: String.self)
                try await sql.delete(from: "templates_versions").where("template_id", .equal, id)
                    .where("status", .equal, VersionStatus.draft.rawValue).run()
                let kept = try await sql.select().column("version").from("templates_versions").where("template_id", .equal, id).first()
                if kept == nil {
                    try await sql.delete(from: "templates_templates").where("id", .equal, id).run()
                } else {
                    try await sql.update("templates_templates").set("project", to: SQLLiteral.null).where("id", .equal, id).run()
                    try await sql.update("templates_versions").set("deprecated", to: SQLBind(notice)).where("template_id", .equal, id)
                        .where("deprecated", .is, SQLLiteral.null).run()
                }
            }
        }
    }

    public func setDeprecated(_ message: String?, template: TemplateRecord, version: String) async throws {
        try await database.read { sql in
            try await sql.update("templates_versions").set("deprecated", to: SQLBind(message))
                .where("template_id", .equal, template.id).where("version", .equal, version).run()
        }
    }
}

extension SemanticVersion {
    static let zero = try! SemanticVersion(parsing: "0.0.0")
}
