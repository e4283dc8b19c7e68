import Foundation
import SQLKit
import TrellisCore
import TrellisStore

/// A pipeline row.
public struct PipelineRecord: Sendable, Equatable {
    public let id: String
    public let project: String
    public let name: String
    public let currentVersion: Int
    public let updatedAt: Date
}

/// The store's tables: `pipelines_pipelines`, `pipelines_versions`, `pipelines_layouts`, and the schedule feed
/// `pipelines_schedules` (migrations/pipelines).
public protocol PipelineRepository: Sendable {
    func pipeline(named name: String, project: String) async throws -> PipelineRecord?
    /// Up to `limit` of the project's pipelines named after `after`, by name, each with its current version: one query.
    func summaries(inProject project: String, after: String?, limit: Int) async throws -> [PipelineSummary]
    func versions(of pipeline: PipelineRecord) async throws -> [PipelineVersion]
    func version(_ number: Int, of pipeline: PipelineRecord) async throws -> PipelineVersion?
    /// Saves `version` as the pipeline's newest, creating the pipeline when `existing` is nil. Throws
    /// ``PipelineError/concurrentChange(_:)`` when another save got there first.
    func save(_ version: PipelineVersion, project: String, existing: PipelineRecord?) async throws
    /// Deletes the pipeline, its versions and layout; its schedule is removed from the feed.
    func delete(_ pipeline: PipelineRecord, by user: String, at instant: Int64) async throws
    /// Deletes every pipeline of a deleted project, removing their schedules from the feed.
    func deleteAll(ofProject project: String, at instant: Int64) async throws
    /// Version → how many pipelines (their current versions, in every project) are pinned to `template` at it.
    func templateUsage(_ template: String) async throws -> [String: Int]
    func layout(of pipeline: PipelineRecord) async throws -> JSONValue?
    func setLayout(_ layout: JSONValue, of pipeline: PipelineRecord, at date: Date) async throws
    /// Schedule changes after `revision`, oldest first (the scheduler's feed).
    func scheduleChanges(after revision: Int64, limit: Int) async throws -> [ScheduleChange]
}

public struct SQLPipelineRepository: PipelineRepository {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    struct Row: Decodable {
        let id: String, project: String, name: String, current_version: Int, updated_at: Int64
        var record: PipelineRecord {
            PipelineRecord(id: id, project: project, name: name, currentVersion: current_version, updatedAt: .fromMilliseconds(updated_at))
        }
    }

    struct VersionRow: Decodable {
        let version: Int, document: String, task_ids: String, templates: String, created_by: String, created_at: Int64
    }

    public func pipeline(named name: String, project: String) async throws -> PipelineRecord? {
        try await database.read { sql in
            try await sql.select().columns("id", "project", "name", "current_version", "updated_at").from("pipelines_pipelines")
                .where("project", .equal, project).where("name", .equal, name).first(decoding: Row.self)?.record
        }
    }

    public func summaries(inProject project: String, after: String?, limit: Int) async throws -> [PipelineSummary] {
        struct SummaryRow: Decodable {
            let name: String, current_version: Int, updated_at: Int64, document: String
        }
        let rows = try await database.rows(PipelinePage(project: project, after: after ?? "", limit: Int64(limit))).map {
            try $0.decode(model: SummaryRow.self)
        }
        let decoder = JSONDecoder()
        return try rows.map { row in
            let spec = try decoder.decode(PipelineSpec.self, from: Data(row.document.utf8))
            return PipelineSummary(
                name: row.name, description: spec.metadata.description ?? "", version: row.current_version, tasks: spec.spec.tasks.count,
                updatedAt: .fromMilliseconds(row.updated_at)
            )
        }
    }

    /// A page of a project's pipelines by name, with their current versions' documents: the pipeline list reads it.
    struct PipelinePage: PreparedRead {
        static let text = """
            SELECT p.name, p.current_version, p.updated_at, v.document
            FROM pipelines_pipelines p
            JOIN pipelines_versions v ON v.pipeline_id = p.id AND v.version = p.current_version
            WHERE p.project = $1 AND p.name > $2
            ORDER BY p.name
            LIMIT $3
            """
        let project: String
        let after: String
        let limit: Int64
        var parameters: [PreparedValue] { [.text(project), .text(after), .integer(limit)] }
    }

    public func versions(of pipeline: PipelineRecord) async throws -> [PipelineVersion] {
        let rows = try await database.read { sql in
            try await sql.select().columns("version", "document", "task_ids", "templates", "created_by", "created_at")
                .from("pipelines_versions").where("pipeline_id", .equal, pipeline.id).orderBy("version", .descending)
                .all(decoding: VersionRow.self)
        }
        return try rows.map { try Self.version($0, pipeline: pipeline) }
    }

