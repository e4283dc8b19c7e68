import Foundation
import SQLKit
import TrellisCore
import TrellisStore

/// The alert outbox (migrations/orchestrator/006_alerts.sql): events, their webhook deliveries, users' notifications.
///
/// Exactly once: an event's id is what it tells of (a run's end at an instant, a tick's state), so recording it twice
/// records it once; an event is dispatched and a delivery sent only under a claim (a lease written in a short
/// transaction, the rows read `FOR UPDATE SKIP LOCKED` on PostgreSQL, so two orchestrators share the work without
/// waiting on each other; SQLite serializes transactions); a delivery's outcome is written only by its claim's holder.
struct AlertRepository: Sendable {
    let database: Database

    private var skipLocked: SQLQueryString { database.dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : "" }

    struct EventRow: Codable, Sendable {
        var id: String, project: String, pipeline: String, kind: String, run_id: String?, execution_date: Int64?, state: String?
        var reason: String?, occurred_at: Int64, dispatched: Bool, claimed_until: Int64

        var event: AlertEvent? {
            AlertEvent.Kind(rawValue: kind).map {
                AlertEvent(
                    id: id, kind: $0, project: project, pipeline: pipeline, run: run_id,
                    executionDate: execution_date.map(Date.fromMilliseconds),
                    state: state, reason: reason, occurredAt: .fromMilliseconds(occurred_at))
            }
        }
    }

    struct DeliveryRow: Codable, Sendable {
        var event_id: String, webhook: String, project: String, state: String, attempts: Int, next_at: Int64, claim: String?
        var claimed_until: Int64, last_error: String?, created_at: Int64, delivered_at: Int64?
    }

    enum DeliveryState: String, Sendable, CaseIterable {
        case pending, delivered, dead
    }

    // MARK: Recording events

    /// Records `event` once (a second record of its id is ignored), in the caller's transaction.
    static func record(_ events: [AlertEvent], sql: any SQLDatabase) async throws {
        let rows = events.map { event in
            EventRow(
                id: event.id, project: event.project, pipeline: event.pipeline, kind: event.kind.rawValue, run_id: event.run,
                execution_date: event.executionDate?.milliseconds, state: event.state, reason: event.reason.map { String($0.prefix(2000)) },
                occurred_at: event.occurredAt.milliseconds, dispatched: false, claimed_until: 0)
        }
        for batch in rows.batches(of: RunRepository.rowsPerStatement) {
            try await sql.insert(into: "orchestrator_alert_events").models(batch, nilEncodingStrategy: .asNil).ignoringConflicts(with: [
                "id"
            ])
            .run()
        }
    }

    func record(_ events: [AlertEvent]) async throws {
        guard !events.isEmpty else { return }
        try await database.transaction { sql in try await Self.record(events, sql: sql) }
    }

    /// Runs running now that are not debug runs: what "running longer than" looks at.
    func runningRuns() async throws -> [(id: String, project: String, pipeline: String, startedAt: Int64)] {
        struct Row: Decodable { let id: String, project: String, pipeline: String, started_at: Int64? }
        return try await database.read { sql in
            try await sql.raw(
                """
                SELECT id, project, pipeline, started_at FROM orchestrator_runs
                WHERE state = \(bind: RunState.running.rawValue) AND debug = \(bind: false)
                """
            ).all(decoding: Row.self).compactMap { row in row.started_at.map { (row.id, row.project, row.pipeline, $0) } }
        }
    }

    // MARK: Dispatching

    /// Claims up to `limit` events not dispatched yet, until `until`.
    func claimNew(now: Int64, until: Int64, limit: Int) async throws -> [AlertEvent] {
        try await database.transaction { sql in
            let rows = try await sql.raw(
                """
                SELECT * FROM orchestrator_alert_events WHERE dispatched = \(bind: false) AND claimed_until <= \(bind: now)
                ORDER BY occurred_at LIMIT \(unsafeRaw: String(limit))\(skipLocked)
                """
            ).all(decoding: EventRow.self)
            guard !rows.isEmpty else { return [] }
            try await sql.update("orchestrator_alert_events").set("claimed_until", to: SQLBind(until))
                .where("id", .in, rows.map(\.id)).run()
            return rows.compactMap(\.event)
        }
    }

    /// Who hears of an event: the webhooks to send it to and the users to notify.
    struct Dispatch: Sendable {
        var event: AlertEvent
        var webhooks: [String]
        var users: [String]
    }

