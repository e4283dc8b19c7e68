// The editor's model of a pipeline: tasks (nodes with a template, arguments, settings and a position) and their
// dependencies (edges), the selection, undo/redo, copy/paste, and the pipeline document it saves. No DOM here.
import { t } from "./i18n.mjs";

const taskSettings = ["retry", "timeout", "replicas", "resources", "skip", "env", "mounts"];

export class Graph {
  constructor() {
    /** name → {name, template, args, x, y, retry?, timeout?, replicas?, resources?, skip?, env?, mounts?} */
    this.nodes = new Map();
    /** [from, to]: `to` depends on `from`. */
    this.edges = [];
    this.selectedNodes = new Set();
    this.selectedEdges = new Set();
    this.past = [];
    this.future = [];
    /** Counts changes, so the editor knows when there is unsaved work. */
    this.revision = 0;
  }

  static edgeKey(from, to) {
    return `${from}→${to}`;
  }

  // MARK: History

  snapshot() {
    return JSON.stringify({ nodes: [...this.nodes.values()], edges: this.edges });
  }

  restore(text) {
    const { nodes, edges } = JSON.parse(text);
    this.nodes = new Map(nodes.map((node) => [node.name, node]));
    this.edges = edges;
    for (const name of [...this.selectedNodes]) if (!this.nodes.has(name)) this.selectedNodes.delete(name);
    this.selectedEdges.clear();
  }

  /** Runs `change` as one undoable step. */
  change(change) {
    const before = this.snapshot();
    const result = change();
    if (this.snapshot() !== before) {
      this.past.push(before);
      if (this.past.length > 200) this.past.shift();
      this.future = [];
      this.revision++;
    }
    return result;
  }

  undo() {
    if (!this.past.length) return false;
    this.future.push(this.snapshot());
    this.restore(this.past.pop());
    this.revision++;
    return true;
  }

  redo() {
    if (!this.future.length) return false;
    this.past.push(this.snapshot());
    this.restore(this.future.pop());
    this.revision++;
    return true;
  }

  // MARK: Tasks and dependencies

  /** `base`, or `base-2`, `base-3`… : a task name not taken yet. */
  uniqueName(base) {
    const clean = base.toLowerCase().replace(/[^a-z0-9-]/g, "-").replace(/^-+|-+$/g, "") || "task";
    if (!this.nodes.has(clean)) return clean;
    let index = 2;
    while (this.nodes.has(`${clean}-${index}`)) index++;
    return `${clean}-${index}`;
  }

  addTask(template, x, y) {
    return this.change(() => {
      const name = this.uniqueName(template);
      this.nodes.set(name, { name, template, args: {}, x: Math.round(x), y: Math.round(y) });
      this.selectedNodes = new Set([name]);
      this.selectedEdges.clear();
      return name;
    });
  }

  parents(name) {
    return this.edges.filter(([, to]) => to === name).map(([from]) => from);
  }

  /**
   * What the tasks `names` depend on and what depends on them, however far: {upstream, downstream} task names (the
   * tasks themselves left out) and `edges`, the keys of the dependencies on those paths.
   */
  lineage(names) {
    const chosen = new Set(names);
    const follow = (forward) => {
      const found = new Set();
      const next = new Map();
      for (const [from, to] of this.edges) {
        const [a, b] = forward ? [from, to] : [to, from];
        (next.get(a) ?? next.set(a, []).get(a)).push(b);
      }
      const stack = [...chosen];
      while (stack.length) {
        for (const other of next.get(stack.pop()) ?? []) {
          if (chosen.has(other) || found.has(other)) continue;
          found.add(other);
          stack.push(other);
        }
      }
      return found;
    };
    const upstream = follow(false);
    const downstream = follow(true);
    const edges = new Set(
      this.edges
        .filter(([from, to]) => (upstream.has(from) && (chosen.has(to) || upstream.has(to))) || ((chosen.has(from) || downstream.has(from)) && downstream.has(to)))
        .map(([from, to]) => Graph.edgeKey(from, to)),
    );
    return { upstream, downstream, edges };
  }

  /** Whether `to` can reach `from` already (so from → to would close a cycle). */
  reaches(start, goal) {
    const seen = new Set();
    const stack = [start];
    while (stack.length) {
      const name = stack.pop();
      if (name === goal) return true;
      if (seen.has(name)) continue;
      seen.add(name);
      for (const [from, to] of this.edges) if (from === name) stack.push(to);
    }
    return false;
  }

  /** Adds from → to, or says why not. */
  connect(from, to) {
    if (!this.nodes.has(from) || !this.nodes.has(to)) return { ok: false, reason: t("graph.bothEnds") };
    if (from === to) return { ok: false, reason: t("graph.selfDependency") };
    if (this.edges.some(([a, b]) => a === from && b === to)) return { ok: false, reason: t("graph.alreadyDepends", { from, to }) };
    if (this.reaches(to, from)) return { ok: false, reason: t("graph.cycle", { from, to }) };
    this.change(() => this.edges.push([from, to]));
    return { ok: true };
  }

  /** Makes `upstreams` the tasks `name` runs after, as one step; says why not (naming the task at fault) and changes nothing. */
  setUpstreams(name, upstreams) {
    for (const from of upstreams) {
      if (!this.nodes.has(from) || !this.nodes.has(name)) return { ok: false, reason: t("graph.bothEnds") };
      if (from === name) return { ok: false, reason: t("graph.selfDependency") };
      if (this.reaches(name, from)) return { ok: false, reason: t("graph.cycle", { from, to: name }) };
    }
    this.change(() => {
      this.edges = [...this.edges.filter(([, to]) => to !== name), ...[...new Set(upstreams)].map((from) => [from, name])];
    });
    return { ok: true };
  }