    public func version(_ number: Int, of pipeline: PipelineRecord) async throws -> PipelineVersion? {
        let row = try await database.read { sql in
            try await sql.select().columns("version", "document", "task_ids", "templates", "created_by", "created_at")
                .from("pipelines_versions").where("pipeline_id", .equal, pipeline.id).where("version", .equal, number)
                .first(decoding: VersionRow.self)
        }
        return try row.map { try Self.version($0, pipeline: pipeline) }
    }

    static func version(_ row: VersionRow, pipeline: PipelineRecord) throws -> PipelineVersion {
        let decoder = JSONDecoder()
        var version = PipelineVersion(
            pipeline: pipeline.name, version: row.version, spec: try decoder.decode(PipelineSpec.self, from: Data(row.document.utf8)),
            taskIDs: try decoder.decode([String: String].self, from: Data(row.task_ids.utf8)),
            templates: try decoder.decode([String: String].self, from: Data(row.templates.utf8)),
            createdBy: row.created_by, createdAt: .fromMilliseconds(row.created_at)
        )
        version.pipelineID = pipeline.id
        return version
    }

    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public func save(_ version: PipelineVersion, project: String, existing: PipelineRecord?) async throws {
        do {
            try await insert(version, project: project, existing: existing)
        } catch  where StoreError.isUniqueViolation(error) {
            // Two first saves of one new name: the unique index let one win; the other is a conflict, not a 500.
            throw PipelineError.concurrentChange(version.pipeline)
        }
    }

    func insert(_ version: PipelineVersion, project: String, existing: PipelineRecord?) async throws {
        let (document, taskIDs, templates) = (try Self.json(version.spec), try Self.json(version.taskIDs), try Self.json(version.templates))
        let lock: SQLQueryString = database.dialect == .postgres ? " FOR UPDATE" : ""
        try await database.transaction { sql in
            // Read the current version again inside the transaction (row-locked on PostgreSQL; SQLite transactions
            // are serialized): a save based on an older version loses with a clear conflict, never a duplicate.
            let current = try await sql.raw(
                "SELECT id, current_version FROM pipelines_pipelines WHERE project = \(bind: project) AND name = \(bind: version.pipeline)\(lock)"
            ).first()
            let currentVersion = try current?.decode(column: "current_version", as: Int.self)
            guard currentVersion == existing?.currentVersion, version.version == (currentVersion ?? 0) + 1 else {
                throw PipelineError.concurrentChange(version.pipeline)
            }
            let id: String
            if let existing {
                id = existing.id
                try await sql.update("pipelines_pipelines").set("current_version", to: SQLBind(version.version))
                    .set("updated_at", to: SQLBind(version.createdAt.milliseconds)).where("id", .equal, id).run()
            } else {
                id = UUID().uuidString.lowercased()
                try await sql.insert(into: "pipelines_pipelines")
                    .columns("id", "project", "name", "current_version", "created_by", "created_at", "updated_at")
                    .values(
                        SQLBind(id), SQLBind(project), SQLBind(version.pipeline), SQLBind(version.version), SQLBind(version.createdBy),
                        SQLBind(version.createdAt.milliseconds), SQLBind(version.createdAt.milliseconds)
                    ).run()
            }
            try await sql.insert(into: "pipelines_versions")
                .columns("pipeline_id", "version", "document", "task_ids", "templates", "created_by", "created_at")
                .values(
                    SQLBind(id), SQLBind(version.version), SQLBind(document), SQLBind(taskIDs), SQLBind(templates),
                    SQLBind(version.createdBy),
                    SQLBind(version.createdAt.milliseconds)
                ).run()
            try await Self.recordSchedule(
                version.spec.spec.schedule, project: project, pipeline: version.pipeline, by: version.createdBy,
                at: version.createdAt.milliseconds, sql: sql)
        }
    }

