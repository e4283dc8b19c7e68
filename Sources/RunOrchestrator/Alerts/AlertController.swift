import Foundation
import Hummingbird
import ServiceContracts
import TrellisCore
import TrellisHTTP
import TrellisStore

/// Alerts in the API: a user's notifications (`/notifications`), and a project's webhook deliveries — pending,
/// delivered, dead — with a retry of a dead one (`/projects/{p}/alerts`).
struct AlertController: Sendable {
    let repository: AlertRepository
    let access: ProjectAccess
    let now: @Sendable () -> Date

    func addRoutes(to routes: RouterGroup<TrellisRequestContext>) {
        routes.get("notifications", use: notifications)
        routes.post("notifications/read", use: markRead)
        routes.get("projects/:project/alerts", use: deliveries)
        routes.post("projects/:project/alerts/retry", use: retry)
    }

    // MARK: Notifications

    struct NotificationView: Encodable {
        let event: AlertEvent
        let title: String
        let createdAt: Date
        let read: Bool
    }

    struct NotificationList: ResponseEncodable {
        let notifications: [NotificationView]
        /// Unread notifications of the user, over every page.
        let unread: Int
        let next: String?
    }

    /// `GET /notifications[?unread=true]`: the caller's, newest first.
    @Sendable func notifications(_ request: Request, context: TrellisRequestContext) async throws -> NotificationList {
        let user = try context.requireUser().username
        let page = try request.pageRequest()
        let unreadOnly: Bool
        switch request.uri.queryParameters.get("unread") {
        case nil, "false": unreadOnly = false
        case "true": unreadOnly = true
        case let other?: throw APIError.invalidField("unread", "must be true or false, got \"\(other.prefix(20))\"")
        }
        var cursor: (Int64, String)?
        if let createdAt = try page.integerKey(0), let event = try page.key(1) { cursor = (createdAt, event) }
        let found = Page(
            fetched: try await repository.notifications(of: user, unreadOnly: unreadOnly, after: cursor, limit: page.limit + 1),
            request: page
        ) { [String($0.createdAt), $0.event.id] }
        return NotificationList(
            notifications: found.items.map {
                NotificationView(event: $0.event, title: $0.event.title, createdAt: .fromMilliseconds($0.createdAt), read: $0.readAt != nil)
            },
            unread: try await repository.unreadCount(of: user), next: found.next)
    }

    struct ReadRequest: Decodable {
        /// Event ids; absent: every notification of the caller.
        let events: [String]?
    }

    /// `POST /notifications/read` `{events: [id…]}` (or `{}` for all): 204.
    @Sendable func markRead(_ request: Request, context: TrellisRequestContext) async throws -> HTTPResponse.Status {
        let user = try context.requireUser().username
        let body = try await request.decode(as: ReadRequest.self, context: context)
        if let events = body.events, events.count > PageRequest.maximumLimit {
            throw APIError.invalidField("events", "at most \(PageRequest.maximumLimit) at once")
        }
        try await repository.markRead(of: user, events: body.events, now: now().milliseconds)
        return .noContent
    }

    // MARK: Deliveries

    struct DeliveryView: Encodable {
        let event: AlertEvent
        let webhook: String
        let state: String
        let attempts: Int
        let nextAt: Date?
        let lastError: String?
        let createdAt: Date
        let deliveredAt: Date?
    }

    struct DeliveryList: ResponseEncodable {
        let deliveries: [DeliveryView]
        let next: String?
    }

    /// `GET /projects/{p}/alerts[?state=pending|delivered|dead]`: the project's webhook deliveries, newest first.
    @Sendable func deliveries(_ request: Request, context: TrellisRequestContext) async throws -> DeliveryList {
        let project = try context.parameters.require("project")
        try await access.require(.read, in: project, context: context)
        let page = try request.pageRequest()
        var state: AlertRepository.DeliveryState?
        if let text = request.uri.queryParameters.get("state") {
            guard let parsed = AlertRepository.DeliveryState(rawValue: text) else {
                throw APIError.invalidField(
                    "state", "must be one of \(AlertRepository.DeliveryState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            state = parsed
        }
        var cursor: (Int64, String, String)?
        if let createdAt = try page.integerKey(0), let event = try page.key(1), let webhook = try page.key(2) {
            cursor = (createdAt, event, webhook)
        }
        let found = Page(
            fetched: try await repository.deliveries(project: project, state: state, after: cursor, limit: page.limit + 1), request: page
        ) { [String($0.row.created_at), $0.row.event_id, $0.row.webhook] }
        return DeliveryList(
            deliveries: found.items.map { view in
                DeliveryView(
                    event: view.event, webhook: view.row.webhook, state: view.row.state, attempts: view.row.attempts,
                    nextAt: view.row.state == AlertRepository.DeliveryState.pending.rawValue ? .fromMilliseconds(view.row.next_at) : nil,
                    lastError: view.row.last_error, createdAt: .fromMilliseconds(view.row.created_at),
                    deliveredAt: view.row.delivered_at.map(Date.fromMilliseconds))
            }, next: found.next)
    }

    struct RetryRequest: Decodable {
        let event: String
        let webhook: String
    }

    /// `POST /projects/{p}/alerts/retry` `{event, webhook}`: a dead delivery is tried again now (developers, owners).
    @Sendable func retry(_ request: Request, context: TrellisRequestContext) async throws -> HTTPResponse.Status {
        let project = try context.parameters.require("project")
        try await access.require(.runPipelines, in: project, context: context)
        let body = try await request.decode(as: RetryRequest.self, context: context)
        guard try await repository.retry(project: project, event: body.event, webhook: body.webhook, now: now().milliseconds) else {
            throw APIError.notFound("project \(project) has no dead delivery of event \"\(body.event)\" to webhook \"\(body.webhook)\"")
        }
        return .accepted
    }
}
