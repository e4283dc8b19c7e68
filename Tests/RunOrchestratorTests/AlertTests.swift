import Foundation
import Testing
import TrellisTestSupport

/// Alerts end to end in one process, to a real HTTP receiver: who hears of what (the pipeline's rule over the
/// project's defaults, members only), the four body formats and their signatures, retries with backoff, dead letters
/// and their retry, "running longer than", a tick that expired, and webhooks refused at save naming the field.
@Suite struct AlertTests {
    static let secret = "hook-signing-secret"

    /// A project's settings as read, with `webhooks` and `alerts` replaced.
    static func save(
        _ api: TestClientTransport, project: String, token: String, webhooks: [String: Any], alerts: [String: Any]? = nil
    ) async throws -> APIResponse {
        let current = try await api.call("GET", "/api/v1/projects/\(project)", token: token)
        var settings = try #require(current.json["settings"] as? [String: Any])
        settings["webhooks"] = webhooks
        settings["alerts"] = alerts
        return try await api.call("PATCH", "/api/v1/projects/\(project)", token: token, json: ["settings": settings])
    }

    static func failing(_ command: String = "exit 3") -> [[String: Any]] {
        [["name": "work", "template": "shell", "args": ["command": command]]]
    }

    /// The project's deliveries (every page), newest first.
    static func deliveries(_ api: TestClientTransport, project: String, token: String, state: String? = nil) async throws -> [[String: Any]]
    {
        let filter = state.map { "?state=\($0)" } ?? ""
        let response = try await api.call("GET", "/api/v1/projects/\(project)/alerts\(filter)", token: token)
        return response.json["deliveries"] as? [[String: Any]] ?? []
    }

    @Test(arguments: DatabaseKind.allCases)
    func aRunsEndReachesItsWebhooksAndMembersOnce(_ kind: DatabaseKind) async throws {
        let receiver = WebhookReceiver()
        try await receiver.serve { base in
            try await EmbeddedHarness.with(kind) { api, _ in
                let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
                let team = try await api.team(
                    project: "ops", owner: "olga", members: [("vic", "viewer"), ("dev", "developer")], admin: admin)
                let olga = try #require(team["olga"])
                #expect(
                    try await api.call(
                        "POST", "/api/v1/users", token: admin, json: ["username": "stranger", "password": "stranger-password"]
                    ).status == 201)
                let stranger = try await api.login("stranger", "stranger-password")

                // Refused at save, naming the field.
                for (url, message) in [
                    ("ftp://example.com/hook", "\"ftp://example.com/hook\" is not an http:// or https:// URL"),
                    ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"),
                    ("http://2852039166/", "2852039166 is an address written in a form resolvers read differently"),
                    ("http://user:pw@example.com/", "must not hold a user or password"),
                    ("http://[fe80::1]/", "is a link-local address"),
                ] {
                    let refused = try await Self.save(api, project: "ops", token: olga, webhooks: ["bad": ["url": url]])
                    let text = refused.errorMessage ?? ""
                    #expect(
                        refused.status == 400 && text.hasPrefix("settings.webhooks.bad.url: ") && text.contains(message),
                        "\(url): \(refused.text)")
                }
                let noURL = try await Self.save(api, project: "ops", token: olga, webhooks: ["new": ["format": "slack"]])
                #expect(
                    noURL.status == 400 && noURL.errorMessage?.hasPrefix("settings.webhooks.new.url: a new webhook needs its url") == true)
                let unknown = try await Self.save(
                    api, project: "ops", token: olga, webhooks: [:], alerts: ["on": ["failed"], "webhooks": ["nope"]])
                #expect(unknown.status == 400 && unknown.errorMessage?.contains("settings.alerts.webhooks[0]") == true, "\(unknown.text)")

                // Four webhooks; the URL (a chat robot's key is in it) and the secret are never shown.
                let saved = try await Self.save(
                    api, project: "ops", token: olga,
                    webhooks: [
                        "ops": ["url": "\(base)/json/key-123", "secret": Self.secret],
                        "chat": ["url": "\(base)/slack/key-123", "format": "slack"],
                        "wecom": ["url": "\(base)/wecom?key=key-123", "format": "wecom"],
                        "ding": ["url": "\(base)/ding?access_token=key-123", "format": "dingtalk", "secret": Self.secret],
                    ],
                    alerts: ["on": ["failed"], "users": ["olga"]])
                #expect(saved.status == 200, "\(saved.text)")
                let shown = try await api.call("GET", "/api/v1/projects/ops", token: team["vic"])
                #expect(!shown.text.contains("key-123") && !shown.text.contains(Self.secret), "\(shown.text)")
                let webhooks = (shown.json["settings"] as? [String: Any])?["webhooks"] as? [String: [String: Any]]
                #expect(webhooks?["ops"]?["endpoint"] as? String == base && webhooks?["ops"]?["signed"] as? Bool == true, "\(shown.text)")

