// Logging in: local and directory (LDAP) users alike.
import { h, field, notice } from "../ui.mjs";
import { t } from "../i18n.mjs";

export async function loginPage({ api, signedIn }) {
  const username = h("input", { name: "username", autocomplete: "username", required: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const message = h("p", { class: "notice", role: "status" });
  const form = h(
    "form",
    {
      class: "login card",
      onsubmit: async (event) => {
        event.preventDefault();
        notice(message, t("login.busy"), "busy");
        try {
          await api.login(username.value.trim(), password.value);
          await signedIn();
        } catch (error) {
          notice(message, error.message, "error");
        }
      },
    },
    h("h1", null, t("login.title")),
    field(t("login.username"), username),
    field(t("login.password"), password, { help: t("login.passwordHelp") }),
    h("button", { type: "submit", class: "primary" }, t("login.submit")),
    message,
  );
  return { element: h("section", { class: "centered" }, form), focus: username };
}
