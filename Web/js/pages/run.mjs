// One run: its DAG coloured by task state and updated live; per task the attempts, logs (live tail, replicas in
// colour, search, download), CPU and memory charts and the exact command and env; cancel, resume, re-run from a task.
import { h, svg, badge, duration, when, notice } from "../ui.mjs";
import { t, fixed, stateName, triggerName } from "../i18n.mjs";
import { projectPath } from "../api.mjs";
import { layeredLayout } from "../layout.mjs";
import { timeline } from "../timeline.mjs";
import { edgePath, arrowMarker } from "../edges.mjs";
import { fanOuts, collapse, stateCounts, groupState } from "../groups.mjs";
import { podSummary } from "../pods.mjs";
import { chartModel, memoryText, summaryText } from "../usage.mjs";

const width = 170;
const height = 48;
const ended = (state) => ["succeeded", "failed", "cancelled"].includes(state);

/** Server-sent events → lines: `data: …` lines, until `event: end` whose data is the attempt's state. */
export function parseEvents(buffer) {
  const events = [];
  let rest = buffer;
  let boundary;
  while ((boundary = rest.indexOf("\n\n")) >= 0) {
    const block = rest.slice(0, boundary);
    rest = rest.slice(boundary + 2);
    const type = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
    const data = block
      .split("\n")
      .filter((line) => line.startsWith("data:"))
      .map((line) => line.slice(line.startsWith("data: ") ? 6 : 5))
      .join("\n");
    events.push({ type, data });
  }
  return { events, rest };
}

