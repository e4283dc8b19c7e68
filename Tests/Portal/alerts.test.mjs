import { test } from "node:test";
import assert from "node:assert/strict";
import { deliveryRow, notificationLink, ruleFromForm, titleOf, unreadLabel, webhooksToSave } from "../../Web/js/alerts.mjs";

test("a project's defaults from the form: empty says nothing", () => {
  assert.equal(ruleFromForm({}), undefined);
  assert.deepEqual(ruleFromForm({ on: ["failed"], users: "olga, vic\nolga", webhooks: ["ops"], runningLongerThan: " 2h " }), {
    on: ["failed"],
    users: ["olga", "vic"],
    webhooks: ["ops"],
    runningLongerThan: "2h",
  });
});

test("a pipeline's rule leaves out what it takes from the project", () => {
  assert.equal(ruleFromForm({ sameOn: true, sameWebhooks: true }), undefined);
  assert.deepEqual(ruleFromForm({ sameOn: true, sameWebhooks: true, users: "vic" }), { users: ["vic"] });
  // Alerting on nothing is a choice of its own, not the project's.
  assert.deepEqual(ruleFromForm({ on: [], sameWebhooks: true }), { on: [] });
  assert.deepEqual(ruleFromForm({ sameOn: true, webhooks: ["chat"] }), { webhooks: ["chat"] });
});

test("webhooks to save keep the stored ones by name and add new ones", () => {
  const current = { ops: { format: "json", endpoint: "https://x", signed: true }, chat: { format: "slack", endpoint: "https://y", signed: false } };
  assert.deepEqual(webhooksToSave(current, ["chat"], [{ name: " ding ", url: " https://oapi.dingtalk.com/robot/send?access_token=t ", format: "dingtalk", secret: "SECabc123" }]), {
    ops: { format: "json", signed: true },
    ding: { url: "https://oapi.dingtalk.com/robot/send?access_token=t", format: "dingtalk", secret: "SECabc123" },
  });
  assert.deepEqual(webhooksToSave(current, [], [{ name: "ops", url: "https://new", format: "" }]).ops, { url: "https://new", format: "json" });
});

test("deliveries and notifications in words", () => {
  const event = { id: "e", kind: "failed", project: "ml", pipeline: "train", run: "r1" };
  assert.equal(titleOf(event), "Pipeline train (project ml) failed");
  assert.deepEqual(deliveryRow({ event, webhook: "ops", state: "dead", attempts: 8, lastError: "the webhook answered 503" }), {
    what: "Pipeline train (project ml) failed",
    pipeline: "train",
    webhook: "ops",
    state: "dead after 8 tries",
    error: "the webhook answered 503",
  });
  assert.equal(deliveryRow({ event, webhook: "ops", state: "pending", attempts: 1 }).state, "retrying (1 try)");
  assert.equal(deliveryRow({ event, webhook: "ops", state: "delivered", attempts: 1 }).state, "delivered");
  assert.equal(notificationLink(event), "#/p/ml/runs/r1");
  assert.equal(notificationLink({ kind: "tick_expired", project: "ml", pipeline: "train" }), "#/p/ml/pipelines/train/records");
  assert.equal(unreadLabel(0), "Notifications");
  assert.equal(unreadLabel(3), "Notifications (3)");
  assert.equal(unreadLabel(250), "Notifications (99+)");
});