    /// Writes who hears of each event — a delivery per webhook, a notification per user — and marks it dispatched, all in
    /// one transaction; a second dispatch of an event adds nothing.
    func dispatch(_ dispatches: [Dispatch], now: Int64) async throws {
        guard !dispatches.isEmpty else { return }
        try await database.transaction { sql in
            for dispatch in dispatches {
                let event = dispatch.event
                for webhook in dispatch.webhooks {
                    let row = DeliveryRow(
                        event_id: event.id, webhook: webhook, project: event.project, state: DeliveryState.pending.rawValue, attempts: 0,
                        next_at: now, claim: nil, claimed_until: 0, last_error: nil, created_at: now, delivered_at: nil)
                    try await sql.insert(into: "orchestrator_alert_deliveries").model(row).ignoringConflicts(with: ["event_id", "webhook"])
                        .run()
                }
                for user in dispatch.users {
                    try await sql.insert(into: "orchestrator_notifications").columns("username", "event_id", "project", "created_at")
                        .values(SQLBind(user), SQLBind(event.id), SQLBind(event.project), SQLBind(now))
                        .ignoringConflicts(with: ["username", "event_id"]).run()
                }
            }
            for batch in dispatches.map(\.event.id).batches(of: RunRepository.rowsPerStatement) {
                try await sql.raw("UPDATE orchestrator_alert_events SET dispatched = \(bind: true) WHERE id IN (\(binds: batch))").run()
            }
        }
    }

    // MARK: Delivering

    struct Due: Sendable {
        var event: AlertEvent
        var webhook: String
        /// Tries before this one.
        var attempts: Int
        var claim: String
    }

    /// Claims up to `limit` pending deliveries that are due, until `until`, under one claim token.
    func claimDue(now: Int64, until: Int64, limit: Int) async throws -> [Due] {
        let claim = UUID().uuidString
        return try await database.transaction { sql in
            let rows = try await sql.raw(
                """
                SELECT * FROM orchestrator_alert_deliveries WHERE state = \(bind: DeliveryState.pending.rawValue)
                AND next_at <= \(bind: now) AND claimed_until <= \(bind: now)
                ORDER BY next_at LIMIT \(unsafeRaw: String(limit))\(skipLocked)
                """
            ).all(decoding: DeliveryRow.self)
            guard !rows.isEmpty else { return [] }
            var events: [String: AlertEvent] = [:]
            for row in try await sql.select().columns("*").from("orchestrator_alert_events")
                .where("id", .in, Array(Set(rows.map(\.event_id)))).all(decoding: EventRow.self)
            {
                events[row.id] = row.event
            }
            var due: [Due] = []
            for row in rows {
                try await sql.update("orchestrator_alert_deliveries").set("claim", to: SQLBind(claim)).set(
                    "claimed_until", to: SQLBind(until)
                )
                .where("event_id", .equal, row.event_id).where("webhook", .equal, row.webhook).run()
                if let event = events[row.event_id] {
                    due.append(Due(event: event, webhook: row.webhook, attempts: row.attempts, claim: claim))
                }
            }
            return due
        }
    }

    /// Records a try's outcome, if `due`'s claim still holds: delivered (`error` nil), tried again at `retryAt`, or dead
    /// (`retryAt` nil).
    func finish(_ due: Due, error: String?, retryAt: Int64?, now: Int64) async throws {
        try await database.transaction { sql in
            var update = sql.update("orchestrator_alert_deliveries").set("attempts", to: SQLBind(due.attempts + 1))
                .set("claim", to: SQLBind(String?.none)).set("claimed_until", to: SQLBind(0))
            if let error {
                let state = retryAt == nil ? DeliveryState.dead : .pending
                update = update.set("state", to: SQLBind(state.rawValue)).set("last_error", to: SQLBind(String(error.prefix(2000))))
                    .set("next_at", to: SQLBind(retryAt ?? now))
            } else {
                update = update.set("state", to: SQLBind(DeliveryState.delivered.rawValue)).set("delivered_at", to: SQLBind(now))
            }
            try await update.where("event_id", .equal, due.event.id).where("webhook", .equal, due.webhook)
                .where("claim", .equal, due.claim).run()
        }
    }

    /// Makes a dead delivery of the project pending again, due now, with a fresh count of tries; false when there is
    /// no such dead delivery.
    func retry(project: String, event: String, webhook: String, now: Int64) async throws -> Bool {
        try await database.transaction { sql in
            !(try await sql.update("orchestrator_alert_deliveries").set("state", to: SQLBind(DeliveryState.pending.rawValue))
                .set("attempts", to: SQLBind(0)).set("next_at", to: SQLBind(now)).where("project", .equal, project)
                .where("event_id", .equal, event).where("webhook", .equal, webhook).where("state", .equal, DeliveryState.dead.rawValue)
                .returning("event_id").all().isEmpty)
        }
    }

