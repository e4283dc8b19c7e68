// A project: its description and settings (cluster, default env and mounts, quotas) and its members. Everyone in
// the project sees them; the controls to change them are there for those whose role allows it (`actions`).
import { h, field, notice, when, keyValues, keyValueText, splitEnvironment, environmentToSave } from "../ui.mjs";
import { projectPath } from "../api.mjs";

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
  const env = h("textarea", { name: "settings-env", rows: 3, disabled: !may("configure"), placeholder: "KEY=value, one per line" }, keyValueText(plain));
  const secrets = h("textarea", { name: "settings-secrets", rows: 2, disabled: !may("configure"), placeholder: "NAME=value to set; NAME alone keeps it" }, secretNames.join("\n"));
  const nodeSelector = h("textarea", { name: "settings-nodeSelector", rows: 2, disabled: !may("configure"), placeholder: "label=value, one per line" }, keyValueText(settings.nodeSelector));
  const mounts = h("textarea", { name: "settings-mounts", rows: 2, disabled: !may("configure"), placeholder: "source(kind):/path, one per line" }, (settings.mounts ?? []).join("\n"));
  const runs = h("input", { name: "settings-maxConcurrentRuns", type: "number", value: settings.maxConcurrentRuns ?? "", disabled: !may("configure"), placeholder: "no limit" });
  const network = h("input", { name: "settings-network", type: "checkbox", checked: settings.network !== false, disabled: !may("configure") });
  // Host folders the project's local tasks may mount: a platform admin's choice (others see them, read-only).
  const hostPaths = h("textarea", { name: "settings-hostPaths", rows: 2, disabled: !user?.isAdmin, placeholder: "/data/team, one per line" }, (settings.hostPaths ?? []).join("\n"));
  const tasks = h("input", { name: "settings-maxConcurrentTasks", type: "number", value: settings.maxConcurrentTasks ?? "", disabled: !may("configure"), placeholder: "no limit" });
  const fields = {
    description: field("Description", description),
    "settings.cluster": field("Cluster", cluster, { help: "Where the project's runs go: local processes, or a Kubernetes cluster through Argo." }),
    "settings.env": field("Default environment", env, { help: "Every task of every run, below the template's and the pipeline's." }),
    "settings.secrets": field("Secret environment", secrets, { help: "Shown to no one, masked in logs, given to tasks at launch. Write NAME=value to set one; a name alone keeps its value." }),
    "settings.mounts": field("Default mounts", mounts),
    "settings.maxConcurrentRuns": field("Most runs at once", runs),
    "settings.maxConcurrentTasks": field("Most tasks at once", tasks),
    "settings.nodeSelector": field("Node selector", nodeSelector, { help: "On Kubernetes: node labels every pod of the project's runs must match." }),
    "settings.network": field("Network", network, { help: "Local tasks reach the network; off, each has only its own loopback." }),
    "settings.hostPaths": field("Host folders tasks may mount", hostPaths, { help: "Local hostpath mounts must be one of these or below one. Set by a platform admin." }),
  };
  const number = (input) => (input.value === "" ? undefined : Number(input.value));

  async function save(event) {
    event.preventDefault();
    for (const wrapper of Object.values(fields)) wrapper.querySelector(".field-error").textContent = "";
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
        // Left out unless an admin edits them: absent means unchanged.
        hostPaths: user?.isAdmin ? hostPaths.value.split("\n").map((line) => line.trim()).filter(Boolean) : undefined,
      },
    };
    try {
      await api.patch(projectPath(project), body);
      notice(message, "Saved.", "ok");
    } catch (error) {
      notice(message, error.message, "error");
      for (const problem of error.fields ?? []) {
        const key = Object.keys(fields).find((name) => problem.field === name || problem.field.startsWith(`${name}.`) || problem.field.startsWith(`${name}[`));
        if (key) fields[key].querySelector(".field-error").textContent = problem.message;
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
              ? h("select", { "aria-label": `Role of ${member.username}`, onchange: (event) => setRole(member.username, event.target.value) }, ...roles.map((role) => h("option", { value: role, selected: role === member.role }, role)))
              : member.role,
          ),
          h("td", null, when(member.addedAt)),
          h("td", null, may("manageMembers") ? h("button", { type: "button", class: "danger", onclick: () => remove(member.username) }, "Remove") : ""),
        ),
      ),
    );
  }

  async function setRole(username, role) {
    try {
      await api.post(projectPath(project, "members"), { username, role });
      notice(message, `${username} is now ${role}.`, "ok");
      await loadMembers();
    } catch (error) {
      notice(message, error.message, "error");
    }
  }

  async function remove(username) {
    if (!confirm(`Remove ${username} from ${project}?`)) return;
    try {
      await api.del(projectPath(project, "members", username));
      notice(message, `Removed ${username}.`, "ok");
      await loadMembers();
    } catch (error) {
      notice(message, error.message, "error");
    }
  }

  const newMember = h("input", { name: "member-username", placeholder: "user name" });
  const newRole = h("select", { name: "member-role" }, ...roles.map((role) => h("option", { value: role }, role)));
  await loadMembers();
  const element = h(
    "section",
    { class: "project" },
    h("div", { class: "page-head" }, h("h1", null, `Project ${project}`), h("span", { class: "muted" }, `your role: ${details.role}`)),
    message,
    h(
      "div",
      { class: "columns" },
      h("form", { class: "card", onsubmit: save }, h("h2", null, "Settings"), ...Object.values(fields), may("configure") ? h("button", { type: "submit", class: "primary" }, "Save settings") : null),
      h(
        "div",
        { class: "card" },
        h("h2", null, "Members"),
        h("table", null, h("thead", null, h("tr", null, ...["User", "Role", "Since", ""].map((title) => h("th", null, title)))), membersBody),
        may("manageMembers")
          ? h("form", { class: "row", onsubmit: (event) => (event.preventDefault(), setRole(newMember.value.trim(), newRole.value)) }, field("Add a member", newMember), field("Role", newRole), h("button", { type: "submit" }, "Add"))
          : null,
      ),
    ),
  );
  return { element };
}

/** Creating a project (any user may; they become its owner). */
export async function newProjectPage({ api, go, signedIn }) {
  const name = h("input", { name: "project-name", placeholder: "e.g. ml-team", required: true });
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
    h("h1", null, "New project"),
    field("Name", name, { help: "Lowercase letters, digits and '-'." }),
    field("Description", description),
    h("button", { type: "submit", class: "primary" }, "Create"),
    message,
  );
  return { element: h("section", null, form), focus: name };
}
