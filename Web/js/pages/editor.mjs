// The pipeline editor: a palette of templates dragged onto an SVG canvas, tasks connected by dragging from a
// task's output port to another task, a properties panel generated from the template's parameters, and the
// pipeline's own settings with a preview of its schedule and its alerts.
import { h, svg, field, notice, keyValues, keyValueText } from "../ui.mjs";
import { projectPath, locate } from "../api.mjs";
import { Graph } from "../graph.mjs";
import { edgePath as edgeCurve, arrowMarker } from "../edges.mjs";
import { bounds, mapTransform, shownArea, centredOn, findTasks, fitView } from "../minimap.mjs";
import { layeredLayout } from "../layout.mjs";
import { fieldsFor, argumentFrom, hint, parametersOf } from "../schema.mjs";
import { nextFireTimes } from "../cron.mjs";
import { applySuggestion } from "../usage.mjs";
import { triggers, ruleFromForm } from "../alerts.mjs";
import { parametersText, parametersFromText, runValues } from "../parameters.mjs";
import { replicaRoles, rolesText, templateBadge } from "../training.mjs";
import { t, formatDate, categoryName } from "../i18n.mjs";

const width = 180;
const height = 56;

/** Server problems grouped by where they show: {tasks: {name: {args: {param: message}, settings: [text]}}, pipeline: [text]}. */
function groupProblems(fields) {
  const grouped = { tasks: {}, pipeline: [] };
  for (const problem of fields) {
    const where = locate(problem.field);
    if (where.task) {
      const task = (grouped.tasks[where.task] ??= { args: {}, settings: [] });
      if (where.arg) task.args[where.arg] = problem.message;
      else task.settings.push(`${where.setting || t("common.task").toLowerCase()}: ${problem.message}`);
    } else grouped.pipeline.push(`${problem.field}: ${problem.message}`);
  }
  return grouped;
}

