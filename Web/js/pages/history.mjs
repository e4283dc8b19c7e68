// A pipeline's run history: the grid of its last runs × its tasks coloured by state (each cell opens that task in that
// run), every run's state above its column, each task's durations across the runs as a small line, older runs on
// demand.
import { h, svg, badge, when, notice } from "../ui.mjs";
import { t, fixed, stateName, triggerName } from "../i18n.mjs";
import { projectPath } from "../api.mjs";
import { gridModel, mergeGrids, cellLabel, sparklinePath } from "../history.mjs";

const sizes = [10, 25, 50, 100];

export async function historyPage({ api, project, params, query, go }) {
  const pipeline = params.pipeline;
  const limit = sizes.includes(Number(query.get("limit"))) ? Number(query.get("limit")) : 25;
  const path = `${projectPath(project, "pipelines", pipeline, "grid")}?limit=${limit}`;
  let grid = await api.get(path);
  const message = h("p", { class: "notice", role: "status" });
  const table = h("table", { class: "grid-history", "aria-label": t("history.tableLabel", { pipeline }) });
  const more = h("button", { type: "button", onclick: older }, t("history.older"));

  function render() {
    const model = gridModel(grid);
    more.hidden = !grid.next;
    if (!model.runs.length) {
      table.replaceChildren(h("tbody", null, h("tr", null, h("td", { class: "empty" }, t("history.none")))));
      return;
    }
    const head = h(
      "tr",
      null,
      h("th", { scope: "col" }, t("common.task")),
      ...model.runs.map((run) =>
        h(
          "th",
          { scope: "col", class: "grid-run" },
          h("a", { href: `#/p/${project}/runs/${run.id}`, class: `run-bar state-${run.state}`, title: `${stateName(run.state)} · ${triggerName(run.trigger)} · ${when(run.createdAt)}`, "aria-label": t("history.runLabel", { run: run.id.slice(0, 8), state: stateName(run.state) }) }),
        ),
      ),
      h("th", { scope: "col" }, t("runs.column.duration")),
    );
    const rows = model.rows.map((row) =>
      h(
        "tr",
        { dataset: { task: row.task } },
        h("th", { scope: "row" }, row.task),
        ...row.cells.map((cell, index) => {
          const label = cellLabel(row.task, cell);
          return h(
            "td",
            null,
            cell
              ? h("a", { href: `#/p/${project}/runs/${model.runs[index].id}?task=${encodeURIComponent(row.task)}`, class: `cell state-${cell.state}`, title: label, "aria-label": label, dataset: { state: cell.state } })
              : h("span", { class: "cell absent", title: label }),
          );
        }),
        h("td", null, sparkline(row.cells.map((cell) => cell?.seconds ?? null), row.task)),
      ),
    );
    table.replaceChildren(h("thead", null, head), h("tbody", null, ...rows));
  }

  function sparkline(values, task) {
    const known = values.filter((value) => value != null);
    const longest = known.length ? Math.max(...known) : 0;
    return svg(
      "svg",
      { class: "sparkline", width: 80, height: 20, viewBox: "-2 -2 84 24", role: "img", "aria-label": t("history.sparkline", { task, longest: fixed(longest, 1), count: known.length }) },
      svg("path", { d: sparklinePath(values, 80, 20) }),
    );
  }

  async function older() {
    try {
      const page = await api.get(`${path}&cursor=${encodeURIComponent(grid.next)}`);
      grid = mergeGrids(grid, page);
      render();
    } catch (error) {
      notice(message, error.message, "error");
    }
  }

  render();
  const size = h("select", { "aria-label": t("history.runsShown"), onchange: (event) => go(`#/p/${project}/pipelines/${pipeline}/history?limit=${event.target.value}`) }, ...sizes.map((value) => h("option", { value, selected: value === limit }, t("history.runs", { count: value }))));
  const legend = h("p", { class: "legend muted" }, ...["succeeded", "failed", "running", "upstream_failed", "skipped", "pending"].map((state) => [badge(state), " "]));
  const element = h(
    "section",
    { class: "list-page history" },
    h("div", { class: "page-head" }, h("h1", null, t("history.title"), " ", h("a", { href: `#/p/${project}/pipelines/${pipeline}` }, pipeline)), size, more),
    message,
    legend,
    h("div", { class: "grid-scroll" }, table),
  );
  return { element };
}
