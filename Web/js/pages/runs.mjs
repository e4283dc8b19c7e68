// A project's runs (filtered by pipeline, trigger and state) and a pipeline's schedule records.
import { h, badge, duration, when, notice } from "../ui.mjs";
import { t, stateName, triggerName } from "../i18n.mjs";
import { projectPath } from "../api.mjs";

const triggers = ["", "manual", "single", "schedule", "backfill"];
const states = ["", "pending", "running", "succeeded", "failed", "cancelled"];

function choice(label, name, values, current, wordOf) {
  return h("label", null, label, " ", h("select", { name }, ...values.map((value) => h("option", { value, selected: value === current }, value ? wordOf(value) : t("runs.any")))));
}

export async function runsPage({ api, project, query, go }) {
  const filters = { pipeline: query.get("pipeline") ?? "", trigger: query.get("trigger") ?? "", state: query.get("state") ?? "" };
  const search = new URLSearchParams(Object.entries(filters).filter(([, value]) => value));
  search.set("limit", "200");
  const { runs } = await api.get(`${projectPath(project, "runs")}?${search}`);
  const form = h(
    "form",
    {
      class: "filters",
      onchange: (event) => {
        const data = new FormData(event.currentTarget);
        const next = new URLSearchParams([...data.entries()].filter(([, value]) => value));
        go(`#/p/${project}/runs${next.size ? `?${next}` : ""}`);
      },
      onsubmit: (event) => event.preventDefault(),
    },
    h("label", null, t("runs.pipeline"), " ", h("input", { name: "pipeline", value: filters.pipeline })),
    choice(t("runs.trigger"), "trigger", triggers, filters.trigger, triggerName),
    choice(t("runs.state"), "state", states, filters.state, stateName),
  );
  const rows = runs.map((run) =>
    h(
      "tr",
      { dataset: { run: run.id } },
      h("td", null, h("a", { href: `#/p/${project}/runs/${run.id}` }, run.id.slice(0, 8))),
      h("td", null, run.pipeline),
      h("td", null, badge(run.state), run.pinned ? h("span", { class: "pinned", title: t("runs.pinnedHelp") }, " ", t("runs.pinned")) : ""),
      h("td", null, triggerName(run.trigger)),
      h("td", null, when(run.executionDate)),
      h("td", null, when(run.createdAt)),
      h("td", null, duration(run.startedAt, run.finishedAt)),
      h("td", null, run.startedBy ?? ""),
    ),
  );
  const element = h(
    "section",
    { class: "list-page" },
    h("div", { class: "page-head" }, h("h1", null, t("runs.title", { project }))),
    form,
    h(
      "table",
      null,
      h("thead", null, h("tr", null, ...["run", "pipeline", "state", "trigger", "executionDate", "created", "duration", "by"].map((title) => h("th", null, t(`runs.column.${title}`))))),
      h("tbody", null, rows.length ? rows : h("tr", null, h("td", { colspan: 8, class: "empty" }, t("runs.noMatch")))),
    ),
  );
  return { element };
}

export async function recordsPage({ api, project, params }) {
  const base = projectPath(project, "pipelines", params.pipeline);
  const message = h("p", { class: "notice", role: "status" });
  const body = h("tbody");
  const head = h("div");

  async function load() {
    let schedule = null;
    try {
      schedule = await api.get(`${base}/schedule`);
    } catch (error) {
      head.replaceChildren(h("p", { class: "muted" }, error.status === 404 ? t("records.noSchedule") : error.message));
      return;
    }
    head.replaceChildren(
      h("p", null, h("code", null, schedule.cron), " ", t("records.scheduleLine", { timezone: schedule.timezone, owner: schedule.owner ?? "?" }), schedule.paused ? ` · ${t("records.paused")}` : ""),
      h("p", null, t("records.next"), " ", schedule.nextFireTimes.map((time) => when(time)).join(", ")),
      h(
        "div",
        { class: "row" },
        h("button", { type: "button", onclick: () => act(`${base}/schedule/${schedule.paused ? "unpause" : "pause"}`) }, schedule.paused ? t("records.unpause") : t("records.pause")),
      ),
    );
    const { records } = await api.get(`${base}/schedule-records?limit=200`);
    body.replaceChildren(
      ...records.map((record) =>
        h(
          "tr",
          null,
          h("td", null, when(record.executionDate)),
          h("td", null, triggerName(record.trigger)),
          h("td", null, badge(record.state), record.reason ? h("span", { translate: "no" }, ` ${record.reason}`) : ""),
          h("td", null, record.run ? h("a", { href: `#/p/${project}/runs/${record.run.id}` }, stateName(record.run.state)) : ""),
          h(
            "td",
            { class: "actions" },
            h("button", { type: "button", onclick: () => act(`${base}/schedule-records/${encodeURIComponent(record.executionDate)}/retry`) }, t("common.retry")),
            h("button", { type: "button", onclick: () => act(`${base}/schedule-records/${encodeURIComponent(record.executionDate)}/skip`) }, t("records.skip")),
          ),
        ),
      ),
    );
    if (!records.length) body.append(h("tr", null, h("td", { colspan: 5, class: "empty" }, t("records.none"))));
  }

  async function act(path) {
    try {
      await api.post(path);
      notice(message, t("records.done"), "ok");
      await load();
    } catch (error) {
      notice(message, error.message, "error");
    }
  }

  await load();
  const element = h(
    "section",
    { class: "list-page" },
    h("h1", null, t("records.title"), " ", h("a", { href: `#/p/${project}/pipelines/${params.pipeline}` }, params.pipeline)),
    head,
    message,
    h("table", null, h("thead", null, h("tr", null, ...["executionDate", "trigger", "state", "run"].map((title) => h("th", null, t(`records.column.${title}`))), h("th"))), body),
  );
  return { element };
}
