// Logging in: local and directory (LDAP) users alike.
import { h, field, notice } from "../ui.mjs";

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
        notice(message, "Logging in…", "busy");
        try {
          await api.login(username.value.trim(), password.value);
          await signedIn();
        } catch (error) {
          notice(message, error.message, "error");
        }
      },
    },
    h("h1", null, "Log in to Trellis"),
    field("User name", username),
    field("Password", password, { help: "Your directory (LDAP) password, or your Trellis password." }),
    h("button", { type: "submit", class: "primary" }, "Log in"),
    message,
  );
  return { element: h("section", { class: "centered" }, form), focus: username };
}
