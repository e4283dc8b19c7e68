// The clusters projects run on, for admins: register one from a kubeconfig, check its health, set who may use it and
// what their pods may ask of it (its policy), remove it. Credentials go in and never come out.
import { h, field, notice, when } from "../ui.mjs";

const levels = ["restricted", "baseline", "privileged"];
const listText = (items) => (items ?? []).join(", ");
const listOf = (text) =>
  text
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);

export async function clustersPage({ api, user }) {
  if (!user?.isAdmin) throw new Error("Only platform admins manage clusters.");
  const message = h("p", { class: "notice", role: "status" });
  const list = h("div", { class: "clusters" });

  async function load() {
    const { clusters } = await api.get("/api/v1/clusters");
    list.replaceChildren(...(await Promise.all(clusters.map(card))));
  }

  /** A cluster: what it is, its health on demand, its policy as a form. */
  async function card(cluster) {
    const policy = await api.get(`/api/v1/clusters/${encodeURIComponent(cluster.name)}/policy`);
    const health = h("p", { class: "health muted", role: "status" }, "Health not checked yet.");
    const inputs = {
      projects: h("input", { name: "policy-projects", value: listText(policy.projects), placeholder: "project names, * for all" }),
      level: h("select", { name: "policy-level" }, ...levels.map((level) => h("option", { value: level, selected: level === policy.level }, level))),
      hostPaths: h("input", { name: "policy-hostPaths", value: listText(policy.hostPaths), placeholder: "none" }),
      serviceAccounts: h("input", { name: "policy-serviceAccounts", value: listText(policy.serviceAccounts), placeholder: "none" }),
      secrets: h("input", { name: "policy-secrets", value: listText(policy.secrets), placeholder: "none" }),
      gpuLabel: h("input", { name: "policy-gpuLabel", value: policy.gpuLabel ?? "" }),
    };
    async function checkHealth() {
      health.textContent = "Checking…";
      try {
        const found = await api.get(`/api/v1/clusters/${encodeURIComponent(cluster.name)}/health`);
        health.textContent = `${found.ok ? "Healthy" : "Not healthy"}: ${found.message}`;
        health.className = `health ${found.ok ? "ok" : "error"}`;
      } catch (error) {
        health.textContent = error.message;
        health.className = "health error";
      }
    }
    async function savePolicy(event) {
      event.preventDefault();
      const changed = {
        projects: listOf(inputs.projects.value),
        level: inputs.level.value,
        hostPaths: listOf(inputs.hostPaths.value),
        serviceAccounts: listOf(inputs.serviceAccounts.value),
        secrets: listOf(inputs.secrets.value),
        ...(inputs.gpuLabel.value.trim() ? { gpuLabel: inputs.gpuLabel.value.trim() } : {}),
      };
      try {
        await api.put(`/api/v1/clusters/${encodeURIComponent(cluster.name)}/policy`, changed);
        notice(message, `Saved the policy of ${cluster.name}.`, "ok");
      } catch (error) {
        notice(message, error.message, "error");
      }
    }
    async function remove() {
      if (!confirm(`Remove cluster ${cluster.name}? Projects bound to it cannot start runs until they choose another.`)) return;
      try {
        await api.del(`/api/v1/clusters/${encodeURIComponent(cluster.name)}`);
        notice(message, `Removed ${cluster.name}.`, "ok");
        await load();
      } catch (error) {
        notice(message, error.message, "error");
      }
    }
    const local = cluster.kind === "local";
    return h(
      "article",
      { class: "cluster card", dataset: { cluster: cluster.name } },
      h("h2", null, cluster.name, " ", h("small", { class: "muted" }, cluster.kind)),
      h("p", { class: "muted" }, local ? "Tasks run as processes on this machine." : `${cluster.server} · namespace ${cluster.namespace ?? "default"} · credentials ${cluster.credentials ?? "none"}${cluster.prometheus ? ` · Prometheus ${cluster.prometheus}` : ""} · added ${when(cluster.createdAt)}`),
      h("div", { class: "row" }, h("button", { type: "button", name: "health", onclick: checkHealth }, "Check health"), local ? null : h("button", { type: "button", name: "remove", class: "danger", onclick: remove }, "Remove")),
      health,
      h(
        "form",
        { class: "policy", onsubmit: savePolicy },
        h("h3", null, "Who may use it, and what their pods may ask"),
        field("Projects", inputs.projects, { help: "Granted projects, comma-separated; * for every project." }),
        field("Pod Security level", inputs.level),
        field("Host paths", inputs.hostPaths, { help: "Host folders pods may mount (privileged level only)." }),
        field("Service accounts", inputs.serviceAccounts),
        field("Secrets", inputs.secrets),
        field("GPU label", inputs.gpuLabel, { help: "The node label naming a node's kind of GPU, which a task's GPU type selects." }),
        h("button", { type: "submit", class: "primary" }, "Save policy"),
      ),
    );
  }

  const name = h("input", { name: "cluster-name", required: true, autocomplete: "off" });
  const kubeconfig = h("textarea", { name: "cluster-kubeconfig", rows: 8, required: true, placeholder: "apiVersion: v1\nkind: Config\n…" });
  const file = h("input", { type: "file", name: "cluster-kubeconfig-file", "aria-label": "Read a kubeconfig file" });
  const context = h("input", { name: "cluster-context", placeholder: "the file's current context" });
  const prometheus = h("input", { name: "cluster-prometheus", placeholder: "http://prometheus.monitoring:9090" });
  file.addEventListener("change", async () => {
    if (file.files?.[0]) kubeconfig.value = await file.files[0].text();
  });
  const form = h(
    "form",
    {
      class: "new-cluster",
      onsubmit: async (event) => {
        event.preventDefault();
        const request = { name: name.value.trim(), kubeconfig: kubeconfig.value };
        if (context.value.trim()) request.context = context.value.trim();
        if (prometheus.value.trim()) request.prometheus = prometheus.value.trim();
        try {
          await api.post("/api/v1/clusters", request);
          notice(message, `Registered ${request.name}; grant it to projects in its policy.`, "ok");
          form.reset();
          await load();
        } catch (error) {
          notice(message, error.message, "error");
        }
      },
    },
    h("h2", null, "Register a Kubernetes cluster"),
    field("Name", name),
    field("Kubeconfig", kubeconfig, { help: "Its credentials are sealed and never shown again." }),
    file,
    field("Context", context),
    field("Prometheus", prometheus, { help: "Optional: the Prometheus that scrapes its pods, for tasks' resource charts." }),
    h("button", { type: "submit", class: "primary" }, "Register"),
  );

  await load();
  const element = h("section", { class: "list-page" }, h("div", { class: "page-head" }, h("h1", null, "Clusters")), message, list, form);
  return { element };
}