                // A pipeline names only the project's webhooks.
                let badPipeline = try await api.call(
                    "POST", "/api/v1/projects/ops/pipelines", token: olga,
                    json: [
                        "apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": ["name": "bad"],
                        "spec": ["tasks": Self.failing(), "alerts": ["webhooks": ["ops", "gone"]]],
                    ])
                #expect(
                    badPipeline.status == 400
                        && badPipeline.text.contains("spec.alerts.webhooks[1]: the project has no webhook \\\"gone\\\""),
                    "\(badPipeline.text)")

                // The pipeline's users replace the project's; its `on` is the project's.
                try await api.applyPipeline(
                    "nightly", project: "ops", token: olga, tasks: Self.failing(),
                    spec: ["alerts": ["users": ["vic", "stranger"], "webhooks": ["ops", "chat", "wecom", "ding"]]])
                try await api.applyPipeline(
                    "fine", project: "ops", token: olga, tasks: Self.failing("true"), spec: ["alerts": ["webhooks": ["ops"]]])
                let fine = try await api.startRun("fine", project: "ops", token: olga)
                #expect(try await api.waitForRun(fine, project: "ops", token: olga)["state"] as? String == "succeeded")
                let run = try await api.startRun("nightly", project: "ops", token: olga)
                #expect(try await api.waitForRun(run, project: "ops", token: olga)["state"] as? String == "failed")

                try await Waiting.until("every webhook delivered") {
                    try await Self.deliveries(api, project: "ops", token: olga).filter { $0["state"] as? String == "delivered" }.count == 4
                }
                let json = try #require(receiver.accepted("/json/key-123").first)
                #expect(receiver.accepted("/json/key-123").count == 1)
                #expect(json.isSigned(with: Self.secret), "\(json.headers)")
                #expect(
                    json.json["kind"] as? String == "failed" && json.json["run"] as? String == run
                        && json.json["pipeline"] as? String == "nightly")
                #expect(json.headers["x-trellis-event"] == json.json["id"] as? String)
                #expect((json.json["reason"] as? String)?.contains("failed tasks: work") == true, "\(json.json)")
                let slack = try #require(receiver.accepted("/slack/key-123").first)
                #expect((slack.json["text"] as? String)?.hasPrefix("Pipeline nightly (project ops) failed") == true, "\(slack.json)")
                let wecom = try #require(receiver.accepted("/wecom").first)
                #expect(wecom.json["msgtype"] as? String == "text" && wecom.query == "key=key-123")
                #expect(((wecom.json["text"] as? [String: Any])?["content"] as? String)?.contains("run \(run)") == true)
                let ding = try #require(receiver.accepted("/ding").first)
                #expect(ding.json["msgtype"] as? String == "markdown" && ding.isDingTalkSigned(with: Self.secret), "\(ding.query ?? "")")
                #expect(ding.query?.hasPrefix("access_token=key-123&timestamp=") == true)
                // The succeeded run alerted no one (`on` is the project's: failed only); it ended first, so it was decided first.
                #expect(
                    try await Self.deliveries(api, project: "ops", token: olga).allSatisfy {
                        ($0["event"] as? [String: Any])?["run"] as? String == run
                    })

                // Notifications: the pipeline's member users only.
                let vicFeed = try await api.call("GET", "/api/v1/notifications", token: team["vic"])
                let items = vicFeed.json["notifications"] as? [[String: Any]] ?? []
                #expect(items.count == 1 && vicFeed.json["unread"] as? Int == 1, "\(vicFeed.text)")
                #expect(items.first?["title"] as? String == "Pipeline nightly (project ops) failed")
                for (who, token) in [("olga", olga), ("stranger", stranger)] {
                    let feed = try await api.call("GET", "/api/v1/notifications", token: token)
                    #expect((feed.json["notifications"] as? [Any])?.isEmpty == true, "\(who): \(feed.text)")
                }
                let eventID = try #require((items.first?["event"] as? [String: Any])?["id"] as? String)
                #expect(
                    try await api.call("POST", "/api/v1/notifications/read", token: team["vic"], json: ["events": [eventID]]).status == 204)
                let read = try await api.call("GET", "/api/v1/notifications?unread=true", token: team["vic"])
                #expect(read.json["unread"] as? Int == 0 && (read.json["notifications"] as? [Any])?.isEmpty == true, "\(read.text)")
                #expect(
                    try await api.call("GET", "/api/v1/notifications?unread=maybe", token: team["vic"]).errorMessage?.hasPrefix("unread:")
                        == true)

                // Webhooks' URLs and keys are never a task's: the secrets a launch reads are the env's alone.
                let secrets = try await api.call(
                    "GET", "/api/v1/internal/identity/projects/ops/secrets", token: try await EmbeddedHarness.serviceToken())
                #expect(secrets.status == 200 && (secrets.json["values"] as? [String: String])?.isEmpty == true, "\(secrets.text)")

                // Outsiders see no deliveries; a second read of the feed sends nothing again.
                #expect(try await api.call("GET", "/api/v1/projects/ops/alerts", token: stranger).status == 404)
                #expect(receiver.accepted("/json/key-123").count == 1 && receiver.accepted("/slack/key-123").count == 1)
            }
        }
    }

    @Test func failedTriesAreRetriedThenDeadThenRetriedByHand() async throws {
        let receiver = WebhookReceiver()
        try await receiver.serve { base in
            try await EmbeddedHarness.with(.sqlite, flags: ["alerts.backoff": "200ms", "alerts.attempts": "3"]) { api, _ in
                let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
                let team = try await api.team(project: "flaky", owner: "olga", members: [("vic", "viewer")], admin: admin)
                let olga = try #require(team["olga"])
                let saved = try await Self.save(
                    api, project: "flaky", token: olga,
                    webhooks: ["flaky": ["url": "\(base)/flaky"], "down": ["url": "\(base)/down"], "long": ["url": "\(base)/long"]],
                    alerts: ["on": ["failed"]])
                #expect(saved.status == 200, "\(saved.text)")
                receiver.fail("/flaky", times: 2)
                receiver.fail("/down")
                try await api.applyPipeline(
                    "job", project: "flaky", token: olga, tasks: Self.failing(), spec: ["alerts": ["webhooks": ["flaky", "down"]]])
                let run = try await api.startRun("job", project: "flaky", token: olga)
                _ = try await api.waitForRun(run, project: "flaky", token: olga)

                // Fails twice, delivered on the third try.
                try await Waiting.until("the flaky webhook's third try") { receiver.accepted("/flaky").count == 1 }
                #expect(receiver.refused("/flaky") == 2)
                // Three tries, then dead, shown with its error. (The flaky one's third try is recorded after the receiver
                // took it: waited for too.)
                try await Waiting.until("the dead letter, and the flaky webhook's delivery recorded") {
                    let dead = try await Self.deliveries(api, project: "flaky", token: olga, state: "dead")
                    let delivered = try await Self.deliveries(api, project: "flaky", token: olga, state: "delivered")
                    return dead.count == 1 && delivered.count == 1
                }
                let all = try await Self.deliveries(api, project: "flaky", token: try #require(team["vic"]))
                let flaky = try #require(all.first { $0["webhook"] as? String == "flaky" })
                #expect(flaky["state"] as? String == "delivered" && flaky["attempts"] as? Int == 3, "\(flaky)")
                let dead = try #require(all.first { $0["webhook"] as? String == "down" })
                #expect(dead["attempts"] as? Int == 3 && receiver.refused("/down") == 3, "\(dead)")
                #expect((dead["lastError"] as? String)?.contains("503") == true, "\(dead)")

                // Retried by hand: not by a viewer; by the owner once the receiver is back.
                let event = try #require((dead["event"] as? [String: Any])?["id"] as? String)
                let body: [String: Any] = ["event": event, "webhook": "down"]
                #expect(try await api.call("POST", "/api/v1/projects/flaky/alerts/retry", token: team["vic"], json: body).status == 403)
                receiver.accept("/down")
                #expect(try await api.call("POST", "/api/v1/projects/flaky/alerts/retry", token: olga, json: body).status == 202)
                try await Waiting.until("the retried delivery") { receiver.accepted("/down").count == 1 }
                let again = try await api.call("POST", "/api/v1/projects/flaky/alerts/retry", token: olga, json: body)
                #expect(again.status == 404, "only a dead delivery is retried: \(again.text)")
                #expect(receiver.accepted("/flaky").count == 1, "each alert once")

                // Running longer than its rule allows: alerted once, while it runs.
                try await api.applyPipeline(
                    "slow", project: "flaky", token: olga, tasks: Self.failing("sleep 600"),
                    spec: ["alerts": ["runningLongerThan": "1s", "on": [], "webhooks": ["long"]]])
                let slow = try await api.startRun("slow", project: "flaky", token: olga)
                try await Waiting.until("the running-long alert", limit: .seconds(30)) { receiver.accepted("/long").count == 1 }
                let long = try #require(receiver.accepted("/long").first)
                #expect(long.json["kind"] as? String == "running_long" && long.json["run"] as? String == slow, "\(long.json)")
                let running = try await api.call("GET", "/api/v1/projects/flaky/runs/\(slow)", token: olga)
                #expect(running.json["state"] as? String == "running", "it was told while running")
                #expect(try await api.call("POST", "/api/v1/projects/flaky/runs/\(slow)/cancel", token: olga).status == 200)
                _ = try await api.waitForRun(slow, project: "flaky", token: olga)
                #expect(receiver.accepted("/long").count == 1)

                // A rule changed just now applies to the next run's end at once.
                try await api.applyPipeline(
                    "job", project: "flaky", token: olga, tasks: Self.failing(), spec: ["alerts": ["webhooks": ["long"]]])
                let next = try await api.startRun("job", project: "flaky", token: olga)
                _ = try await api.waitForRun(next, project: "flaky", token: olga)
                try await Waiting.until("the changed rule's webhook") { receiver.accepted("/long").count == 2 }
                #expect(receiver.accepted("/long").last?.json["run"] as? String == next)
                #expect(
                    receiver.accepted("/flaky").count == 1 && receiver.accepted("/down").count == 1, "the old rule's webhooks heard nothing"
                )

                // A task that runs out of time: the run failed, and the alert says it timed out (a rule on `failed`
                // hears of it).
                try await api.applyPipeline(
                    "late", project: "flaky", token: olga,
                    tasks: [["name": "work", "template": "shell", "timeout": "1s", "args": ["command": "sleep 30"]]],
                    spec: ["alerts": ["webhooks": ["long"]]])
                let late = try await api.startRun("late", project: "flaky", token: olga)
                #expect(try await api.waitForRun(late, project: "flaky", token: olga)["state"] as? String == "failed")
                try await Waiting.until("the timed-out run's alert") { receiver.accepted("/long").count == 3 }
                #expect(
                    receiver.accepted("/long").last?.json["kind"] as? String == "timed_out",
                    "\(receiver.accepted("/long").last?.json ?? [:])")
            }
        }
    }

    @Test func anExpiredTickAlerts() async throws {
        let receiver = WebhookReceiver()
        try await receiver.serve { base in
            try await EmbeddedHarness.with(.sqlite) { api, _ in
                let admin = try await api.login("admin", EmbeddedHarness.adminPassword)
                let team = try await api.team(project: "cron", owner: "olga", members: [], admin: admin)
                let olga = try #require(team["olga"])
                #expect(try await Self.save(api, project: "cron", token: olga, webhooks: ["ticks": ["url": "\(base)/ticks"]]).status == 200)
                let start = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 - 5 * 60)
                try await api.applyPipeline(
                    "ticking", project: "cron", token: olga, tasks: Self.failing("sleep 1"),
                    spec: [
                        "schedule": ["cron": "* * * * *", "startTime": start.formatted(.iso8601), "maxActiveRuns": 1, "expiredLimit": 1],
                        "alerts": ["on": ["tick_expired"], "webhooks": ["ticks"]],
                    ])
                try await Waiting.until("an expired tick's alert") { !receiver.accepted("/ticks").isEmpty }
                let first = try #require(receiver.accepted("/ticks").first)
                #expect(first.json["kind"] as? String == "tick_expired" && first.json["executionDate"] != nil, "\(first.json)")
                #expect(first.json["reason"] as? String != nil, "\(first.json)")
                let records = try await api.scheduleRecords("ticking", project: "cron", token: olga)
                let expired = Set(records.filter { $0["state"] as? String == "expired" }.compactMap { RunJSON.date($0["executionDate"]) })
                try await Waiting.until("every expired tick's alert") { receiver.accepted("/ticks").count >= expired.count }
                let told = receiver.accepted("/ticks").compactMap { RunJSON.date($0.json["executionDate"]) }
                #expect(Set(told).isSuperset(of: expired) && told.count == Set(told).count, "each expired tick once: \(told) \(expired)")
            }
        }
    }
}