export async function editorPage({ api, project, params, go }) {
  const existing = params.pipeline;
  const meta = { name: existing ?? "", description: "", parallelism: undefined, env: {}, schedule: undefined, timeout: undefined, alerts: undefined, parameters: undefined };
  let graph = new Graph();
  let pinned = {};
  if (existing) {
    const current = await api.get(projectPath(project, "pipelines", existing));
    const { layout } = await api.get(projectPath(project, "pipelines", existing, "layout"));
    const document = current.spec;
    graph = Graph.fromPipeline(document.spec, layout);
    pinned = current.templates ?? {};
    Object.assign(meta, Graph.settings(document), { name: existing });
    if (graph.nodes.size && [...graph.nodes.keys()].some((name) => !layout?.[name])) {
      graph.place(layeredLayout([...graph.nodes.keys()], graph.edges, { width, height }));
      graph.past = [];
    }
  }
  // Requests suggested from what the tasks used in past runs (metrics collector); none when it is away.
  const suggestions = new Map();
  if (existing) {
    try {
      const usage = await api.get(projectPath(project, "pipelines", existing, "usage"));
      for (const task of usage.tasks) if (task.suggestion) suggestions.set(task.task, task.suggestion);
    } catch {
      // Suggestions are a help, not a need.
    }
  }
  // The project's webhooks, which a pipeline's alerts may call (by name).
  const projectWebhooks = Object.keys((await api.get(projectPath(project)).catch(() => ({}))).settings?.webhooks ?? {}).sort();
  let savedRevision = graph.revision;
  let problems = { tasks: {}, pipeline: [] };
  let clipboard = null;
  const dirty = () => graph.revision !== savedRevision;

  // MARK: Templates

  const summaries = await api.all("/api/v1/templates", "templates");
  const specs = new Map();
  /** The spec of a task's template: the version the saved pipeline pinned, or the one named, or the newest. */
  async function specOf(node) {
    const reference = pinned[node.name] ?? node.template;
    const [name, named] = reference.split("@");
    const version = named ?? summaries.find((item) => item.name === name)?.latestVersion;
    const key = `${name}@${version}`;
    if (!specs.has(key)) {
      specs.set(
        key,
        api.get(`/api/v1/templates/${encodeURIComponent(name)}/versions/${encodeURIComponent(version ?? "")}`).then((found) => found.spec),
      );
    }
    return specs.get(key);
  }

  // MARK: Layout of the page

  const message = h("p", { class: "notice", role: "status", id: "editor-status" });
  const panel = h("aside", { class: "panel", "aria-label": t("editor.properties") });
  const viewport = svg("g", { class: "viewport" });
  const edgeLayer = svg("g", { class: "edges" });
  const nodeLayer = svg("g", { class: "nodes" });
  const ghost = svg("path", { class: "ghost-edge", d: "" });
  viewport.append(edgeLayer, nodeLayer, ghost);
  const arrow = svg("defs", null, svg("marker", arrowMarker, svg("path", { d: "M0,0 L10,5 L0,10 z", class: "edge-arrow" })));
  const canvas = svg("svg", { class: "canvas", tabindex: 0, role: "application", "aria-label": t("editor.canvas") }, arrow, viewport);
  const view = { x: 0, y: 0, k: 1 };
  const applyView = () => {
    viewport.setAttribute("transform", `translate(${view.x} ${view.y}) scale(${view.k})`);
    frameMinimap();
  };

  // MARK: Overview and finding a task

  const [mapWidth, mapHeight] = [200, 140];
  const mapDots = svg("g", { class: "minimap-tasks" });
  const mapFrame = svg("rect", { class: "minimap-frame" });
  const minimap = svg("svg", { class: "minimap", width: mapWidth, height: mapHeight, tabindex: 0, role: "button", "aria-label": t("editor.overview") }, mapDots, mapFrame);
  let mapping = null;

  /** Every task as a dot in the overview (the selection stands out); then the frame of what the canvas shows. */
  function renderMinimap() {
    const area = bounds([...graph.nodes.values()], width, height);
    minimap.style.display = area ? "" : "none";
    mapping = area && mapTransform({ x: area.x - 40, y: area.y - 40, width: area.width + 80, height: area.height + 80 }, mapWidth, mapHeight);
    if (!mapping) return mapDots.replaceChildren();
    const [w, hgt] = [Math.max(1.5, width * mapping.scale), Math.max(1.5, height * mapping.scale)];
    mapDots.replaceChildren(
      ...[...graph.nodes.values()].map((node) =>
        svg("rect", { x: node.x * mapping.scale + mapping.x, y: node.y * mapping.scale + mapping.y, width: w, height: hgt, class: graph.selectedNodes.has(node.name) ? "selected" : "" }),
      ),
    );
    frameMinimap();
  }

  function frameMinimap() {
    const box = canvas.getBoundingClientRect();
    if (!mapping || !box.width) return;
    const shown = shownArea(view, box.width, box.height);
    const [x, y] = [shown.x * mapping.scale + mapping.x, shown.y * mapping.scale + mapping.y];
    const [right, bottom] = [x + shown.width * mapping.scale, y + shown.height * mapping.scale];
    // Clipped to the map: a view far off the graph still shows where it is.
    const [left, top] = [Math.max(0, Math.min(mapWidth - 2, x)), Math.max(0, Math.min(mapHeight - 2, y))];
    mapFrame.setAttribute("x", left);
    mapFrame.setAttribute("y", top);
    mapFrame.setAttribute("width", Math.max(2, Math.min(mapWidth, right) - left));
    mapFrame.setAttribute("height", Math.max(2, Math.min(mapHeight, bottom) - top));
  }

  minimap.addEventListener("pointerdown", (event) => {
    event.stopPropagation();
    if (!mapping) return;
    const box = minimap.getBoundingClientRect();
    const point = { x: (event.clientX - box.left - mapping.x) / mapping.scale, y: (event.clientY - box.top - mapping.y) / mapping.scale };
    const canvasBox = canvas.getBoundingClientRect();
    Object.assign(view, centredOn(point, view.k, canvasBox.width, canvasBox.height));
    applyView();
  });

  const taskNames = h("datalist", { id: "editor-task-names" });
  const findTask = h("input", { type: "search", name: "find-task", placeholder: t("editor.findTask"), "aria-label": t("editor.findTask"), list: "editor-task-names" });
  /** Selects the best match of the text and centres the view on it, at a readable scale at least. */
  function jumpToTask() {
    const [name] = findTasks([...graph.nodes.keys()], findTask.value, 1);
    if (!name) return notice(message, t("editor.noTaskMatches", { text: findTask.value.trim() }), "error");
    const node = graph.nodes.get(name);
    graph.selectedNodes = new Set([name]);
    graph.selectedEdges.clear();
    const box = canvas.getBoundingClientRect();
    Object.assign(view, centredOn({ x: node.x + width / 2, y: node.y + height / 2 }, Math.max(view.k, 1), box.width, box.height));
    applyView();
    renderAll();
    notice(message, t("editor.found", { name }), "ok");
  }
  findTask.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    jumpToTask();
  });
  // A name picked from the suggestions jumps at once; typing waits for Enter (and leaving the box does nothing: the
  // panel it would draw again may be the one being typed in).
  findTask.addEventListener("input", (event) => event.inputType === "insertReplacementText" && graph.nodes.has(findTask.value) && jumpToTask());

  const toCanvas = (clientX, clientY) => {
    const box = canvas.getBoundingClientRect();
    return { x: (clientX - box.left - view.x) / view.k, y: (clientY - box.top - view.y) / view.k };
  };

  // MARK: Palette

  const paletteSearch = h("input", { type: "search", placeholder: t("editor.searchTemplates"), "aria-label": t("editor.searchTemplates") });
  const paletteList = h("div", { class: "palette-list" });
  function renderPalette() {
    const text = paletteSearch.value.trim().toLowerCase();
    const shown = summaries.filter((item) => !text || `${item.name} ${item.description} ${item.category}`.toLowerCase().includes(text));
    const categories = [...new Set(shown.map((item) => item.category || "other"))].sort();
    paletteList.replaceChildren(
      ...categories.map((category) =>
        h(
          "details",
          { open: true },
          h("summary", null, categoryName(category)),
          ...shown
            .filter((item) => (item.category || "other") === category)
            .map((item) =>
              h(
                "div",
                {
                  class: "palette-item",
                  // A template's name and words are its author's, in their language.
                  translate: "no",
                  draggable: "true",
                  tabindex: 0,
                  title: item.description,
                  dataset: { template: item.name },
                  ondragstart: (event) => {
                    event.dataTransfer.setData("application/x-trellis-template", item.name);
                    event.dataTransfer.setData("text/plain", item.name);
                    event.dataTransfer.effectAllowed = "copy";
                  },
                  // Keyboard: Enter adds the template in the middle of the view.
                  onkeydown: (event) => {
                    if (event.key !== "Enter") return;
                    const box = canvas.getBoundingClientRect();
                    addTask(item.name, toCanvas(box.left + box.width / 2, box.top + box.height / 2));
                  },
                },
                h("strong", null, item.name),
                h("small", { translate: "no" }, item.description),
                templateBadge(item) ? h("small", { class: "badge" }, templateBadge(item)) : "",
              ),
            ),
        ),
      ),
    );
  }
  paletteSearch.addEventListener("input", renderPalette);

  function addTask(template, { x, y }) {
    graph.addTask(template, x - width / 2, y - height / 2);
    renderAll();
  }

  canvas.addEventListener("dragover", (event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  canvas.addEventListener("drop", (event) => {
    event.preventDefault();
    const template = event.dataTransfer.getData("application/x-trellis-template") || event.dataTransfer.getData("text/plain");
    if (summaries.some((item) => item.name === template)) addTask(template, toCanvas(event.clientX, event.clientY));
  });

  // MARK: Canvas

  const edgePath = (from, to) => edgeCurve(from, to, { width, height });

  // The drawn elements by task and by edge, so a drag moves only what it touches.
  const nodeElements = new Map();
  const edgeElements = new Map();

  function renderEdges(lineage = graph.lineage(graph.selectedNodes)) {
    edgeElements.clear();
    edgeLayer.replaceChildren(
      ...graph.edges.map(([from, to]) => {
        const key = Graph.edgeKey(from, to);
        const d = edgePath(graph.nodes.get(from), graph.nodes.get(to));
        const paths = [svg("path", { class: "edge-hit", d }), svg("path", { class: "edge-line", d, "marker-end": "url(#edge-arrow)" })];
        edgeElements.set(key, paths);
        const classes = ["edge"];
        if (graph.selectedEdges.has(key)) classes.push("selected");
        if (lineage.edges.has(key)) classes.push("lineage");
        return svg("g", { class: classes.join(" "), dataset: { edge: key } }, ...paths);
      }),
    );
    for (const [name, element] of nodeElements) {
      element.classList.toggle("upstream", lineage.upstream.has(name));
      element.classList.toggle("downstream", lineage.downstream.has(name));
    }
  }

  /** Redraws the given tasks where they are now, and their edges. */
  function redrawMoved(names) {
    for (const name of names) {
      const node = graph.nodes.get(name);
      nodeElements.get(name)?.setAttribute("transform", `translate(${node.x} ${node.y})`);
    }
    for (const [from, to] of graph.edges) {
      if (!names.has(from) && !names.has(to)) continue;
      const d = edgePath(graph.nodes.get(from), graph.nodes.get(to));
      for (const path of edgeElements.get(Graph.edgeKey(from, to)) ?? []) path.setAttribute("d", d);
    }
  }

  function renderNodes(lineage = graph.lineage(graph.selectedNodes)) {
    nodeElements.clear();
    nodeLayer.replaceChildren(
      ...[...graph.nodes.values()].map((node) => {
        const classes = ["node"];
        if (graph.selectedNodes.has(node.name)) classes.push("selected");
        if (problems.tasks[node.name]) classes.push("invalid");
        if (node.skip) classes.push("skipped");
        if (lineage.upstream.has(node.name)) classes.push("upstream");
        if (lineage.downstream.has(node.name)) classes.push("downstream");
        const element = svg(
          "g",
          {
            class: classes.join(" "),
            transform: `translate(${node.x} ${node.y})`,
            dataset: { task: node.name },
            // Reachable by Tab; Enter or Space selects it (its panel opens), the arrows then move it.
            tabindex: 0,
            role: "button",
            "aria-label": t("editor.taskLabel", { name: node.name }),
            "aria-pressed": String(graph.selectedNodes.has(node.name)),
            onkeydown: (event) => {
              if (event.key !== "Enter" && event.key !== " ") return;
              event.preventDefault();
              graph.selectedNodes = new Set([node.name]);
              graph.selectedEdges.clear();
              renderAll();
              nodeElements.get(node.name)?.focus();
            },
          },
          svg("rect", { width, height, rx: 8 }),
          svg("text", { x: 12, y: 23, class: "node-name" }, node.name),
          svg("text", { x: 12, y: 42, class: "node-template" }, pinned[node.name] ?? node.template),
          svg("circle", { class: "port in", cx: width / 2, cy: 0, r: 7, dataset: { port: "in" } }),
          svg("circle", { class: "port out", cx: width / 2, cy: height, r: 7, dataset: { port: "out" } }),
        );
        nodeElements.set(node.name, element);
        return element;
      }),
    );
  }

  let listedNames = "";
  function renderAll() {
    const lineage = graph.lineage(graph.selectedNodes);
    renderEdges(lineage);
    renderNodes(lineage);
    renderMinimap();
    // The find box's suggestions, rebuilt only when the names change.
    const names = [...graph.nodes.keys()].slice(0, 2000);
    if (names.join("\n") !== listedNames) {
      listedNames = names.join("\n");
      taskNames.replaceChildren(...names.map((name) => h("option", { value: name })));
    }
    renderPanel();
    renderToolbar();
  }

  /** Follows the pointer until it is released; `move` gets the distance in canvas units. */
  function track(event, move, end) {
    const start = { x: event.clientX, y: event.clientY };
    let frame = 0;
    let last = event;
    const onMove = (moved) => {
      last = moved;
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        move((last.clientX - start.x) / view.k, (last.clientY - start.y) / view.k, last);
      });
    };
    const onUp = (released) => {
      window.removeEventListener("pointermove", onMove);
      window.removeEventListener("pointerup", onUp);
      if (frame) cancelAnimationFrame(frame);
      end((released.clientX - start.x) / view.k, (released.clientY - start.y) / view.k, released);
    };
    window.addEventListener("pointermove", onMove);
    window.addEventListener("pointerup", onUp);
  }

  canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    canvas.focus({ preventScroll: true });
    const task = event.target.closest("[data-task]")?.dataset.task;
    const port = event.target.closest("[data-port]")?.dataset.port;
    const edge = event.target.closest("[data-edge]")?.dataset.edge;
    event.preventDefault();
    if (task && port === "out") return connectFrom(task, event);
    if (task) return moveFrom(task, event);
    if (edge) {
      graph.selectedNodes.clear();
      graph.selectedEdges = new Set([edge]);
      return renderAll();
    }
    if (!event.shiftKey) {
      graph.selectedNodes.clear();
      graph.selectedEdges.clear();
      renderAll();
    }
    const origin = { x: view.x, y: view.y };
    track(
      event,
      (dx, dy) => {
        view.x = origin.x + dx * view.k;
        view.y = origin.y + dy * view.k;
        applyView();
      },
      () => {},
    );
  });

  function moveFrom(task, event) {
    if (event.shiftKey) {
      if (!graph.selectedNodes.delete(task)) graph.selectedNodes.add(task);
      graph.selectedEdges.clear();
      return renderAll();
    }
    if (!graph.selectedNodes.has(task)) {
      graph.selectedNodes = new Set([task]);
      graph.selectedEdges.clear();
      renderAll();
    }
    const moving = [...graph.selectedNodes].map((name) => graph.nodes.get(name)).map((node) => ({ node, x: node.x, y: node.y }));
    const names = new Set(graph.selectedNodes);
    track(
      event,
      (dx, dy) => {
        for (const item of moving) Object.assign(item.node, { x: item.x + dx, y: item.y + dy });
        redrawMoved(names);
      },
      (dx, dy) => {
        for (const item of moving) Object.assign(item.node, { x: item.x, y: item.y });
        if (Math.abs(dx) + Math.abs(dy) > 1) graph.moveSelection(dx, dy);
        renderAll();
      },
    );
  }

  function connectFrom(task, event) {
    const node = graph.nodes.get(task);
    const start = { x: node.x + width / 2, y: node.y + height };
    track(
      event,
      (_dx, _dy, moved) => {
        const end = toCanvas(moved.clientX, moved.clientY);
        ghost.setAttribute("d", `M${start.x},${start.y} L${end.x},${end.y}`);
      },
      (_dx, _dy, released) => {
        ghost.setAttribute("d", "");
        const target = document.elementFromPoint(released.clientX, released.clientY)?.closest("[data-task]")?.dataset.task;
        if (!target || target === task) return;
        const result = graph.connect(task, target);
        if (!result.ok) notice(message, result.reason, "error");
        renderAll();
      },
    );
  }

  canvas.addEventListener(
    "wheel",
    (event) => {
      event.preventDefault();
      zoom(event.deltaY < 0 ? 1.1 : 1 / 1.1, event.clientX, event.clientY);
    },
    { passive: false },
  );

  function zoom(factor, clientX, clientY) {
    const box = canvas.getBoundingClientRect();
    const [cx, cy] = clientX === undefined ? [box.width / 2, box.height / 2] : [clientX - box.left, clientY - box.top];
    const k = Math.min(3, Math.max(0.02, view.k * factor));
    view.x = cx - ((cx - view.x) * k) / view.k;
    view.y = cy - ((cy - view.y) * k) / view.k;
    view.k = k;
    applyView();
  }

  /** Shows the whole graph, or its start at a readable scale (the overview shows the rest; the wheel zooms further). */
  function fit() {
    const box = canvas.getBoundingClientRect();
    const fitted = fitView([...graph.nodes.values()], width, height, box.width, box.height);
    if (!fitted) return;
    Object.assign(view, fitted);
    applyView();
  }

  // MARK: Keyboard

  const arrows = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  const onKey = (event) => {
    if (!canvas.isConnected || event.target.closest?.("input, textarea, select, [contenteditable]")) return;
    const command = event.ctrlKey || event.metaKey;
    // On the canvas or the overview: the arrows move the selected tasks (Shift: further), or the view when none is
    // selected or the overview has the focus; Home shows the whole pipeline.
    const onCanvas = event.target === document.body || event.target.closest?.(".canvas-wrap");
    const focused = document.activeElement?.closest?.("[data-task]")?.dataset.task;
    if (onCanvas && arrows[event.key]) {
      const [dx, dy] = arrows[event.key];
      event.preventDefault();
      if (graph.selectedNodes.size && !event.target.closest?.(".minimap")) {
        const step = event.shiftKey ? 100 : 20;
        graph.moveSelection(dx * step, dy * step);
      } else {
        const box = canvas.getBoundingClientRect();
        view.x -= (dx * box.width) / 4;
        view.y -= (dy * box.height) / 4;
        return applyView();
      }
    } else if (onCanvas && event.key === "Home") {
      event.preventDefault();
      return fit();
    } else if (event.key === "Delete" || event.key === "Backspace") graph.deleteSelection();
    else if (command && event.key.toLowerCase() === "z" && !event.shiftKey) graph.undo();
    else if (command && (event.key.toLowerCase() === "y" || (event.key.toLowerCase() === "z" && event.shiftKey))) graph.redo();
    else if (command && event.key.toLowerCase() === "c") clipboard = graph.copy();
    else if (command && event.key.toLowerCase() === "v") graph.paste(clipboard);
    else if (command && event.key.toLowerCase() === "a") graph.selectedNodes = new Set(graph.nodes.keys());
    else return;
    event.preventDefault();
    renderAll();
    // The task that had the focus keeps it (its element was drawn again).
    if (focused) nodeElements.get(focused)?.focus();
  };
  document.addEventListener("keydown", onKey);

  // MARK: Properties panel

  function renderPanel() {
    const selected = [...graph.selectedNodes];
    if (selected.length === 1) return renderTaskPanel(graph.nodes.get(selected[0]));
    if (selected.length > 1) {
      return panel.replaceChildren(
        h("h2", null, t("editor.tasksSelected", { count: selected.length })),
        h("p", null, t("editor.tasksSelectedHelp")),
        h("button", { type: "button", class: "danger", onclick: () => (graph.deleteSelection(), renderAll()) }, t("editor.deleteTasks")),
      );
    }
    if (graph.selectedEdges.size) {
      const [key] = graph.selectedEdges;
      return panel.replaceChildren(
        h("h2", null, t("editor.dependency")),
        h("p", null, t("editor.runsBefore", { from: key.split("→")[0], to: key.split("→")[1] })),
        h("button", { type: "button", class: "danger", onclick: () => (graph.deleteSelection(), renderAll()) }, t("editor.deleteDependency")),
      );
    }
    renderPipelinePanel();
  }

  function control(widget, value, { choices = [], min, max, step, placeholder, disabled } = {}) {
    switch (widget) {
      case "code":
        return h("textarea", { class: "code", rows: 4, placeholder, disabled, spellcheck: "false" }, value);
      case "number":
        return h("input", { type: "number", value, min, max, step, placeholder, disabled });
      case "toggle":
        return h("input", { type: "checkbox", checked: value === true, disabled });
      case "select":
        return h("select", { disabled }, h("option", { value: "" }, t("editor.defaultChoice")), ...choices.map((choice) => h("option", { value: choice, selected: choice === value }, choice)));
      case "multiselect":
        return h("select", { multiple: true, disabled }, ...choices.map((choice) => h("option", { value: choice, selected: value.includes(choice) }, choice)));
      case "list":
        return h("textarea", { rows: 3, placeholder: t("editor.onePerLine"), disabled }, value.join("\n"));
      case "keyvalue":
        return h("textarea", { rows: 3, placeholder: t("editor.keyValuePerLine"), disabled }, value.map(([key, item]) => `${key}=${item}`).join("\n"));
      default:
        return h("input", { type: "text", value, placeholder, disabled });
    }
  }

  function read(widget, element) {
    switch (widget) {
      case "toggle":
        return element.checked;
      case "multiselect":
        return [...element.selectedOptions].map((option) => option.value);
      case "list":
        return element.value.split("\n").map((line) => line.trim()).filter(Boolean);
      case "keyvalue":
        return element.value
          .split("\n")
          .filter((line) => line.includes("="))
          .map((line) => [line.slice(0, line.indexOf("=")).trim(), line.slice(line.indexOf("=") + 1).trim()]);
      default:
        return element.value;
    }
  }

  async function renderTaskPanel(node) {
    const taskProblems = problems.tasks[node.name] ?? { args: {}, settings: [] };
    const name = h("input", { value: node.name, name: "task-name" });
    const nameField = field(t("editor.taskName"), name);
    name.addEventListener("change", () => {
      const result = graph.rename(node.name, name.value.trim());
      if (!result.ok) nameField.querySelector(".field-error").textContent = result.reason;
      else renderAll();
    });
    // Its dependencies without a pointer: the tasks it runs after, chosen from a list.
    const parents = new Set(graph.parents(node.name));
    const others = [...graph.nodes.keys()].filter((other) => other !== node.name).sort();
    const upstreams = h("select", { name: "task-upstreams", multiple: true, size: Math.min(6, Math.max(2, others.length)) }, ...others.map((other) => h("option", { value: other, selected: parents.has(other) }, other)));
    const upstreamsField = field(t("editor.upstreams"), upstreams, { help: t("editor.upstreamsHelp") });
    upstreams.addEventListener("change", () => {
      const result = graph.setUpstreams(node.name, [...upstreams.selectedOptions].map((option) => option.value));
      if (!result.ok) {
        for (const option of upstreams.options) option.selected = parents.has(option.value);
        upstreamsField.querySelector(".field-error").textContent = result.reason;
        return;
      }
      renderAll();
      panel.querySelector("[name=task-upstreams]")?.focus();
    });
    const parameters = h("fieldset", { class: "parameters" }, h("legend", null, t("common.parameters")), h("p", { class: "loading" }, t("editor.loadingTemplate")));
    const roles = h("p", { class: "roles", "aria-live": "polite" });
    const settings = settingsFieldset(node, taskProblems);
    panel.replaceChildren(
      h("h2", null, t("common.task")),
      nameField,
      upstreamsField,
      h("p", { class: "muted" }, t("editor.template"), " ", h("span", { translate: "no" }, pinned[node.name] ?? node.template)),
      roles,
      parameters,
      settings,
      h(
        "div",
        { class: "row" },
        h("button", { type: "button", onclick: () => runTask(node.name, false), disabled: dirty() || !existing }, t("editor.runTask")),
        h("button", { type: "button", onclick: () => runTask(node.name, true), disabled: dirty() || !existing }, t("editor.debug")),
        h("button", { type: "button", class: "danger", onclick: () => (graph.deleteSelection(), renderAll()) }, t("common.delete")),
      ),
    );
    let spec;
    try {
      spec = await specOf(node);
    } catch (error) {
      parameters.replaceChildren(h("legend", null, t("common.parameters")), h("p", { class: "notice error" }, error.message));
      return;
    }
    if (!panel.contains(parameters)) return;
    // A framework template's replicas by role, as they are now (the replica count or the ps argument may change).
    const showRoles = () => {
      const current = graph.nodes.get(node.name) ?? node;
      const found = replicaRoles(spec.framework, current.replicas, current.args?.ps);
      roles.textContent = found.length ? t("editor.replicas", { framework: spec.framework, roles: rolesText(found) }) : "";
    };
    showRoles();
    for (const part of [parameters, settings]) {
      part.addEventListener("change", showRoles);
      part.addEventListener("input", showRoles);
    }
    try {
      parameters.replaceChildren(...parameterFields(node, spec, taskProblems));
    } catch (error) {
      parameters.replaceChildren(h("legend", null, t("common.parameters")), h("p", { class: "notice error" }, t("editor.formFailed", { message: error.message })));
    }
  }

  /** The form of a task's parameters: a widget per parameter, grouped, with the server's problems at their fields. */
  function parameterFields(node, spec, taskProblems) {
    const byName = Object.fromEntries(parametersOf(spec).map((parameter) => [parameter.name, parameter]));
    const fields = fieldsFor(spec, node.args);
    let group = null;
    const children = [h("legend", null, t("common.parameters"))];
    if (!fields.length) children.push(h("p", { class: "muted" }, t("editor.noParameters")));
    for (const item of fields) {
      if (item.group !== group) children.push(h("h3", { translate: "no" }, (group = item.group)));
      const element = control(item.widget, item.set ? item.value : item.widget === "toggle" ? item.defaultValue : item.value, {
        ...item,
        placeholder: item.placeholder || (item.defaultValue !== "" && !Array.isArray(item.defaultValue) ? t("editor.defaultValue", { value: item.defaultValue }) : ""),
        disabled: !item.editable,
      });
      element.name = `arg-${item.name}`;
      // A placeholder the template gives is its author's words.
      if (item.placeholder) element.setAttribute("translate", "no");
      element.dataset.arg = item.name;
      // The template's words (label and help) are its author's, in their language.
      const wrapper = field(h("span", { translate: "no" }, item.label + (item.required ? " *" : "")), element, {
        help: item.help ? h("span", { translate: "no" }, item.help) : undefined,
        error: taskProblems.args[item.name],
      });
      wrapper.hidden = !item.shown;
      wrapper.dataset.field = item.name;
      const update = () => {
        const input = read(item.widget, element);
        wrapper.querySelector(".field-error").textContent = hint(item, input);
        const args = { ...(graph.nodes.get(node.name)?.args ?? {}) };
        const value = argumentFrom(byName[item.name], input);
        if (value === undefined) delete args[item.name];
        else args[item.name] = value;
        graph.update(node.name, { args });
        renderToolbar();
      };
      element.addEventListener(item.widget === "toggle" || item.widget.includes("select") ? "change" : "input", update);
      children.push(wrapper);
    }
    return children;
  }

  /** What past runs suggest for the task's requests, applied only when the user says so (never rewritten silently). */
  function suggestionLine(node) {
    const suggestion = suggestions.get(node.name);
    if (!suggestion) return "";
    const apply = () => {
      graph.update(node.name, { resources: applySuggestion(graph.nodes.get(node.name).resources, suggestion) });
      renderNodes();
      renderToolbar();
      renderTaskPanel(graph.nodes.get(node.name));
    };
    return h(
      "p",
      { class: "suggestion" },
      t("editor.suggestion", { count: suggestion.attempts, cpu: suggestion.cpu, memory: suggestion.memory }),
      " ",
      h("button", { type: "button", name: "apply-suggestion", onclick: apply }, t("editor.apply")),
    );
  }

  function settingsFieldset(node, taskProblems) {
    const setting = (label, key, read, write, props = {}) => {
      const input = h("input", { ...props, name: `setting-${key}` });
      if (props.type === "checkbox") input.checked = Boolean(write(node));
      else input.value = write(node) ?? "";
      input.addEventListener("change", () => {
        graph.update(node.name, read(input, graph.nodes.get(node.name)));
        renderNodes();
        renderToolbar();
      });
      return field(label, input);
    };
    const number = (text) => (text === "" ? undefined : Number(text));
    const text = (value) => (value === "" ? undefined : value);
    return h(
      "fieldset",
      { class: "settings" },
      h("legend", null, t("common.settings")),
      ...taskProblems.settings.map((problem) => h("p", { class: "field-error" }, problem)),
      setting(t("editor.retries"), "retry", (input, current) => ({ retry: input.value === "" ? undefined : { ...(current.retry ?? {}), limit: Number(input.value) } }), (n) => n.retry?.limit, { type: "number", min: 0 }),
      setting(
        t("editor.backoff"),
        "backoff",
        (input, current) => ({ retry: { limit: current.retry?.limit ?? 1, ...(current.retry ?? {}), backoff: input.value ? { duration: input.value, factor: 2 } : undefined } }),
        (n) => n.retry?.backoff?.duration,
        { placeholder: t("editor.backoffPlaceholder") },
      ),
      setting(t("editor.timeout"), "timeout", (input) => ({ timeout: text(input.value) }), (n) => n.timeout, { placeholder: t("common.example", { example: "30m" }) }),
      setting(t("editor.replicaCount"), "replicas", (input) => ({ replicas: number(input.value) }), (n) => n.replicas, { type: "number", min: 1 }),
      setting(t("common.cpu"), "cpu", (input, current) => ({ resources: { ...(current.resources ?? {}), cpu: text(input.value) } }), (n) => n.resources?.cpu, { placeholder: t("common.example", { example: "1~2" }) }),
      setting(t("common.memory"), "memory", (input, current) => ({ resources: { ...(current.resources ?? {}), memory: text(input.value) } }), (n) => n.resources?.memory, { placeholder: t("common.example", { example: "2Gi" }) }),
      setting(t("editor.gpus"), "gpu", (input, current) => ({ resources: { ...(current.resources ?? {}), gpu: number(input.value) } }), (n) => n.resources?.gpu, { type: "number", min: 0 }),
      setting(t("editor.gpuType"), "gpuType", (input, current) => ({ resources: { ...(current.resources ?? {}), gpuType: text(input.value.trim()) } }), (n) => n.resources?.gpuType, { placeholder: t("editor.gpuTypePlaceholder") }),
      suggestionLine(node),
      setting(t("editor.skip"), "skip", (input) => ({ skip: input.checked || undefined }), (n) => n.skip, { type: "checkbox" }),
    );
  }

  function renderPipelinePanel() {
    const schedule = meta.schedule ?? {};
    const name = h("input", { name: "pipeline-name", value: meta.name, disabled: Boolean(existing), placeholder: t("common.example", { example: "daily-train" }) });
    name.addEventListener("input", () => ((meta.name = name.value.trim()), renderToolbar()));
    const description = h("input", { name: "pipeline-description", value: meta.description });
    description.addEventListener("input", () => ((meta.description = description.value), markChanged()));
    const parallelism = h("input", { name: "pipeline-parallelism", type: "number", min: 1, value: meta.parallelism ?? "" });
    parallelism.addEventListener("input", () => ((meta.parallelism = parallelism.value ? Number(parallelism.value) : undefined), markChanged()));
    const env = h("textarea", { name: "pipeline-env", rows: 3, placeholder: t("editor.envPlaceholder") }, keyValueText(meta.env));
    env.addEventListener("input", () => {
      meta.env = keyValues(env.value);
      markChanged();
    });
    const parameters = h("textarea", { name: "pipeline-parameters", rows: 2, placeholder: t("editor.parametersPlaceholder") }, parametersText(meta.parameters));
    parameters.addEventListener("input", () => {
      meta.parameters = parametersFromText(parameters.value, meta.parameters);
      markChanged();
    });
    const cron = h("input", { name: "schedule-cron", value: schedule.cron ?? "", placeholder: t("editor.cronPlaceholder") });
    const zone = h("input", { name: "schedule-timezone", value: schedule.timezone ?? "", placeholder: "UTC" });
    const start = h("input", { name: "schedule-start", value: schedule.startTime ?? "", placeholder: t("common.example", { example: "2026-11-01T00:00:00" }) });
    const catchup = h("input", { type: "checkbox", name: "schedule-catchup", checked: schedule.catchup !== false });
    const past = h("input", { type: "checkbox", name: "schedule-depends-on-past", checked: schedule.dependsOnPast === true });
    const active = h("input", { type: "number", min: 1, name: "schedule-max-active", value: schedule.maxActiveRuns ?? "" });
    const expired = h("input", { type: "number", min: 0, name: "schedule-expired-limit", value: schedule.expiredLimit ?? "" });
    const timeout = h("input", { name: "pipeline-timeout", value: meta.timeout ?? "", placeholder: t("editor.timeoutPlaceholder") });
    timeout.addEventListener("input", () => ((meta.timeout = timeout.value.trim() || undefined), markChanged()));
    const preview = h("ol", { class: "fire-times", "aria-label": t("editor.nextFireTimes") });
    const cronField = field(t("editor.cron"), cron);
    const showFireTimes = () => {
      try {
        const timeZone = zone.value.trim() || "UTC";
        const times = nextFireTimes(cron.value, { timeZone });
        preview.replaceChildren(...times.map((time) => h("li", null, formatDate(time, { timeZone, timeZoneName: "short" }))));
        cronField.querySelector(".field-error").textContent = "";
      } catch (error) {
        preview.replaceChildren();
        cronField.querySelector(".field-error").textContent = error.message;
      }
    };
    const updateSchedule = () => {
      if (!cron.value.trim()) {
        meta.schedule = undefined;
        preview.replaceChildren();
        cronField.querySelector(".field-error").textContent = "";
      } else {
        meta.schedule = {
          // What the panel does not show is kept.
          ...meta.schedule,
          cron: cron.value.trim(),
          timezone: zone.value.trim() || undefined,
          startTime: start.value.trim() || undefined,
          catchup: catchup.checked,
          dependsOnPast: past.checked || undefined,
          maxActiveRuns: active.value ? Number(active.value) : undefined,
          expiredLimit: expired.value ? Number(expired.value) : undefined,
        };
        showFireTimes();
      }
      markChanged();
    };
    for (const input of [cron, zone, start, active, expired]) input.addEventListener("input", updateSchedule);
    for (const input of [catchup, past]) input.addEventListener("change", updateSchedule);
    panel.replaceChildren(
      h("h2", null, t("editor.pipeline")),
      ...problems.pipeline.map((problem) => h("p", { class: "field-error" }, problem)),
      field(t("common.name"), name),
      field(t("common.description"), description),
      field(t("editor.parallelism"), parallelism, { help: t("editor.parallelismHelp") }),
      field(t("editor.timeout"), timeout, { help: t("editor.pipelineTimeoutHelp") }),
      field(t("editor.environment"), env, { help: t("editor.environmentHelp") }),
      field(t("common.parameters"), parameters, { help: t("editor.pipelineParametersHelp") }),
      h(
        "fieldset",
        null,
        h("legend", null, t("editor.schedule")),
        cronField,
        field(t("editor.timeZone"), zone),
        field(t("editor.start"), start),
        field(t("editor.catchup"), catchup),
        field(t("editor.dependsOnPast"), past),
        field(t("editor.maxActiveRuns"), active),
        field(t("editor.expiredLimit"), expired, { help: t("editor.expiredLimitHelp") }),
        h("h3", null, t("editor.nextFireTimes")),
        preview,
      ),
    );
    // Showing the saved schedule changes nothing: leaving right after opening asks nothing.
    if (schedule.cron) showFireTimes();
    panel.append(alertsFieldset());
  }

  /** The pipeline's alerts: each part the project's default unless set here. */
  function alertsFieldset() {
    const rule = meta.alerts ?? {};
    const sameOn = h("input", { type: "checkbox", name: "alerts-same-on", checked: rule.on === undefined });
    const on = triggers().map(([value, label]) => [value, h("input", { type: "checkbox", name: `alerts-on-${value}`, checked: (rule.on ?? []).includes(value) }), label]);
    const users = h("input", { name: "alerts-users", value: (rule.users ?? []).join(", "), placeholder: t("editor.projects") });
    const sameWebhooks = h("input", { type: "checkbox", name: "alerts-same-webhooks", checked: rule.webhooks === undefined });
    const webhooks = projectWebhooks.map((name) => [name, h("input", { type: "checkbox", name: `alerts-webhook-${name}`, checked: (rule.webhooks ?? []).includes(name) })]);
    const long = h("input", { name: "alerts-runningLongerThan", value: rule.runningLongerThan ?? "", placeholder: t("editor.projectsExample") });
    const update = () => {
      for (const [, input] of on) input.disabled = sameOn.checked;
      for (const [, input] of webhooks) input.disabled = sameWebhooks.checked;
      meta.alerts = ruleFromForm({
        sameOn: sameOn.checked,
        on: on.filter(([, input]) => input.checked).map(([value]) => value),
        users: users.value,
        sameWebhooks: sameWebhooks.checked,
        webhooks: webhooks.filter(([, input]) => input.checked).map(([name]) => name),
        runningLongerThan: long.value,
      });
    };
    for (const input of [sameOn, sameWebhooks, ...on.map(([, input]) => input), ...webhooks.map(([, input]) => input)]) {
      input.addEventListener("change", () => (update(), markChanged()));
    }
    for (const input of [users, long]) input.addEventListener("input", () => (update(), markChanged()));
    for (const [, input] of on) input.disabled = sameOn.checked;
    for (const [, input] of webhooks) input.disabled = sameWebhooks.checked;
    return h(
      "fieldset",
      { class: "alerts" },
      h("legend", null, t("editor.alerts")),
      field(t("editor.alertsSameOn"), sameOn),
      ...on.map(([, input, label]) => field(label, input)),
      field(t("alerts.tellMembers"), users, { help: t("editor.alertsUsersHelp") }),
      field(t("editor.alertsSameWebhooks"), sameWebhooks),
      ...(webhooks.length ? webhooks.map(([name, input]) => field(name, input)) : [h("small", { class: "help" }, t("editor.noWebhooks"))]),
      field(t("alerts.runningLongerThan"), long),
    );
  }

  // Pipeline settings are not in the graph; a change to them is a change all the same.
  let metaChanged = false;
  function markChanged() {
    metaChanged = true;
    renderToolbar();
  }

  // MARK: Toolbar

  const saveButton = h("button", { type: "button", class: "primary", onclick: () => save() }, t("editor.save"));
  const runButton = h("button", { type: "button", onclick: () => run() }, t("editor.run"));
  const undoButton = h("button", { type: "button", title: "Ctrl+Z", onclick: () => (graph.undo(), renderAll()) }, t("editor.undo"));
  const redoButton = h("button", { type: "button", title: "Ctrl+Y", onclick: () => (graph.redo(), renderAll()) }, t("editor.redo"));
  const state = h("span", { class: "muted", id: "editor-state" });
  function renderToolbar() {
    const unsaved = dirty() || metaChanged;
    state.textContent = unsaved ? t("editor.unsaved") : existing ? t("editor.saved") : "";
    undoButton.disabled = !graph.past.length;
    redoButton.disabled = !graph.future.length;
    saveButton.disabled = !meta.name;
  }
  const toolbar = h(
    "div",
    { class: "toolbar", role: "toolbar", "aria-label": t("editor.toolbar") },
    saveButton,
    runButton,
    undoButton,
    redoButton,
    h("button", { type: "button", onclick: () => (graph.place(layeredLayout([...graph.nodes.keys()], graph.edges, { width, height })), renderAll(), fit()) }, t("editor.arrange")),
    h("button", { type: "button", "aria-label": t("editor.zoomIn"), onclick: () => zoom(1.2) }, "+"),
    h("button", { type: "button", "aria-label": t("editor.zoomOut"), onclick: () => zoom(1 / 1.2) }, "−"),
    h("button", { type: "button", onclick: () => fit() }, t("editor.fit")),
    h("button", { type: "button", onclick: () => previewRender() }, t("editor.preview")),
    findTask,
    taskNames,
    state,
  );

  // MARK: Save, run, preview

  async function save() {
    if (!meta.name) {
      notice(message, t("editor.nameFirst"), "error");
      return false;
    }
    const { document, layout } = graph.toPipeline(meta);
    notice(message, t("editor.saving"), "busy");
    try {
      const saved = await api.post(projectPath(project, "pipelines"), document);
      await api.put(projectPath(project, "pipelines", meta.name, "layout"), { layout });
      pinned = saved.templates ?? {};
      problems = { tasks: {}, pipeline: [] };
      savedRevision = graph.revision;
      metaChanged = false;
      notice(message, t("editor.savedVersion", { version: saved.version }), "ok");
      if (!existing) {
        go(`#/p/${project}/pipelines/${meta.name}`, { replace: true });
        return true;
      }
      renderAll();
      return true;
    } catch (error) {
      problems = groupProblems(error.fields ?? []);
      notice(message, error.message, "error");
      // Show the first task at fault.
      const first = Object.keys(problems.tasks)[0];
      if (first && graph.nodes.has(first)) graph.selectedNodes = new Set([first]);
      renderAll();
      return false;
    }
  }

  async function run() {
    if ((dirty() || metaChanged || !existing) && !(await save())) return;
    const parameters = await askParameters();
    if (parameters === null) return;
    try {
      const started = await api.post(projectPath(project, "pipelines", meta.name, "runs"), { parameters });
      go(`#/p/${project}/runs/${started.id}`);
    } catch (error) {
      notice(message, error.message, "error");
    }
  }

  async function runTask(task, debug) {
    const parameters = await askParameters();
    if (parameters === null) return;
    try {
      const started = await api.post(projectPath(project, "pipelines", meta.name, "tasks", task, "run"), { debug, parameters });
      go(`#/p/${project}/runs/${started.id}`);
    } catch (error) {
      notice(message, error.message, "error");
    }
  }

  const dialog = h("dialog", { class: "preview" });

  /** The run's parameter values, asked for when the pipeline declares some: {} when none, null when cancelled. */
  function askParameters() {
    const declared = meta.parameters ?? [];
    if (!declared.length) return Promise.resolve({});
    const inputs = declared.map((parameter) => [parameter.name, h("input", { name: `param-${parameter.name}`, value: parameter.default ?? "", placeholder: parameter.default === undefined ? t("common.required") : "" })]);
    return new Promise((resolve) => {
      const form = h(
        "form",
        { method: "dialog", class: "run-parameters" },
        h("h2", null, t("editor.runWithParameters")),
        ...inputs.map(([name, input]) => field(name, input, { help: declared.find((parameter) => parameter.name === name)?.description })),
        h("div", { class: "row" }, h("button", { type: "submit", value: "run", class: "primary" }, t("editor.run")), h("button", { type: "submit", value: "cancel" }, t("common.cancel"))),
      );
      dialog.replaceChildren(form);
      dialog.addEventListener(
        "close",
        () => resolve(dialog.returnValue === "run" ? runValues(declared, Object.fromEntries(inputs.map(([name, input]) => [name, input.value]))) : null),
        { once: true },
      );
      dialog.returnValue = "";
      dialog.showModal();
      inputs[0]?.[1].focus();
    });
  }
  async function previewRender() {
    if (!existing || dirty() || metaChanged) {
      notice(message, t("editor.saveFirst"), "error");
      return;
    }
    try {
      const rendered = await api.post(projectPath(project, "pipelines", meta.name, "render"), {});
      dialog.replaceChildren(
        h("h2", null, t("editor.previewTitle", { pipeline: rendered.pipeline, version: rendered.version })),
        ...rendered.tasks.map((task) =>
          h("section", null, h("h3", null, task.name), h("pre", null, task.command.join(" ")), h("pre", null, Object.entries(task.env).map(([key, value]) => `${key}=${value}`).join("\n"))),
        ),
        h("form", { method: "dialog" }, h("button", { class: "primary" }, t("editor.close"))),
      );
      dialog.showModal();
    } catch (error) {
      notice(message, error.message, "error");
    }
  }

  renderPalette();
  const element = h(
    "section",
    { class: "editor" },
    h("div", { class: "editor-head" }, h("h1", null, existing ? t("editor.title", { name: existing }) : t("pipelines.new")), toolbar),
    message,
    h("div", { class: "editor-body" }, h("aside", { class: "palette", "aria-label": t("editor.templates") }, h("h2", null, t("editor.templates")), paletteSearch, paletteList), h("div", { class: "canvas-wrap" }, canvas, minimap), panel),
    dialog,
  );
  renderAll();
  applyView();
  requestAnimationFrame(() => (existing ? fit() : frameMinimap()));
  return {
    element,
    dispose: () => document.removeEventListener("keydown", onKey),
    beforeLeave: ({ quiet } = {}) => !(dirty() || metaChanged) || (!quiet && confirm(t("editor.confirmLeave"))),
  };
}
