// The platform's users, for admins: create one (local with a password, or from the directory), make or unmake an admin,
// disable or enable, delete. Each change is the API's (PATCH and DELETE /users/{username}); oneself is left alone
// (the API refuses it too).
import { h, field, notice, when } from "../ui.mjs";
import { t } from "../i18n.mjs";

export async function usersPage({ api, user }) {
  if (!user?.isAdmin) throw new Error(t("users.adminsOnly"));
  const message = h("p", { class: "notice", role: "status" });
  const body = h("tbody");

  async function load() {
    const users = await api.all("/api/v1/users", "users");
    body.replaceChildren(
      ...users.map((item) => {
        const self = item.username === user.username;
        const act = (label, run, props = {}) => h("button", { type: "button", disabled: self, onclick: run, ...props }, label);
        return h(
          "tr",
          { dataset: { user: item.username }, class: item.disabled ? "disabled" : "" },
          h("td", null, item.username, item.displayName ? h("span", { class: "muted", translate: "no" }, ` ${item.displayName}`) : ""),
          h("td", null, t(`users.source.${item.source}`)),
          h("td", null, item.isAdmin ? t("users.admin") : ""),
          h("td", null, item.disabled ? t("users.disabled") : t("users.active")),
          h("td", null, when(item.createdAt)),
          h(
            "td",
            { class: "actions" },
            act(item.isAdmin ? t("users.unmakeAdmin") : t("users.makeAdmin"), () => change(item.username, { isAdmin: !item.isAdmin }), { name: "admin" }),
            act(item.disabled ? t("users.enable") : t("users.disable"), () => change(item.username, { disabled: !item.disabled }), { name: "disable" }),
            act(t("common.delete"), () => remove(item.username), { name: "delete", class: "danger" }),
          ),
        );
      }),
    );
  }

  async function change(username, fields) {
    try {
      await api.patch(`/api/v1/users/${encodeURIComponent(username)}`, fields);
      const values = { user: username };
      const said = "isAdmin" in fields ? (fields.isAdmin ? t("users.nowAdmin", values) : t("users.noLongerAdmin", values)) : fields.disabled ? t("users.nowDisabled", values) : t("users.nowEnabled", values);
      notice(message, said, "ok");
      await load();
    } catch (error) {
      notice(message, error.message, "error");
    }
  }

  async function remove(username) {
    if (!confirm(t("users.confirmDelete", { user: username }))) return;
    try {
      await api.del(`/api/v1/users/${encodeURIComponent(username)}`);
      notice(message, t("common.deleted", { name: username }), "ok");
      await load();
    } catch (error) {
      notice(message, error.message, "error");
    }
  }

  const username = h("input", { name: "new-username", required: true, autocomplete: "off" });
  const source = h("select", { name: "new-source" }, h("option", { value: "local" }, t("users.localOption")), h("option", { value: "ldap" }, t("users.ldapOption")));
  const password = h("input", { name: "new-password", type: "password", autocomplete: "new-password" });
  const admin = h("input", { name: "new-admin", type: "checkbox" });
  source.addEventListener("change", () => (password.disabled = source.value === "ldap"));
  const form = h(
    "form",
    {
      class: "new-user",
      onsubmit: async (event) => {
        event.preventDefault();
        const request = source.value === "ldap" ? { username: username.value.trim(), source: "ldap" } : { username: username.value.trim(), password: password.value, isAdmin: admin.checked };
        try {
          await api.post("/api/v1/users", request);
          notice(message, t("users.created", { user: request.username }), "ok");
          form.reset();
          password.disabled = false;
          await load();
        } catch (error) {
          notice(message, error.message, "error");
        }
      },
    },
    h("h2", null, t("users.new")),
    field(t("login.username"), username),
    field(t("users.kind"), source),
    field(t("login.password"), password, { help: t("users.passwordHelp") }),
    h("label", { class: "check" }, admin, " ", t("users.platformAdmin")),
    h("button", { type: "submit", class: "primary" }, t("common.create")),
  );

  await load();
  const element = h(
    "section",
    { class: "list-page" },
    h("div", { class: "page-head" }, h("h1", null, t("nav.users"))),
    message,
    h("table", { class: "users" }, h("thead", null, h("tr", null, ...["user", "kind", "role", "state", "created"].map((title) => h("th", null, t(`users.column.${title}`))), h("th"))), body),
    form,
  );
  return { element };
}
