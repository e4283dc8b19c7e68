// The clusters projects run on, for admins: register one from a kubeconfig, check its health, set who may use it and
// what their pods may ask of it (its policy), remove it. Credentials go in and never come out.
import { h, field, notice, when } from "../ui.mjs";
import { t } from "../i18n.mjs";

const levels = ["restricted", "baseline", "privileged"];
const listText = (items) => (items ?? []).join(", ");
const listOf = (text) =>
  text
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);

export async function clustersPage({ api, user }) {
  if (!user?.isAdmin) throw new Error(t("clusters.adminsOnly"));
  const message = h("p", { class: "notice", role: "status" });
  const list = h("div", { class: "clusters" });

  async function load() {
    const { clusters } = await api.get("/api/v1/clusters");
    list.replaceChildren(...(await Promise.all(clusters.map(card))));
  }

  /** A cluster: what it is, its health on demand, its policy as a form. */
  async function card(cluster) {
    const policy = await api.get(`/api/v1/clusters/${encodeURIComponent(cluster.name)}/policy`);
    const health = h("p", { class: "health muted", role: "status" }, t("clusters.notChecked"));
    const inputs = {
      projects: h("input", { name: "policy-projects", value: listText(policy.projects), placeholder: t("clusters.projectsPlaceholder") }),
      level: h("select", { name: "policy-level" }, ...levels.map((level) => h("option", { value: level, selected: level === policy.level }, level))),
      hostPaths: h("input", { name: "policy-hostPaths", value: listText(policy.hostPaths), placeholder: t("clusters.none") }),
      serviceAccounts: h("input", { name: "policy-serviceAccounts", value: listText(policy.serviceAccounts), placeholder: t("clusters.none") }),
      secrets: h("input", { name: "policy-secrets", value: listText(policy.secrets), placeholder: t("clusters.none") }),
      gpuLabel: h("input", { name: "policy-gpuLabel", value: policy.gpuLabel ?? "" }),
    };
    async function checkHealth() {
      health.textContent = t("clusters.checking");
      try {
        const found = await api.get(`/api/v1/clusters/${encodeURIComponent(cluster.name)}/health`);
        health.replaceChildren(`${found.ok ? t("clusters.healthy") : t("clusters.notHealthy")}: `, h("span", { translate: "no" }, found.message));
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
        notice(message, t("clusters.policySaved", { cluster: cluster.name }), "ok");
      } catch (error) {
        notice(message, error.message, "error");
      }
    }
    async function remove() {
      if (!confirm(t("clusters.confirmRemove", { cluster: cluster.name }))) return;
      try {
        await api.del(`/api/v1/clusters/${encodeURIComponent(cluster.name)}`);
        notice(message, t("clusters.removed", { cluster: cluster.name }), "ok");
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
      h("p", { class: "muted" }, local ? t("clusters.local") : `${cluster.server} · ${t("clusters.namespace", { namespace: cluster.namespace ?? "default" })} · ${t("clusters.credentials", { credentials: cluster.credentials ?? t("clusters.none") })}${cluster.prometheus ? ` · Prometheus ${cluster.prometheus}` : ""} · ${t("clusters.added", { date: when(cluster.createdAt) })}`),
      h("div", { class: "row" }, h("button", { type: "button", name: "health", onclick: checkHealth }, t("clusters.checkHealth")), local ? null : h("button", { type: "button", name: "remove", class: "danger", onclick: remove }, t("common.remove"))),
      health,
      h(
        "form",
        { class: "policy", onsubmit: savePolicy },
        h("h3", null, t("clusters.policy")),
        field(t("clusters.projects"), inputs.projects, { help: t("clusters.projectsHelp") }),
        field(t("clusters.level"), inputs.level),
        field(t("clusters.hostPaths"), inputs.hostPaths, { help: t("clusters.hostPathsHelp") }),
        field(t("clusters.serviceAccounts"), inputs.serviceAccounts),
        field(t("clusters.secrets"), inputs.secrets),
        field(t("clusters.gpuLabel"), inputs.gpuLabel, { help: t("clusters.gpuLabelHelp") }),
        h("button", { type: "submit", class: "primary" }, t("clusters.savePolicy")),
      ),
    );
  }

  const name = h("input", { name: "cluster-name", required: true, autocomplete: "off" });
  const kubeconfig = h("textarea", { name: "cluster-kubeconfig", rows: 8, required: true, placeholder: "apiVersion: v1\nkind: Config\n…" });
  const file = h("input", { type: "file", name: "cluster-kubeconfig-file", "aria-label": t("clusters.readFile") });
  const context = h("input", { name: "cluster-context", placeholder: t("clusters.contextPlaceholder") });
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
          notice(message, t("clusters.registered", { cluster: request.name }), "ok");
          form.reset();
          await load();
        } catch (error) {
          notice(message, error.message, "error");
        }
      },
    },
    h("h2", null, t("clusters.register")),
    field(t("common.name"), name),
    field("Kubeconfig", kubeconfig, { help: t("clusters.kubeconfigHelp") }),
    file,
    field(t("clusters.context"), context),
    field("Prometheus", prometheus, { help: t("clusters.prometheusHelp") }),
    h("button", { type: "submit", class: "primary" }, t("clusters.registerButton")),
  );

  await load();
  const element = h("section", { class: "list-page" }, h("div", { class: "page-head" }, h("h1", null, t("nav.clusters"))), message, list, form);
  return { element };
}