    // MARK: Reading

    struct DeliveryView: Sendable {
        var row: DeliveryRow
        var event: AlertEvent
    }

    /// The project's deliveries, newest first, after the (created_at, event id, webhook) of the previous page's last.
    func deliveries(
        project: String, state: DeliveryState?, after cursor: (createdAt: Int64, event: String, webhook: String)?, limit: Int
    ) async throws -> [DeliveryView] {
        try await database.read { sql in
            var query = sql.select().columns("*").from("orchestrator_alert_deliveries").where("project", .equal, project)
            if let state { query = query.where("state", .equal, state.rawValue) }
            if let cursor {
                query = query.where { group in
                    group.where("created_at", .lessThan, cursor.createdAt).orWhere { same in
                        same.where("created_at", .equal, cursor.createdAt).where { key in
                            key.where("event_id", .lessThan, cursor.event).orWhere { tie in
                                tie.where("event_id", .equal, cursor.event).where("webhook", .lessThan, cursor.webhook)
                            }
                        }
                    }
                }
            }
            let rows = try await query.orderBy("created_at", .descending).orderBy("event_id", .descending)
                .orderBy("webhook", .descending).limit(limit).all(decoding: DeliveryRow.self)
            let events = try await Self.events(Set(rows.map(\.event_id)), sql: sql)
            return rows.compactMap { row in events[row.event_id].map { DeliveryView(row: row, event: $0) } }
        }
    }

    struct NotificationView: Sendable {
        var event: AlertEvent
        var createdAt: Int64
        var readAt: Int64?
    }

    /// A user's notifications, newest first, after the (created_at, event id) of the previous page's last.
    func notifications(of user: String, unreadOnly: Bool, after cursor: (createdAt: Int64, event: String)?, limit: Int) async throws
        -> [NotificationView]
    {
        struct Row: Decodable { let event_id: String, created_at: Int64, read_at: Int64? }
        return try await database.read { sql in
            var query = sql.select().columns("event_id", "created_at", "read_at").from("orchestrator_notifications")
                .where("username", .equal, user)
            if unreadOnly { query = query.where("read_at", .is, SQLLiteral.null) }
            if let cursor {
                query = query.where { group in
                    group.where("created_at", .lessThan, cursor.createdAt).orWhere { same in
                        same.where("created_at", .equal, cursor.createdAt).where("event_id", .lessThan, cursor.event)
                    }
                }
            }
            let rows = try await query.orderBy("created_at", .descending).orderBy("event_id", .descending).limit(limit)
                .all(decoding: Row.self)
            let events = try await Self.events(Set(rows.map(\.event_id)), sql: sql)
            return rows.compactMap { row in
                events[row.event_id].map { NotificationView(event: $0, createdAt: row.created_at, readAt: row.read_at) }
            }
        }
    }

    func unreadCount(of user: String) async throws -> Int {
        try await database.read { sql in
            try await sql.raw(
                "SELECT COUNT(*) AS n FROM orchestrator_notifications WHERE username = \(bind: user) AND read_at IS NULL"
            ).first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// Marks the user's notifications of `events` read (all of them when nil).
    func markRead(of user: String, events: [String]?, now: Int64) async throws {
        try await database.transaction { sql in
            var update = sql.update("orchestrator_notifications").set("read_at", to: SQLBind(now)).where("username", .equal, user)
                .where("read_at", .is, SQLLiteral.null)
            if let events { update = update.where("event_id", .in, events) }
            try await update.run()
        }
    }

    private static func events(_ ids: Set<String>, sql: any SQLDatabase) async throws -> [String: AlertEvent] {
        guard !ids.isEmpty else { return [:] }
        var events: [String: AlertEvent] = [:]
        for row in try await sql.select().columns("*").from("orchestrator_alert_events").where("id", .in, Array(ids))
            .all(decoding: EventRow.self)
        {
            events[row.id] = row.event
        }
        return events
    }

    // MARK: A deleted project

    func deleteAll(ofProject project: String) async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "orchestrator_notifications").where("project", .equal, project).run()
            try await sql.delete(from: "orchestrator_alert_deliveries").where("project", .equal, project).run()
            try await sql.delete(from: "orchestrator_alert_events").where("project", .equal, project).run()
        }
    }
}