export async function runPage({ api, project, params, query }) {
  const runPath = projectPath(project, "runs", params.run);
  let run = await api.get(runPath);
  let selected = null;
  let timer = null;
  let logAbort = null;
  let disposed = false;

  const message = h("p", { class: "notice", role: "status" });
  const head = h("div", { class: "run-head" });
  const graph = svg("svg", { class: "canvas run-dag", role: "img", "aria-label": t("run.graph") });
  const detail = h("aside", { class: "panel task-detail", "aria-label": t("common.task") }, h("p", { class: "muted" }, t("run.selectTask")));
  const timelineChart = svg("svg", { class: "timeline", role: "img", "aria-label": t("run.timelineLabel") });

  function renderHead() {
    const actions = [];
    if (!ended(run.state)) actions.push(h("button", { type: "button", class: "danger", onclick: () => act("cancel") }, t("common.cancel")));
    if (run.state === "failed" || run.state === "cancelled") actions.push(h("button", { type: "button", class: "primary", onclick: () => act("resume") }, t("run.resume")));
    // A pinned run is kept from the project's retention.
    actions.push(h("button", { type: "button", name: "pin", "aria-pressed": String(Boolean(run.pinned)), onclick: () => act(run.pinned ? "unpin" : "pin") }, run.pinned ? t("run.unpin") : t("run.pin")));
    head.replaceChildren(
      h("h1", null, t("run.title"), " ", h("a", { href: `#/p/${project}/pipelines/${run.pipeline}` }, run.pipeline), ` v${run.pipelineVersion}`),
      h(
        "p",
        null,
        badge(run.state),
        ` ${triggerName(run.trigger)}`,
        run.executionDate ? ` ${t("run.for", { date: when(run.executionDate) })}` : "",
        ` · ${t("run.startedBy", { user: run.startedBy ?? "?" })} · ${when(run.startedAt ?? run.createdAt)}`,
        run.startedAt ? ` · ${duration(run.startedAt, run.finishedAt)}` : "",
        run.reason ? h("span", { class: "reason", translate: "no" }, ` · ${run.reason}`) : "",
        run.pinned ? h("span", { class: "pinned" }, ` · ${t("runs.pinned")}`) : "",
      ),
      h("div", { class: "row" }, ...actions),
    );
  }

  /** Fan-outs drawn as one box until expanded (by id); the plan does not change, so neither do they. */
  const groups = fanOuts(run.tasks);
  const expanded = new Set();

  function renderGraph() {
    const shown = collapse(run.tasks, groups, expanded);
    const positions = layeredLayout(
      shown.nodes.map((node) => node.name),
      shown.edges,
      { width, height, gapX: 30, gapY: 40, margin: 20 },
    );
    const maxX = Math.max(...Object.values(positions).map((p) => p.x + width)) + 20;
    const maxY = Math.max(...Object.values(positions).map((p) => p.y + height)) + 20;
    // Never scaled up beyond life size: a small run stays small, a large one is shrunk to fit.
    graph.setAttribute("viewBox", `0 0 ${Math.max(maxX, 900)} ${Math.max(maxY, 560)}`);
    graph.setAttribute("preserveAspectRatio", "xMidYMin meet");
    graph.replaceChildren(
      svg("defs", null, svg("marker", arrowMarker, svg("path", { d: "M0,0 L10,5 L0,10 z", class: "edge-arrow" }))),
      ...shown.edges.map(([from, to]) => {
        const [a, b] = [positions[from], positions[to]];
        return svg("path", { class: "edge-line", d: edgePath(a, b, { width, height }), "marker-end": "url(#edge-arrow)" });
      }),
      ...shown.nodes.map((node) => (node.group ? groupNode(node, positions[node.name]) : taskNode(node.task, positions[node.name]))),
    );
  }

  function taskNode(task, position) {
    const attempts = task.attempts ?? [];
    const last = attempts[attempts.length - 1];
    return svg(
      "g",
      {
        class: `node state-${task.state}${selected === task.name ? " selected" : ""}`,
        transform: `translate(${position.x} ${position.y})`,
        dataset: { task: task.name, state: task.state },
        tabindex: 0,
        role: "button",
        "aria-label": `${task.name}: ${stateName(task.state)}`,
        onclick: () => select(task.name),
        onkeydown: (event) => event.key === "Enter" && select(task.name),
      },
      svg("rect", { width, height, rx: 8 }),
      svg("text", { x: 10, y: 20, class: "node-name" }, task.name),
      svg("text", { x: 10, y: 38, class: "node-template" }, `${stateName(task.state)}${attempts.length > 1 ? ` · ${t("run.attempts", { count: attempts.length })}` : ""}${last?.exitCode != null ? ` · ${t("run.exit", { code: last.exitCode })}` : ""}`),
    );
  }

  /** A collapsed fan-out: how many tasks of which template, counted by state; Enter or a click expands it. */
  function groupNode({ group }, position) {
    const counts = stateCounts(run.tasks, group.members);
    const state = groupState(counts);
    const counted = counts.map(([name, count]) => `${count} ${stateName(name)}`);
    const expand = () => {
      expanded.add(group.id);
      renderGraph();
    };
    return svg(
      "g",
      {
        class: `node group state-${state}`,
        transform: `translate(${position.x} ${position.y})`,
        dataset: { group: group.id, state },
        tabindex: 0,
        role: "button",
        "aria-label": t("run.groupLabel", { count: group.members.length, template: group.template, states: counted.join(", ") }),
        onclick: expand,
        onkeydown: (event) => event.key === "Enter" && expand(),
      },
      svg("rect", { x: 4, y: 4, width, height, rx: 8, class: "group-shadow" }),
      svg("rect", { width, height, rx: 8 }),
      svg("text", { x: 10, y: 20, class: "node-name" }, `${group.members.length} × ${group.template}`),
      svg("text", { x: 10, y: 38, class: "node-template group-counts" }, counted.join(" · ")),
    );
  }

  /** The run's timeline: a row per task that ran, a bar per attempt, the critical path outlined. */
  function renderTimeline() {
    const shown = timeline(run);
    const [label, chartWidth, row] = [160, 640, 18];
    const span = Math.max(1, shown.end - shown.start);
    const critical = new Set(shown.critical);
    timelineChart.setAttribute("viewBox", `0 0 ${label + chartWidth + 70} ${shown.rows.length * row + 24}`);
    timelineChart.setAttribute("width", label + chartWidth + 70);
    timelineChart.setAttribute("height", shown.rows.length * row + 24);
    const x = (ms) => label + (ms / span) * chartWidth;
    timelineChart.replaceChildren(
      ...shown.rows.map((item, index) =>
        svg(
          "g",
          {
            class: `timeline-row${critical.has(item.task) ? " critical" : ""}${selected === item.task ? " selected" : ""}`,
            dataset: { task: item.task },
            transform: `translate(0 ${index * row})`,
            tabindex: 0,
            role: "button",
            "aria-label": `${item.task}: ${stateName(item.state)}${critical.has(item.task) ? t("run.onCriticalPath") : ""}`,
            onclick: () => select(item.task),
            onkeydown: (event) => event.key === "Enter" && select(item.task),
          },
          svg("text", { x: 0, y: 13, class: "timeline-label" }, item.task.length > 22 ? `${item.task.slice(0, 21)}…` : item.task),
          ...item.bars.map((bar) =>
            svg(
              "rect",
              { class: `bar state-${bar.state}`, x: x(bar.from), y: 3, width: Math.max(2, x(bar.to) - x(bar.from)), height: row - 6, rx: 2, dataset: { attempt: bar.attempt, state: bar.state } },
              svg("title", null, `${item.task} · ${t("run.attempt", { number: bar.attempt })} · ${stateName(bar.state)} · ${t("time.seconds", { seconds: fixed((bar.to - bar.from) / 1000, 1) })}`),
            ),
          ),
        ),
      ),
      svg("text", { x: label, y: shown.rows.length * row + 18, class: "timeline-axis" }, t("time.seconds", { seconds: fixed(0, 0) })),
      svg("text", { x: label + chartWidth, y: shown.rows.length * row + 18, class: "timeline-axis", "text-anchor": "end" }, t("time.seconds", { seconds: fixed(span / 1000, 1) })),
    );
  }

  async function act(action, body) {
    try {
      run = await api.post(`${runPath}/${action}`, body);
      notice(message, t(`run.done.${action}`), "ok");
      render();
      poll();
    } catch (error) {
      notice(message, error.message, "error");
    }
  }

  function render() {
    renderHead();
    renderGraph();
    renderTimeline();
    if (selected) renderAttempts();
  }

  // MARK: A task

  const attemptsTable = h("table", { class: "attempts" });
  const logView = h("pre", { class: "log", "aria-label": t("run.log"), tabindex: 0 });
  const logSearch = h("input", { type: "search", placeholder: t("run.searchLog"), "aria-label": t("run.searchLog") });
  const logCount = h("span", { class: "muted" });
  const usageSummary = h("p", { class: "usage-summary muted" });
  const charts = h("div", { class: "charts" });
  /** The run's attempts' summaries from the metrics collector, by `task#attempt`. */
  let runUsage = new Map();
  const invocation = h("div", { class: "invocation" });
  let shownAttempt = null;

  function select(name) {
    selected = name;
    shownAttempt = null;
    // A task of a collapsed fan-out is shown by expanding it.
    for (const group of groups) if (group.members.includes(name)) expanded.add(group.id);
    renderGraph();
    renderTimeline();
    const task = run.tasks.find((item) => item.name === name);
    detail.replaceChildren(
      h("h2", null, t("run.task", { name })),
      h("p", null, badge(task.state), ` ${t("run.template", { template: task.template })}`),
      h(
        "div",
        { class: "row" },
        h("button", { type: "button", onclick: () => act("resume", { task: name }), disabled: !ended(run.state) }, t("run.rerunFromHere")),
      ),
      attemptsTable,
      h("h3", null, t("run.log")),
      h("div", { class: "row" }, logSearch, logCount, h("button", { type: "button", onclick: download }, t("run.download"))),
      logView,
      h("h3", null, t("run.resources")),
      usageSummary,
      charts,
      h("h3", null, t("run.command")),
      invocation,
    );
    renderAttempts();
  }

  function renderAttempts() {
    const task = run.tasks.find((item) => item.name === selected);
    const attempts = task?.attempts ?? [];
    attemptsTable.replaceChildren(
      h("thead", null, h("tr", null, h("th", null, "#"), ...["state", "exit", "duration", "peakMemory", "cpu", "reason"].map((title) => h("th", null, t(`run.column.${title}`))))),
      h(
        "tbody",
        null,
        ...attempts.map((attempt) =>
          h(
            "tr",
            { class: attempt.number === shownAttempt ? "selected" : "", onclick: () => showAttempt(attempt.number) },
            h("td", null, String(attempt.number)),
            h("td", null, badge(attempt.state)),
            h("td", null, attempt.exitCode ?? ""),
            h("td", null, duration(attempt.startedAt, attempt.finishedAt)),
            ...usageCells(runUsage.get(`${selected}#${attempt.number}`)),
            h("td", { translate: "no" }, attempt.reason ?? ""),
          ),
        ),
      ),
    );
    const latest = attempts[attempts.length - 1];
    if (latest && shownAttempt === null) showAttempt(latest.number);
    else if (shownAttempt !== null && latest?.number === shownAttempt && ended(latest.state)) refreshAttempt(shownAttempt);
  }

  function usageCells(summary) {
    const memory = summary?.peakMemoryBytes;
    const cpu = summary?.meanCpuCores;
    return [
      h("td", { class: "usage-memory" }, memory != null ? memoryText(memory) : ""),
      h("td", { class: "usage-cpu" }, cpu != null ? t("run.cpuCell", { mean: fixed(cpu, 2), peak: fixed(summary.peakCpuCores ?? 0, 2) }) : ""),
    ];
  }

  /** The summaries of the run's attempts, for the attempts table; a collector that is away leaves the cells empty. */
  async function refreshRunUsage() {
    try {
      const usage = await api.get(`${runPath}/usage`);
      runUsage = new Map(usage.attempts.map((item) => [`${item.task}#${item.attempt}`, item.summary]));
    } catch {
      runUsage = new Map();
    }
  }

  function logLine(text) {
    const replica = /^(\S+ )?\[replica-(\d+)\] /.exec(text);
    return h("span", { class: `line${replica ? ` replica-${Number(replica[2]) % 6}` : ""}` }, text, "\n");
  }

  function filterLog() {
    const text = logSearch.value.trim().toLowerCase();
    let matches = 0;
    for (const line of logView.children) {
      const hit = !text || line.textContent.toLowerCase().includes(text);
      line.hidden = !hit;
      if (hit && text) matches++;
    }
    logCount.textContent = text ? t("run.matchingLines", { count: matches }) : "";
  }
  logSearch.addEventListener("input", filterLog);

  function logPath(number, extra = "") {
    return `${runPath}/tasks/${encodeURIComponent(selected)}/logs?attempt=${number}${extra}`;
  }

  async function showAttempt(number) {
    shownAttempt = number;
    logAbort?.abort();
    logView.replaceChildren();
    const task = run.tasks.find((item) => item.name === selected);
    const attempt = task.attempts.find((item) => item.number === number);
    // The row of the attempt shown is marked at once, not at the next redraw (an ended run has none).
    const rows = attemptsTable.querySelectorAll("tbody tr");
    task.attempts.forEach((item, index) => rows[index]?.classList.toggle("selected", item.number === number));
    refreshAttempt(number);
    const controller = new AbortController();
    logAbort = controller;
    try {
      if (ended(attempt.state) || attempt.state === "timed_out" || attempt.state === "upstream_failed" || attempt.state === "skipped") {
        const response = await api.stream(logPath(number));
        const text = await response.text();
        if (controller.signal.aborted) return;
        logView.replaceChildren(...text.split("\n").filter((line, index, all) => line || index < all.length - 1).map(logLine));
      } else {
        const response = await api.stream(logPath(number, "&follow=true"));
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        controller.signal.addEventListener("abort", () => reader.cancel().catch(() => {}));
        while (true) {
          const { value, done } = await reader.read();
          if (done || controller.signal.aborted) break;
          buffer += decoder.decode(value, { stream: true });
          const parsed = parseEvents(buffer);
          buffer = parsed.rest;
          const follow = logView.scrollTop + logView.clientHeight >= logView.scrollHeight - 4;
          for (const event of parsed.events) {
            if (event.type === "end") logView.dataset.ended = event.data;
            else logView.append(logLine(event.data));
          }
          if (follow) logView.scrollTop = logView.scrollHeight;
        }
      }
      filterLog();
    } catch (error) {
      if (!controller.signal.aborted) logView.append(h("span", { class: "line error" }, error.message));
    }
  }

  async function refreshAttempt(number) {
    refreshUsage(number);
    try {
      const found = await api.get(`${runPath}/tasks/${encodeURIComponent(selected)}/attempts/${number}`);
      const call = found.attempt.invocation;
      invocation.replaceChildren(
        call ? h("pre", { class: "command" }, call.command.map((part) => (/\s/.test(part) ? JSON.stringify(part) : part)).join(" ")) : h("p", { class: "muted" }, t("run.notStarted")),
        call ? h("pre", { class: "env" }, Object.entries(call.environment).sort().map(([key, value]) => `${key}=${value}`).join("\n")) : "",
        call?.workingDirectory ? h("p", { class: "muted" }, t("run.workingDirectory", { folder: call.workingDirectory })) : "",
        ...(found.process?.pods ?? []).map(podView),
      );
    } catch (error) {
      invocation.replaceChildren(h("p", { class: "notice error" }, error.message));
    }
  }

  function podView(pod) {
    const summary = podSummary(pod);
    return h(
      "details",
      { class: `pod${summary.warning ? " warning" : ""}`, open: summary.warning },
      h("summary", null, summary.title),
      ...summary.problems.map((line) => h("p", { class: "notice error" }, line)),
      summary.events.length ? h("pre", { class: "events" }, summary.events.join("\n")) : "",
    );
  }

  /** The attempt's series from the metrics collector (local processes and Kubernetes pods alike). */
  async function refreshUsage(number) {
    const task = selected;
    try {
      const usage = await api.get(`${runPath}/tasks/${encodeURIComponent(task)}/attempts/${number}/usage`);
      if (task === selected && number === shownAttempt) renderCharts(usage);
    } catch (error) {
      if (task === selected && number === shownAttempt) renderCharts(null, error.status === 404 ? t("usage.noSamplesYet") : error.message);
    }
  }

  function chart(title, series, value, format, bounds) {
    const w = 300;
    const hgt = 90;
    if (!series.some((item) => item.points.length)) return h("figure", null, h("figcaption", null, title), h("p", { class: "muted" }, t("run.noSamples")));
    const model = chartModel(series, { value, request: bounds?.request, limit: bounds?.limit, width: w, height: hgt });
    const caption = [t("run.chartPeak", { title, peak: format(model.peak) }), ...model.marks.map((mark) => `${t(`run.mark.${mark.kind}`)} ${format(mark.amount)}`)].join(" · ");
    return h(
      "figure",
      null,
      h("figcaption", null, caption),
      svg(
        "svg",
        { viewBox: `0 0 ${w} ${hgt}`, class: "chart", role: "img", "aria-label": caption },
        ...model.marks.map((mark) => svg("line", { class: `mark mark-${mark.kind}`, x1: 0, x2: w, y1: mark.y, y2: mark.y })),
        ...model.lines.map((line) => svg("polyline", { class: `series replica-${line.index % 6}`, points: line.points, dataset: { replica: line.replica } })),
      ),
    );
  }

  function renderCharts(usage, problem) {
    usageSummary.textContent = usage ? summaryText(usage.summary) : problem ?? "";
    const series = usage?.series ?? [];
    const figures = [
      chart(t("common.cpu"), series, (point) => point.cpuCores, (value) => t("run.cores", { cores: fixed(value, 2) }), {
        request: usage?.requests?.cpuCores,
        limit: usage?.limits?.cpuCores,
      }),
      chart(t("common.memory"), series, (point) => point.memoryBytes, memoryText, { request: usage?.requests?.memoryBytes, limit: usage?.limits?.memoryBytes }),
    ];
    if (series.some((item) => item.points.some((point) => point.gpuPercent != null))) {
      figures.push(chart(t("run.gpu"), series, (point) => point.gpuPercent ?? 0, (value) => `${Math.round(value)}%`));
    }
    charts.replaceChildren(...figures);
  }

  async function download() {
    if (shownAttempt === null) return;
    try {
      const response = await api.stream(logPath(shownAttempt, "&download=true"));
      const url = URL.createObjectURL(await response.blob());
      const link = h("a", { href: url, download: `${run.pipeline}-${selected}-${shownAttempt}.log` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (error) {
      notice(message, error.message, "error");
    }
  }

  // MARK: Live

  function poll() {
    clearTimeout(timer);
    if (disposed) return;
    timer = setTimeout(async () => {
      try {
        const before = JSON.stringify([run, [...runUsage]]);
        run = await api.get(runPath);
        await refreshRunUsage();
        if (JSON.stringify([run, [...runUsage]]) !== before) render();
        // The shown attempt's charts follow it while it runs.
        const attempt = run.tasks.find((item) => item.name === selected)?.attempts?.find((item) => item.number === shownAttempt);
        if (attempt && !ended(attempt.state)) refreshUsage(shownAttempt);
      } catch (error) {
        notice(message, error.message, "error");
      }
      if (!ended(run.state)) poll();
      else render();
    }, 1000);
  }

  await refreshRunUsage();
  render();
  // Opened on one task (from the pipeline's history grid): that task selected.
  const wanted = query?.get("task");
  if (wanted && run.tasks.some((task) => task.name === wanted)) select(wanted);
  if (!ended(run.state)) poll();
  const element = h(
    "section",
    { class: "run" },
    head,
    message,
    h("div", { class: "run-body" }, graph, detail),
    h("section", { class: "run-timeline", "aria-label": t("run.timeline") }, h("h2", null, t("run.timeline")), h("p", { class: "muted" }, t("run.timelineHelp")), h("div", { class: "timeline-scroll" }, timelineChart)),
  );
  return {
    element,
    dispose: () => {
      disposed = true;
      clearTimeout(timer);
      logAbort?.abort();
    },
  };
}