    /// Writes the pipeline's schedule to the feed when it changed, with the next revision.
    static func recordSchedule(
        _ schedule: PipelineSpec.Schedule?, project: String, pipeline: String, by user: String, at instant: Int64, sql: any SQLDatabase
    ) async throws {
        let text = try schedule.map { try json($0) }
        let stored = try await sql.select().column("schedule").from("pipelines_schedules").where("project", .equal, project)
            .where("pipeline", .equal, pipeline).first()
        if let stored {
            guard try stored.decodeNil(column: "schedule") ? text != nil : try stored.decode(column: "schedule", as: String.self) != text
            else { return }
        } else if text == nil {
            return
        }
        let revision =
            try await sql.raw("UPDATE pipelines_schedule_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision")
            .first()?.decode(column: "revision", as: Int64.self) ?? 0
        try await sql.raw(
            """
            INSERT INTO pipelines_schedules (project, pipeline, schedule, saved_by, saved_at, revision)
            VALUES (\(bind: project), \(bind: pipeline), \(bind: text), \(bind: user), \(bind: instant), \(bind: revision))
            ON CONFLICT (project, pipeline) DO UPDATE SET schedule = excluded.schedule, saved_by = excluded.saved_by,
            saved_at = excluded.saved_at, revision = excluded.revision
            """
        ).run()
    }

    public func scheduleChanges(after revision: Int64, limit: Int) async throws -> [ScheduleChange] {
        struct Row: Decodable {
            let project: String, pipeline: String, schedule: String?, saved_by: String, saved_at: Int64, revision: Int64
        }
        return try await database.read { sql in
            try await sql.select().columns("*").from("pipelines_schedules").where("revision", .greaterThan, revision).orderBy("revision")
                .limit(limit).all(decoding: Row.self)
        }.map {
            ScheduleChange(
                project: $0.project, pipeline: $0.pipeline,
                schedule: try $0.schedule.map { try JSONDecoder().decode(PipelineSpec.Schedule.self, from: Data($0.utf8)) },
                savedBy: $0.saved_by, savedAt: $0.saved_at, revision: $0.revision)
        }
    }

    public func delete(_ pipeline: PipelineRecord, by user: String, at instant: Int64) async throws {
        try await database.transaction { sql in try await Self.remove(pipeline, by: user, at: instant, sql: sql) }
    }

    public func deleteAll(ofProject project: String, at instant: Int64) async throws {
        try await database.transaction { sql in
            let pipelines = try await sql.select().columns("id", "project", "name", "current_version", "updated_at")
                .from("pipelines_pipelines").where("project", .equal, project).all(decoding: Row.self)
            for pipeline in pipelines { try await Self.remove(pipeline.record, by: "platform", at: instant, sql: sql) }
        }
    }

    /// The pipeline, its versions and layout gone, its schedule removed from the feed.
    static func remove(_ pipeline: PipelineRecord, by user: String, at instant: Int64, sql: any SQLDatabase) async throws {
        try await recordSchedule(nil, project: pipeline.project, pipeline: pipeline.name, by: user, at: instant, sql: sql)
        try await sql.delete(from: "pipelines_layouts").where("pipeline_id", .equal, pipeline.id).run()
        try await sql.delete(from: "pipelines_versions").where("pipeline_id", .equal, pipeline.id).run()
        try await sql.delete(from: "pipelines_pipelines").where("id", .equal, pipeline.id).run()
    }

    public func templateUsage(_ template: String) async throws -> [String: Int] {
        let pinned = try await database.read { sql in
            // The LIKE narrows to candidate rows; the JSON decides.
            try await sql.raw(
                """
                SELECT v.templates FROM pipelines_pipelines p
                JOIN pipelines_versions v ON v.pipeline_id = p.id AND v.version = p.current_version
                WHERE v.templates LIKE \(bind: "%\"" + template + "@%")
                """
            ).all().map { try $0.decode(column: "templates", as: String.self) }
        }
        var usage: [String: Int] = [:]
        for text in pinned {
            let versions = try JSONDecoder().decode([String: String].self, from: Data(text.utf8)).values
                .map(TemplateReference.init(parsing:)).filter { $0.name == template }.compactMap(\.version)
            for version in Set(versions) { usage[version, default: 0] += 1 }
        }
        return usage
    }

    public func layout(of pipeline: PipelineRecord) async throws -> JSONValue? {
        let text = try await database.read { sql in
            try await sql.select().column("layout").from("pipelines_layouts").where("pipeline_id", .equal, pipeline.id).first()?
                .decode(column: "layout", as: String.self)
        }
        return try text.map { try JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
    }

    public func setLayout(_ layout: JSONValue, of pipeline: PipelineRecord, at date: Date) async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "pipelines_layouts").where("pipeline_id", .equal, pipeline.id).run()
            try await sql.insert(into: "pipelines_layouts").columns("pipeline_id", "layout", "updated_at")
                .values(SQLBind(pipeline.id), SQLBind(layout.jsonText), SQLBind(date.milliseconds)).run()
        }
    }
}
