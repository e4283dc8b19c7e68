// Alerts in the portal, without the DOM: an alert rule from its form, a project's webhooks to save, and the words
// of deliveries and notifications.
import { t, has } from "./i18n.mjs";

/** The ends that may alert, as the API names them, with their labels in the reader's language. */
export function triggers() {
  return ["failed", "timed_out", "succeeded", "cancelled", "tick_expired", "tick_failed"].map((value) => [value, t(`alerts.on.${value}`)]);
}

/** Webhook body formats, as the API names them, with their labels. */
export function formats() {
  return ["json", "slack", "wecom", "dingtalk"].map((value) => [value, t(`alerts.format.${value}`)]);
}

/**
 * An alert rule from a form's values. A pipeline's rule leaves out what it takes from the project's defaults:
 * `sameOn` and `sameWebhooks` say so for those lists, and empty users or duration say so for theirs. A project's
 * defaults that say nothing are no defaults (undefined).
 */
export function ruleFromForm({ on = [], users = "", webhooks = [], runningLongerThan = "", sameOn = false, sameWebhooks = false }) {
  const rule = {};
  if (!sameOn) rule.on = on;
  const names = users.split(/[\s,]+/).map((name) => name.trim()).filter(Boolean);
  if (names.length) rule.users = [...new Set(names)];
  if (!sameWebhooks) rule.webhooks = webhooks;
  if (runningLongerThan.trim()) rule.runningLongerThan = runningLongerThan.trim();
  const saysSomething = (rule.on?.length ?? 0) + (rule.users?.length ?? 0) + (rule.webhooks?.length ?? 0) > 0 || rule.runningLongerThan;
  const isPipelines = sameOn || sameWebhooks;
  if (!isPipelines && !saysSomething) return undefined;
  return Object.keys(rule).length ? rule : undefined;
}

/**
 * The project's webhooks to save: each kept one as read (`{format, signed}` keeps its stored URL and key), minus
 * `removed`, plus `added` ones (`{name, url, format, secret}`; a name already there is replaced).
 */
export function webhooksToSave(current = {}, removed = [], added = []) {
  const webhooks = {};
  for (const [name, webhook] of Object.entries(current)) {
    if (!removed.includes(name)) webhooks[name] = { format: webhook.format, signed: webhook.signed };
  }
  for (const webhook of added) {
    const entry = { url: webhook.url.trim(), format: webhook.format || "json" };
    if (webhook.secret) entry.secret = webhook.secret;
    webhooks[webhook.name.trim()] = entry;
  }
  return webhooks;
}

/** A delivery as one table row's texts. */
export function deliveryRow(delivery) {
  const event = delivery.event ?? {};
  const tries = t("alerts.tries", { count: delivery.attempts });
  let state = delivery.state;
  if (delivery.state === "pending" && delivery.attempts > 0) state = t("alerts.retrying", { tries });
  else if (delivery.state === "dead") state = t("alerts.deadAfter", { tries });
  return { what: titleOf(event), pipeline: event.pipeline ?? "", webhook: delivery.webhook, state, error: delivery.lastError ?? "" };
}

/** What an event tells, in one line (the API's `title`, rebuilt for deliveries, which do not carry it). */
export function titleOf(event) {
  const values = { pipeline: event.pipeline, project: event.project, kind: event.kind };
  const key = `alerts.event.${event.kind}`;
  return has(key) ? t(key, values) : t("alerts.event.other", values);
}

/** Where a notification leads: its run, or its pipeline's schedule records for a tick. */
export function notificationLink(event) {
  const project = encodeURIComponent(event.project);
  if (event.run) return `#/p/${project}/runs/${encodeURIComponent(event.run)}`;
  return `#/p/${project}/pipelines/${encodeURIComponent(event.pipeline)}/records`;
}

/** The header's label: "Notifications" and the unread count, when any. */
export function unreadLabel(count) {
  return count > 0 ? t("nav.notificationsUnread", { count: count > 99 ? "99+" : count }) : t("nav.notifications");
}
