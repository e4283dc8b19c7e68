// A project's pipelines: search, create, open, clone, delete, and the way to their runs and schedule records.
import { h, notice, when } from "../ui.mjs";
import { projectPath } from "../api.mjs";

export async function pipelinesPage({ api, project, go }) {
  const message = h("p", { class: "notice", role: "status" });
  const search = h("input", { type: "search", placeholder: "Search pipelines", "aria-label": "Search pipelines" });
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
          h("td", null, item.description ?? ""),
          h("td", null, String(item.tasks)),
          h("td", null, `v${item.version}`),
          h("td", null, when(item.updatedAt)),
          h(
            "td",
            { class: "actions" },
            h("a", { href: `#/p/${project}/runs?pipeline=${item.name}` }, "Runs"),
            h("a", { href: `#/p/${project}/pipelines/${item.name}/history` }, "History"),
            h("a", { href: `#/p/${project}/pipelines/${item.name}/records` }, "Schedule"),
            h("button", { type: "button", onclick: () => clone(item.name) }, "Clone"),
            h("button", { type: "button", class: "danger", onclick: () => remove(item.name) }, "Delete"),
          ),
        ),
      ),
    );
    if (!shown.length) body.append(h("tr", null, h("td", { colspan: 6, class: "empty" }, pipelines.length ? "No pipeline matches." : "No pipelines yet: create one.")));
  }

  async function clone(name) {
    const copy = prompt(`Name of the copy of ${name}`, `${name}-copy`);
    if (!copy) return;
    try {
      const current = await api.get(projectPath(project, "pipelines", name));
      const layout = await api.get(projectPath(project, "pipelines", name, "layout"));
      const document = { ...current.spec, metadata: { ...current.spec.metadata, name: copy, project: undefined } };
      await api.post(projectPath(project, "pipelines"), document);
      await api.put(projectPath(project, "pipelines", copy, "layout"), layout);
      notice(message, `Cloned ${name} as ${copy}.`, "ok");
      await load();
    } catch (error) {
      notice(message, error.message, "error");
    }
  }

  async function remove(name) {
    if (!confirm(`Delete pipeline ${name}? Its runs stay.`)) return;
    try {
      await api.del(projectPath(project, "pipelines", name));
      notice(message, `Deleted ${name}.`, "ok");
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
    h("div", { class: "page-head" }, h("h1", null, `Pipelines of ${project}`), search, h("button", { type: "button", class: "primary", onclick: () => go(`#/p/${project}/new`) }, "New pipeline")),
    message,
    h("table", null, h("thead", null, h("tr", null, ...["Name", "Description", "Tasks", "Version", "Updated", ""].map((title) => h("th", null, title)))), body),
  );
  return { element };
}
