import Foundation
import Testing
import TrellisCore

@Suite struct AlertRuleTests {
    @Test func aPipelinesFieldsOverrideTheProjectsOneByOne() {
        let project = AlertRule(on: [.failed], runningLongerThan: "2h", users: ["olga"], webhooks: ["ops"])
        let pipeline = AlertRule(users: ["vic"])
        #expect(pipeline.over(project) == AlertRule(on: [.failed], runningLongerThan: "2h", users: ["vic"], webhooks: ["ops"]))
        #expect(AlertRule(on: []).over(project).on == [])
        #expect(pipeline.over(nil) == pipeline)
    }

    @Test func whichEventsAlert() {
        let onFailed = AlertRule(on: [.failed])
        #expect(onFailed.alerts(.ended(.failed)))
        #expect(onFailed.alerts(.ended(.timedOut)), "a run that timed out failed")
        #expect(!onFailed.alerts(.ended(.succeeded)))
        #expect(!onFailed.alerts(.ended(.tickExpired)))
        #expect(!onFailed.alerts(.runningLong))
        #expect(AlertRule(on: [.timedOut]).alerts(.ended(.timedOut)) && !AlertRule(on: [.timedOut]).alerts(.ended(.failed)))
        #expect(AlertRule(runningLongerThan: "90s").alerts(.runningLong))
        #expect(AlertRule(runningLongerThan: "90s").runningLongerThanMilliseconds == 90_000)
        #expect(AlertRule().alerts(.ended(.failed)) == false)
    }

    @Test func problemsNameTheirFields() {
        let rule = AlertRule(on: [.failed, .failed], runningLongerThan: "soon", users: ["Bad Name"], webhooks: ["ops", "gone"])
        let fields = rule.problems(at: "spec.alerts", webhooks: ["ops"]).map(\.field)
        #expect(fields == ["spec.alerts.runningLongerThan", "spec.alerts.on", "spec.alerts.users[0]", "spec.alerts.webhooks[1]"])
        #expect(AlertRule(runningLongerThan: "500ms").problems(at: "a", webhooks: nil).first?.message == "must be at least 1s")
        #expect(AlertRule(webhooks: ["any"]).problems(at: "a", webhooks: nil).isEmpty, "names are checked where the project is known")
    }

