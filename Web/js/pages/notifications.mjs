// The caller's notifications: alerts of the pipelines whose rules name them, newest first, each leading to its run
// (or its schedule's records); unread ones marked, read all at once or one by one as they are opened.
import { h, notice, when } from "../ui.mjs";
import { notificationLink, titleOf } from "../alerts.mjs";
import { t } from "../i18n.mjs";

export async function notificationsPage({ api, refreshHeader }) {
  const message = h("p", { class: "notice", role: "status" });
  const list = h("ul", { class: "notifications" });
  const more = h("button", { type: "button", hidden: true }, t("notifications.more"));
  let next = null;

  async function load(append = false) {
    const page = await api.get(`/api/v1/notifications?limit=50${append && next ? `&cursor=${encodeURIComponent(next)}` : ""}`);
    next = page.next ?? null;
    more.hidden = !next;
    const items = page.notifications.map((item) =>
      h(
        "li",
        { class: item.read ? "read" : "unread", dataset: { event: item.event.id } },
        h("a", { href: notificationLink(item.event), onclick: () => markRead([item.event.id]) }, titleOf(item.event)),
        item.event.reason ? h("div", { class: "muted", translate: "no" }, item.event.reason) : null,
        h("small", null, when(item.createdAt)),
      ),
    );
    if (!append && !items.length) items.push(h("li", { class: "muted" }, t("notifications.none")));
    if (append) list.append(...items);
    else list.replaceChildren(...items);
  }

  async function markRead(events) {
    try {
      await api.post("/api/v1/notifications/read", events ? { events } : {});
      await refreshHeader?.();
    } catch (error) {
      notice(message, error.message, "error");
    }
  }

  more.addEventListener("click", () => load(true));
  await load();
  // The header counted the unread before this list was read: counted again, the two agree on what is shown.
  refreshHeader?.();
  const element = h(
    "section",
    { class: "notifications-page" },
    h(
      "div",
      { class: "page-head" },
      h("h1", null, t("nav.notifications")),
      h("button", { type: "button", name: "mark-all-read", onclick: async () => (await markRead(null), await load()) }, t("notifications.markAllRead")),
    ),
    message,
    list,
    more,
  );
  return { element };
}