  /** Renames a task, keeping its dependencies; says why not when the name is taken or malformed. */
  rename(old, name) {
    if (old === name) return { ok: true };
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) return { ok: false, reason: t("graph.badName") };
    if (this.nodes.has(name)) return { ok: false, reason: t("graph.nameTaken", { name }) };
    this.change(() => {
      const node = this.nodes.get(old);
      this.nodes.delete(old);
      this.nodes.set(name, { ...node, name });
      this.edges = this.edges.map(([from, to]) => [from === old ? name : from, to === old ? name : to]);
      if (this.selectedNodes.delete(old)) this.selectedNodes.add(name);
    });
    return { ok: true };
  }

  /** Changes one task's fields (args, settings) as one step. */
  update(name, fields) {
    this.change(() => {
      const node = this.nodes.get(name);
      if (!node) return;
      const next = { ...node, ...fields };
      for (const [key, value] of Object.entries(fields)) if (value === undefined) delete next[key];
      this.nodes.set(name, next);
    });
  }

  deleteSelection() {
    this.change(() => {
      for (const name of this.selectedNodes) this.nodes.delete(name);
      this.edges = this.edges.filter(
        ([from, to]) => !this.selectedNodes.has(from) && !this.selectedNodes.has(to) && !this.selectedEdges.has(Graph.edgeKey(from, to)),
      );
      this.selectedNodes.clear();
      this.selectedEdges.clear();
    });
  }

  moveSelection(dx, dy) {
    this.change(() => {
      for (const name of this.selectedNodes) {
        const node = this.nodes.get(name);
        this.nodes.set(name, { ...node, x: Math.round(node.x + dx), y: Math.round(node.y + dy) });
      }
    });
  }

  /** Places every task (from layout.mjs's positions) as one step. */
  place(positions) {
    this.change(() => {
      for (const [name, { x, y }] of Object.entries(positions)) {
        const node = this.nodes.get(name);
        if (node) this.nodes.set(name, { ...node, x: Math.round(x), y: Math.round(y) });
      }
    });
  }

  // MARK: Copy and paste

  /** The selected tasks and the dependencies among them. */
  copy() {
    const names = this.selectedNodes;
    return {
      nodes: [...names].map((name) => structuredClone(this.nodes.get(name))),
      edges: this.edges.filter(([from, to]) => names.has(from) && names.has(to)),
    };
  }

  /** Adds a copy (renamed where taken, shifted by `offset`) and selects it. */
  paste(clipboard, offset = 40) {
    if (!clipboard?.nodes?.length) return [];
    return this.change(() => {
      const renamed = new Map();
      for (const node of clipboard.nodes) {
        const name = this.uniqueName(node.name);
        renamed.set(node.name, name);
        this.nodes.set(name, { ...structuredClone(node), name, x: node.x + offset, y: node.y + offset });
      }
      for (const [from, to] of clipboard.edges) this.edges.push([renamed.get(from), renamed.get(to)]);
      this.selectedNodes = new Set(renamed.values());
      this.selectedEdges.clear();
      return [...renamed.values()];
    });
  }

  // MARK: The pipeline document

  /** The pipeline file (the `POST …/pipelines` body) and the layout kept beside it. */
  toPipeline({ name, description, parallelism, env, schedule, timeout, alerts, parameters }) {
    const tasks = [...this.nodes.values()].map((node) => {
      const task = { name: node.name, template: node.template };
      if (Object.keys(node.args ?? {}).length) task.args = node.args;
      const parents = this.parents(node.name);
      if (parents.length) task.dependsOn = parents;
      for (const key of taskSettings) if (node[key] !== undefined) task[key] = node[key];
      return task;
    });
    const spec = { tasks };
    if (parallelism) spec.parallelism = parallelism;
    if (env && Object.keys(env).length) spec.env = env;
    if (schedule?.cron) spec.schedule = schedule;
    if (timeout) spec.timeout = timeout;
    if (alerts) spec.alerts = alerts;
    if (parameters?.length) spec.parameters = parameters;
    const metadata = { name };
    if (description) metadata.description = description;
    const layout = Object.fromEntries([...this.nodes.values()].map((node) => [node.name, { x: node.x, y: node.y }]));
    return { document: { apiVersion: "trellis.dev/v1", kind: "Pipeline", metadata, spec }, layout };
  }

  /** The pipeline's own settings in a saved document, as `toPipeline` takes them back: every field the graph does not
   * hold, so that saving from the editor keeps what it does not show. */
  static settings(document) {
    const spec = document.spec ?? {};
    return {
      name: document.metadata?.name ?? "",
      description: document.metadata?.description ?? "",
      parallelism: spec.parallelism,
      env: spec.env ?? {},
      schedule: spec.schedule,
      timeout: spec.timeout,
      alerts: spec.alerts,
      parameters: spec.parameters,
    };
  }

  /** A graph of a saved pipeline's spec, at the saved positions (the rest placed by `place` later). */
  static fromPipeline(spec, layout = {}) {
    const graph = new Graph();
    (spec.tasks ?? []).forEach((task, index) => {
      const position = layout[task.name] ?? { x: 40 + (index % 5) * 220, y: 40 + Math.floor(index / 5) * 120 };
      const node = { name: task.name, template: task.template, args: task.args ?? {}, x: position.x, y: position.y };
      for (const key of taskSettings) if (task[key] !== undefined) node[key] = task[key];
      graph.nodes.set(task.name, node);
      for (const parent of task.dependsOn ?? []) graph.edges.push([parent, task.name]);
    });
    return graph;
  }
}
