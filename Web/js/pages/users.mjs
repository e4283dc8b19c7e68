// The platform's users, for admins: create one (local with a password, or from the directory), make or unmake an admin,
// disable or enable, delete. Each change is the API's (PATCH and DELETE /users/{username}); oneself is left alone
// (the API refuses it too).
import { h, field, notice, when } from "../ui.mjs";

export async function usersPage({ api, user }) {
  if (!user?.isAdmin) throw new Error("Only platform admins manage users.");
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
          h("td", null, item.username, item.displayName ? h("span", { class: "muted" }, ` ${item.displayName}`) : ""),
          h("td", null, item.source),
          h("td", null, item.isAdmin ? "admin" : ""),
          h("td", null, item.disabled ? "disabled" : "active"),
          h("td", null, when(item.createdAt)),
          h(
            "td",
            { class: "actions" },
            act(item.isAdmin ? "Unmake admin" : "Make admin", () => change(item.username, { isAdmin: !item.isAdmin }), { name: "admin" }),
            act(item.disabled ? "Enable" : "Disable", () => change(item.username, { disabled: !item.disabled }), { name: "disable" }),
            act("Delete", () => remove(item.username), { name: "delete", class: "danger" }),
          ),
        );
      }),
    );
  }

  async function change(username, fields) {
    try {
      await api.patch(`/api/v1/users/${encodeURIComponent(username)}`, fields);
      notice(message, `${username}: ${"isAdmin" in fields ? (fields.isAdmin ? "now an admin" : "no longer an admin") : fields.disabled ? "disabled, their sessions ended" : "enabled"}.`, "ok");
      await load();
    } catch (error) {
      notice(message, error.message, "error");
    }
  }

  async function remove(username) {
    if (!confirm(`Delete user ${username}? Their memberships and API tokens go; the name may be taken again.`)) return;
    try {
      await api.del(`/api/v1/users/${encodeURIComponent(username)}`);
      notice(message, `Deleted ${username}.`, "ok");
      await load();
    } catch (error) {
      notice(message, error.message, "error");
    }
  }

  const username = h("input", { name: "new-username", required: true, autocomplete: "off" });
  const source = h("select", { name: "new-source" }, h("option", { value: "local" }, "local (password)"), h("option", { value: "ldap" }, "directory (LDAP)"));
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
          notice(message, `Created ${request.username}.`, "ok");
          form.reset();
          password.disabled = false;
          await load();
        } catch (error) {
          notice(message, error.message, "error");
        }
      },
    },
    h("h2", null, "New user"),
    field("User name", username),
    field("Kind", source),
    field("Password", password, { help: "Local users only; the directory checks directory users' passwords." }),
    h("label", { class: "check" }, admin, " Platform admin"),
    h("button", { type: "submit", class: "primary" }, "Create"),
  );

  await load();
  const element = h(
    "section",
    { class: "list-page" },
    h("div", { class: "page-head" }, h("h1", null, "Users")),
    message,
    h("table", { class: "users" }, h("thead", null, h("tr", null, ...["User", "Kind", "Role", "State", "Created", ""].map((title) => h("th", null, title)))), body),
    form,
  );
  return { element };
}
