// A project's pipelines: search, create, open, clone, delete, and the way to their runs and schedule records.
import { h, notice, when } from "../ui.mjs";
import { projectPath } from "../api.mjs";
import { t } from "../i18n.mjs";

export async function pipelinesPage({ api, project, go }) {
  const message = h("p", { class: "notice", role: "status" });
  const search = h("input", { type: "search", placeholder: t("pipelines.search"), "aria-label": t("pipelines.search") });
  const body = h("tbody");
  let pipelines = [];

  async function load() {
    pipelines = await api.all(projectPath(project, "pipelines"), "pipelines");
    show();
  }

  function show() {
    const text = search.value.trim().toLowerCase();
    const shown = pipelines.filter((item) => !text || item.name.includes(text) || (item.description ?? "").toLowerCase().includes(text));
    body.replaceChildren(
      ...shown.map((item) =>
        h(
          "tr",
          { dataset: { pipeline: item.name } },
          h("td", null, h("a", { href: `#/p/${project}/pipelines/${item.name}` }, item.name)),
          h("td", { translate: "no" }, item.description ?? ""),
          h("td", null, String(item.tasks)),
          h("td", null, `v${item.version}`),
          h("td", null, when(item.updatedAt)),
          h(
            "td",
            { class: "actions" },
            h("a", { href: `#/p/${project}/runs?pipeline=${item.name}` }, t("pipelines.runs")),
            h("a", { href: `#/p/${project}/pipelines/${item.name}/history` }, t("pipelines.history")),
            h("a", { href: `#/p/${project}/pipelines/${item.name}/records` }, t("pipelines.schedule")),
            h("button", { type: "button", onclick: () => clone(item.name) }, t("pipelines.clone")),
            h("button", { type: "button", class: "danger", onclick: () => remove(item.name) }, t("common.delete")),
          ),
        ),
      ),
    );
    if (!shown.length) body.append(h("tr", null, h("td", { colspan: 6, class: "empty" }, pipelines.length ? t("pipelines.noMatch") : t("pipelines.none"))));
  }

  async function clone(name) {
    const copy = prompt(t("pipelines.copyName", { name }), `${name}-copy`);
    if (!copy) return;
    try {
      const current = await api.get(projectPath(project, "pipelines", name));
      const layout = await api.get(projectPath(project, "pipelines", name, "layout"));
      const document = { ...current.spec, metadata: { ...current.spec.metadata, name: copy, project: undefined } };
      await api.post(projectPath(project, "pipelines"), document);
      await api.put(projectPath(project, "pipelines", copy, "layout"), layout);
      notice(message, t("pipelines.cloned", { name, copy }), "ok");
      await load();
    } catch (error) {
      notice(message, error.message, "error");
    }
  }

  async function remove(name) {
    if (!confirm(t("pipelines.confirmDelete", { name }))) return;
    try {
      await api.del(projectPath(project, "pipelines", name));
      notice(message, t("common.deleted", { name }), "ok");
      await load();
    } catch (error) {
      notice(message, error.message, "error");
    }
  }

  search.addEventListener("input", show);
  await load();
  const element = h(
    "section",
    { class: "list-page" },
    h("div", { class: "page-head" }, h("h1", null, t("pipelines.title", { project })), search, h("button", { type: "button", class: "primary", onclick: () => go(`#/p/${project}/new`) }, t("pipelines.new"))),
    message,
    h("table", null, h("thead", null, h("tr", null, ...["name", "description", "tasks", "version", "updated"].map((title) => h("th", null, t(`pipelines.column.${title}`))), h("th"))), body),
  );
  return { element };
}
