// A project: its description and settings (cluster, default env and mounts, quotas, webhooks and alert defaults,
// retention), its members, what its runs take, and its alerts' webhook deliveries. Everyone in the project sees them; the controls to change them
// are there for those whose role allows it (`actions`).
import { h, field, notice, when, badge, keyValues, keyValueText, splitEnvironment, environmentToSave } from "../ui.mjs";
import { projectPath } from "../api.mjs";
import { triggers, formats, ruleFromForm, webhooksToSave, deliveryRow } from "../alerts.mjs";
import { memoryText } from "../usage.mjs";
import { t, stateName } from "../i18n.mjs";

const roles = ["viewer", "developer", "owner"];

export async function projectPage({ api, project, user }) {
  const message = h("p", { class: "notice", role: "status" });
  const membersBody = h("tbody");
  const details = await api.get(projectPath(project));
  const may = (action) => (details.actions ?? []).includes(action);
  const settings = details.settings ?? {};

  const description = h("input", { name: "project-description", value: details.description ?? "", disabled: !may("configure") });
  // The registered clusters; the current one stays a choice even if it was removed since.
  const known = (await api.get("/clusters").catch(() => ({ clusters: [] }))).clusters.map((item) => item.name);
  const current = settings.cluster ?? "local";
  const cluster = h(
    "select",
    { name: "settings-cluster", disabled: !may("configure") },
    [...new Set(["local", ...known, current])].map((name) => h("option", { value: name, selected: name === current }, name)),
  );
  const { plain, secretNames } = splitEnvironment(settings.env);
  const env = h("textarea", { name: "settings-env", rows: 3, disabled: !may("configure"), placeholder: t("editor.envPlaceholder") }, keyValueText(plain));
  const secrets = h("textarea", { name: "settings-secrets", rows: 2, disabled: !may("configure"), placeholder: t("project.secretsPlaceholder") }, secretNames.join("\n"));
  const nodeSelector = h("textarea", { name: "settings-nodeSelector", rows: 2, disabled: !may("configure"), placeholder: t("project.nodeSelectorPlaceholder") }, keyValueText(settings.nodeSelector));
  const mounts = h("textarea", { name: "settings-mounts", rows: 2, disabled: !may("configure"), placeholder: t("project.mountsPlaceholder") }, (settings.mounts ?? []).join("\n"));
  const runs = h("input", { name: "settings-maxConcurrentRuns", type: "number", value: settings.maxConcurrentRuns ?? "", disabled: !may("configure"), placeholder: t("project.noLimit") });
  const network = h("input", { name: "settings-network", type: "checkbox", checked: settings.network !== false, disabled: !may("configure") });
  // Host folders the project's local tasks may mount: a platform admin's choice (others see them, read-only).
  const hostPaths = h("textarea", { name: "settings-hostPaths", rows: 2, disabled: !user?.isAdmin, placeholder: t("project.hostPathsPlaceholder") }, (settings.hostPaths ?? []).join("\n"));
  const tasks = h("input", { name: "settings-maxConcurrentTasks", type: "number", value: settings.maxConcurrentTasks ?? "", disabled: !may("configure"), placeholder: t("project.noLimit") });
  const retention = settings.retention ?? {};
  const retentionDays = h("input", { name: "settings-retention-days", type: "number", min: 1, value: retention.days ?? "", disabled: !may("configure"), placeholder: t("project.anyAge") });
  const retentionRuns = h("input", { name: "settings-retention-runsPerPipeline", type: "number", min: 1, value: retention.runsPerPipeline ?? "", disabled: !may("configure"), placeholder: t("project.anyNumber") });
  const fields = {
    description: field(t("common.description"), description),
    "settings.cluster": field(t("project.cluster"), cluster, { help: t("project.clusterHelp") }),
    "settings.env": field(t("project.env"), env, { help: t("project.envHelp") }),
    "settings.secrets": field(t("project.secrets"), secrets, { help: t("project.secretsHelp") }),
    "settings.mounts": field(t("project.mounts"), mounts),
    "settings.maxConcurrentRuns": field(t("editor.maxActiveRuns"), runs),
    "settings.maxConcurrentTasks": field(t("project.maxTasks"), tasks),
    "settings.nodeSelector": field(t("project.nodeSelector"), nodeSelector, { help: t("project.nodeSelectorHelp") }),
    "settings.network": field(t("project.network"), network, { help: t("project.networkHelp") }),
    "settings.hostPaths": field(t("project.hostPaths"), hostPaths, { help: t("project.hostPathsHelp") }),
    "settings.retention": h(
      "fieldset",
      { class: "field" },
      h("legend", null, t("project.retention")),
      h("small", { class: "help" }, t("project.retentionHelp")),
      h("div", { class: "row" }, field(t("project.days"), retentionDays), field(t("project.runsPerPipeline"), retentionRuns)),
      h("div", { class: "field-error", role: "alert" }),
    ),
  };
  const number = (input) => (input.value === "" ? undefined : Number(input.value));

  // Webhooks: the stored ones (their URL and secret are never shown: a chat robot's URL is its key), marked for
  // removal or kept, and one to add; then the project's alert defaults.
  const storedWebhooks = settings.webhooks ?? {};
  const removedWebhooks = new Set();
  const webhookRows = h("tbody");
  const renderWebhooks = () =>
    webhookRows.replaceChildren(
      ...Object.entries(storedWebhooks).map(([name, webhook]) =>
        h(
          "tr",
          { dataset: { webhook: name }, class: removedWebhooks.has(name) ? "removed" : undefined },
          h("td", null, name),
          h("td", null, webhook.format),
          h("td", null, webhook.endpoint),
          h("td", null, webhook.signed ? t("project.signed") : ""),
          h(
            "td",
            null,
            may("configure")
              ? h("button", { type: "button", onclick: () => (removedWebhooks.has(name) ? removedWebhooks.delete(name) : removedWebhooks.add(name), renderWebhooks()) }, removedWebhooks.has(name) ? t("project.keep") : t("common.remove"))
              : "",
          ),
        ),
      ),
    );
  renderWebhooks();
  const newWebhook = {
    name: h("input", { name: "webhook-name", placeholder: t("common.example", { example: "oncall" }), disabled: !may("configure") }),
    url: h("input", { name: "webhook-url", placeholder: "https://…", disabled: !may("configure") }),
    format: h("select", { name: "webhook-format", disabled: !may("configure") }, ...formats().map(([value, label]) => h("option", { value }, label))),
    secret: h("input", { name: "webhook-secret", type: "password", autocomplete: "off", placeholder: t("project.webhookSecretPlaceholder"), disabled: !may("configure") }),
  };
  const defaults = settings.alerts ?? {};
  const alertOn = triggers().map(([value, label]) => [value, h("input", { type: "checkbox", name: `alerts-on-${value}`, checked: (defaults.on ?? []).includes(value), disabled: !may("configure") }), label]);
  const alertUsers = h("input", { name: "alerts-users", value: (defaults.users ?? []).join(", "), placeholder: t("project.userNames"), disabled: !may("configure") });
  const alertWebhooks = h("input", { name: "alerts-webhooks", value: (defaults.webhooks ?? []).join(", "), placeholder: t("project.webhookNames"), disabled: !may("configure") });
  const alertLong = h("input", { name: "alerts-runningLongerThan", value: defaults.runningLongerThan ?? "", placeholder: t("common.example", { example: "2h" }), disabled: !may("configure") });
  fields["settings.webhooks"] = h(
    "fieldset",
    { class: "field" },
    h("legend", null, t("project.webhooks")),
    h("table", { class: "webhooks" }, h("thead", null, h("tr", null, ...["name", "format", "endpoint"].map((title) => h("th", null, t(`project.webhook.${title}`))), h("th"), h("th"))), webhookRows),
    h("div", { class: "row" }, field(t("project.newWebhook"), newWebhook.name), field(t("project.webhook.url"), newWebhook.url), field(t("project.webhook.format"), newWebhook.format), field(t("project.webhook.secret"), newWebhook.secret)),
    h("div", { class: "field-error", role: "alert" }),
  );
  fields["settings.alerts"] = h(
    "fieldset",
    { class: "field" },
    h("legend", null, t("project.alertDefaults")),
    h("small", { class: "help" }, t("project.alertDefaultsHelp")),
    h("div", { class: "row" }, ...alertOn.map(([, input, label]) => field(label, input))),
    field(t("alerts.tellMembers"), alertUsers, { help: t("project.alertUsersHelp") }),
    field(t("project.alertWebhooks"), alertWebhooks),
    field(t("alerts.runningLongerThan"), alertLong),
    h("div", { class: "field-error", role: "alert" }),
  );
  const names = (text) => text.split(/[\s,]+/).map((name) => name.trim()).filter(Boolean);

  async function save(event) {
    event.preventDefault();
    for (const wrapper of Object.values(fields)) wrapper.querySelector(":scope > .field-error").textContent = "";
    const body = {
      description: description.value,
      settings: {
        cluster: cluster.value.trim() || "local",
        env: environmentToSave(env.value, secrets.value),
        mounts: mounts.value.split("\n").map((line) => line.trim()).filter(Boolean),
        maxConcurrentRuns: number(runs),
        maxConcurrentTasks: number(tasks),
        nodeSelector: keyValues(nodeSelector.value),
        network: network.checked,
        retention: number(retentionDays) || number(retentionRuns) ? { days: number(retentionDays), runsPerPipeline: number(retentionRuns) } : undefined,
        // Left out unless an admin edits them: absent means unchanged.
        hostPaths: user?.isAdmin ? hostPaths.value.split("\n").map((line) => line.trim()).filter(Boolean) : undefined,
        webhooks: webhooksToSave(storedWebhooks, [...removedWebhooks], newWebhook.name.value.trim() ? [{ name: newWebhook.name.value, url: newWebhook.url.value, format: newWebhook.format.value, secret: newWebhook.secret.value }] : []),
        alerts: ruleFromForm({
          on: alertOn.filter(([, input]) => input.checked).map(([value]) => value),
          users: alertUsers.value,
          webhooks: names(alertWebhooks.value),
          runningLongerThan: alertLong.value,
        }),
      },
    };
    try {
      const saved = await api.patch(projectPath(project), body);
      // What is stored now: a new webhook is listed, a removed one gone, the secret field empty again.
      for (const name of Object.keys(storedWebhooks)) delete storedWebhooks[name];
      Object.assign(storedWebhooks, saved.settings?.webhooks ?? {});
      removedWebhooks.clear();
      for (const input of [newWebhook.name, newWebhook.url, newWebhook.secret]) input.value = "";
      renderWebhooks();
      notice(message, t("project.saved"), "ok");
    } catch (error) {
      notice(message, error.message, "error");
      for (const problem of error.fields ?? []) {
        const key = Object.keys(fields).find((name) => problem.field === name || problem.field.startsWith(`${name}.`) || problem.field.startsWith(`${name}[`));
        if (key) fields[key].querySelector(":scope > .field-error").textContent = `${problem.field}: ${problem.message}`;
      }
    }
  }

  async function loadMembers() {
    const { members } = await api.get(projectPath(project, "members"));
    membersBody.replaceChildren(
      ...members.map((member) =>
        h(
          "tr",
          { dataset: { member: member.username } },
          h("td", null, member.username),
          h(
            "td",
            null,
            may("manageMembers")
              ? h("select", { "aria-label": t("project.roleOf", { user: member.username }), onchange: (event) => setRole(member.username, event.target.value) }, ...roles.map((role) => h("option", { value: role, selected: role === member.role }, t(`role.${role}`))))
              : t(`role.${member.role}`),
          ),
          h("td", null, when(member.addedAt)),
          h("td", null, may("manageMembers") ? h("button", { type: "button", class: "danger", onclick: () => remove(member.username) }, t("common.remove")) : ""),
        ),
      ),
    );
  }

  async function setRole(username, role) {
    try {
      await api.post(projectPath(project, "members"), { username, role });
      notice(message, t("project.roleSet", { user: username, role: t(`role.${role}`) }), "ok");
      await loadMembers();
    } catch (error) {
      notice(message, error.message, "error");
    }
  }

  async function remove(username) {
    if (!confirm(t("project.confirmRemove", { user: username, project }))) return;
    try {
      await api.del(projectPath(project, "members", username));
      notice(message, t("project.removed", { user: username }), "ok");
      await loadMembers();
    } catch (error) {
      notice(message, error.message, "error");
    }
  }

  // Alert deliveries: newest first, a dead one retried by hand.
  const deliveryBody = h("tbody");
  const deliveryState = h("select", { name: "deliveries-state", "aria-label": t("project.deliveriesShown"), onchange: () => loadDeliveries() }, ...["", "pending", "dead", "delivered"].map((state) => h("option", { value: state }, state ? stateName(state) : t("project.all"))));
  async function loadDeliveries() {
    const filter = deliveryState.value ? `?state=${deliveryState.value}` : "";
    const { deliveries } = await api.get(projectPath(project, "alerts") + filter);
    deliveryBody.replaceChildren(
      ...(deliveries.length ? [] : [h("tr", null, h("td", { colspan: 6, class: "muted" }, t("project.noDeliveries")))]),
      ...deliveries.map((delivery) => {
        const row = deliveryRow(delivery);
        return h(
          "tr",
          { dataset: { delivery: `${delivery.event.id}/${delivery.webhook}`, state: delivery.state } },
          h("td", null, when(delivery.createdAt)),
          h("td", null, row.what),
          h("td", null, row.webhook),
          h("td", null, badge(delivery.state), " ", row.state === delivery.state ? "" : row.state),
          h("td", { class: "error-text", translate: "no" }, row.error),
          h("td", null, delivery.state === "dead" && may("runPipelines") ? h("button", { type: "button", name: "retry-delivery", onclick: () => retryDelivery(delivery) }, t("common.retry")) : ""),
        );
      }),
    );
  }
  async function retryDelivery(delivery) {
    try {
      await api.post(projectPath(project, "alerts", "retry"), { event: delivery.event.id, webhook: delivery.webhook });
      notice(message, t("project.sendingAgain", { webhook: delivery.webhook }), "ok");
      await loadDeliveries();
    } catch (error) {
      notice(message, error.message, "error");
    }
  }
  await loadDeliveries().catch((error) => notice(message, error.message, "error"));

  // What the project's runs take, beside its retention.
  const storage = h("p", { class: "storage", "aria-live": "polite" });
  async function loadStorage() {
    const used = await api.get(projectPath(project, "storage"));
    storage.replaceChildren(t("project.storage", { runs: used.runs, pinned: used.pinnedRuns, attempts: used.attempts, logs: memoryText(used.logBytes), records: memoryText(used.recordBytes) }));
  }
  await loadStorage().catch((error) => notice(message, error.message, "error"));

  const newMember = h("input", { name: "member-username", placeholder: t("project.userName") });
  const newRole = h("select", { name: "member-role" }, ...roles.map((role) => h("option", { value: role }, t(`role.${role}`))));
  await loadMembers();
  const element = h(
    "section",
    { class: "project" },
    h("div", { class: "page-head" }, h("h1", null, t("project.title", { project })), h("span", { class: "muted" }, t("project.yourRole", { role: t(`role.${details.role}`) }))),
    message,
    h(
      "div",
      { class: "columns" },
      h("form", { class: "card", onsubmit: save }, h("h2", null, t("common.settings")), ...Object.values(fields), may("configure") ? h("button", { type: "submit", class: "primary" }, t("project.saveSettings")) : null),
      h(
        "div",
        { class: "card" },
        h("h2", null, t("project.members")),
        h("table", null, h("thead", null, h("tr", null, ...["user", "role", "since"].map((title) => h("th", null, t(`project.member.${title}`))), h("th"))), membersBody),
        may("manageMembers")
          ? h("form", { class: "row", onsubmit: (event) => (event.preventDefault(), setRole(newMember.value.trim(), newRole.value)) }, field(t("project.addMember"), newMember), field(t("project.member.role"), newRole), h("button", { type: "submit" }, t("project.add")))
          : null,
      ),
    ),
    h("div", { class: "card" }, h("h2", null, t("project.storageTitle")), storage),
    h(
      "div",
      { class: "card deliveries" },
      h("div", { class: "page-head" }, h("h2", null, t("project.deliveries")), deliveryState, h("button", { type: "button", onclick: () => loadDeliveries() }, t("project.refresh"))),
      h("table", null, h("thead", null, h("tr", null, ...["when", "what", "webhook", "state", "lastError"].map((title) => h("th", null, t(`project.delivery.${title}`))), h("th"))), deliveryBody),
    ),
  );
  return { element };
}

/** Creating a project (any user may; they become its owner). */
export async function newProjectPage({ api, go, signedIn }) {
  const name = h("input", { name: "project-name", placeholder: t("common.example", { example: "ml-team" }), required: true });
  const description = h("input", { name: "project-description" });
  const message = h("p", { class: "notice", role: "status" });
  const form = h(
    "form",
    {
      class: "card narrow",
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          await api.post("/api/v1/projects", { name: name.value.trim(), description: description.value });
          await signedIn(`#/p/${name.value.trim()}/settings`);
        } catch (error) {
          notice(message, error.message, "error");
        }
      },
    },
    h("h1", null, t("nav.newProject")),
    field(t("common.name"), name, { help: t("project.nameHelp") }),
    field(t("common.description"), description),
    h("button", { type: "submit", class: "primary" }, t("common.create")),
    message,
  );
  return { element: h("section", null, form), focus: name };
}