    @Test func aRuleDecodesFromADocument() throws {
        let rule = try JSONDecoder().decode(
            AlertRule.self, from: Data(#"{"on": ["failed", "tick_expired"], "runningLongerThan": "1h"}"#.utf8))
        #expect(rule == AlertRule(on: [.failed, .tickExpired], runningLongerThan: "1h"))
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(AlertRule.self, from: Data(#"{"on": ["exploded"]}"#.utf8)) }
    }

    @Test(arguments: [
        ("https://hooks.slack.com/services/T0/B0/x", nil),
        ("http://10.1.2.3:8080/robot", nil),
        ("http://127.0.0.1:9000/hook", nil),
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", nil),
        ("http://169.254.169.254/latest", "link-local"),
        ("http://0177.0.0.1/", "a form resolvers read differently"),
        ("http://127.1/", "a form resolvers read differently"),
        ("http://0x7f000001/", "a form resolvers read differently"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://[fe80::1%25eth0]/", "link-local"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("http://224.0.0.1/", "multicast"),
        ("file:///etc/passwd", "is not an http:// or https:// URL"),
        ("http:///nohost", "names no host"),
        ("https://u:p@example.com/", "user or password"),
    ])
    func webhookAddresses(_ url: String, refusal: String?) {
        do {
            try WebhookAddress.check(url, field: "url")
            #expect(refusal == nil, "\(url) was allowed")
        } catch {
            #expect(error.field == "url")
            #expect(refusal.map { error.message.contains($0) } == true, "\(url): \(error.message)")
        }
    }

    @Test func aLongURLIsRefused() {
        #expect(throws: ValidationError.self) {
            try WebhookAddress.check("https://example.com/" + String(repeating: "a", count: 2100), field: "u")
        }
    }

    @Test func webhooksKeepTheirURLAndSecretOutOfTheSettings() throws {
        let written = try JSONDecoder().decode(
            Webhook.self, from: Data(#"{"url": "https://hooks.example.com:8443/T0/key?x=1", "format": "slack", "secret": "abcdefgh"}"#.utf8)
        )
        #expect(written.endpoint == "https://hooks.example.com:8443" && written.signed && written.format == .slack)
        let stored = String(decoding: try JSONEncoder().encode(written), as: UTF8.self)
        #expect(!stored.contains("key") && !stored.contains("abcdefgh"), "\(stored)")
        let readBack = try JSONDecoder().decode(Webhook.self, from: Data(stored.utf8))
        #expect(readBack.endpoint == written.endpoint && readBack.signed && readBack.newURL == nil && readBack.newSecret == nil)
        #expect(Webhook(url: "https://x.example", secret: "short").problems(name: "ops", at: "w").map(\.field) == ["w.secret"])
        #expect(Webhook(url: "https://x.example").problems(name: "Bad Name", at: "w").map(\.field) == ["w"])
    }

    @Test func settingsNameWhatAnUpdateLeavesMissing() {
        var settings = ProjectSettings()
        settings.webhooks = ["new": try! JSONDecoder().decode(Webhook.self, from: Data(#"{"signed": true}"#.utf8))]
        let missing = settings.missingSealedValues(stored: [])
        #expect(missing.map(\.field) == ["settings.webhooks.new.url", "settings.webhooks.new.secret"])
        #expect(settings.missingSealedValues(stored: [Webhook.urlSecretName("new"), Webhook.keySecretName("new")]).isEmpty)
        #expect(Set(settings.sealedNames) == [Webhook.urlSecretName("new"), Webhook.keySecretName("new")])
    }

    @Test func eventBodies() throws {
        let event = AlertEvent(
            id: "run:r1:end:1", kind: .ended(.failed), project: "ml", pipeline: "train", run: "r1",
            executionDate: Date(timeIntervalSince1970: 1_764_900_000), state: "failed", reason: "failed tasks: fit",
            occurredAt: Date(timeIntervalSince1970: 1_764_900_060))
        let json = try JSONSerialization.jsonObject(with: try event.body(.json)) as? [String: Any]
        #expect(json?["id"] as? String == "run:r1:end:1" && json?["kind"] as? String == "failed")
        #expect(json?["executionDate"] as? String == "2025-12-05T02:00:00Z" && json?["text"] as? String == event.text)
        #expect(try JSONDecoder.iso8601.decode(AlertEvent.self, from: try event.body(.json)) == event, "the JSON body is the event")
        #expect(
            String(decoding: try event.body(.slack), as: UTF8.self).hasPrefix(
                #"{"text":"Pipeline train (project ml) failed\nfailed tasks: fit"#))
        let wecom = try JSONSerialization.jsonObject(with: try event.body(.wecom)) as? [String: Any]
        #expect(wecom?["msgtype"] as? String == "text" && (wecom?["text"] as? [String: String])?["content"] == event.text)
        let ding = try JSONSerialization.jsonObject(with: try event.body(.dingtalk)) as? [String: Any]
        let markdown = ding?["markdown"] as? [String: String]
        #expect(ding?["msgtype"] as? String == "markdown" && markdown?["title"] == "Pipeline train (project ml) failed")
        #expect(markdown?["text"]?.contains("- run r1") == true)
        #expect(AlertEvent.Kind(rawValue: "running_long") == .runningLong && AlertEvent.Kind(rawValue: "timed_out") == .ended(.timedOut))
        #expect(AlertEvent.Kind(rawValue: "bogus") == nil)
    }
}

extension JSONDecoder {
    fileprivate static var iso8601: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
