import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph } from "../../Web/js/graph.mjs";

test("tasks get unique names and dependencies refuse cycles", () => {
  const graph = new Graph();
  const a = graph.addTask("shell", 0, 0);
  const b = graph.addTask("shell", 0, 100);
  const c = graph.addTask("python", 0, 200);
  assert.deepEqual([a, b, c], ["shell", "shell-2", "python"]);
  assert.deepEqual(graph.connect(a, b), { ok: true });
  assert.deepEqual(graph.connect(b, c), { ok: true });
  assert.equal(graph.connect(c, a).reason, "python → shell would close a cycle");
  assert.equal(graph.connect(a, a).reason, "a task cannot depend on itself");
  assert.equal(graph.connect(a, b).reason, "shell-2 already depends on shell");
});

test("undo and redo step through changes", () => {
  const graph = new Graph();
  graph.addTask("shell", 0, 0);
  graph.addTask("noop", 0, 100);
  graph.connect("shell", "noop");
  graph.undo();
  assert.equal(graph.edges.length, 0);
  graph.undo();
  assert.deepEqual([...graph.nodes.keys()], ["shell"]);
  graph.redo();
  graph.redo();
  assert.deepEqual(graph.edges, [["shell", "noop"]]);
  assert.equal(graph.redo(), false);
});

test("deleting a task removes its edges; moving moves the whole selection", () => {
  const graph = new Graph();
  graph.addTask("a", 0, 0);
  graph.addTask("b", 0, 100);
  graph.addTask("c", 0, 200);
  graph.connect("a", "b");
  graph.connect("b", "c");
  graph.selectedNodes = new Set(["a", "c"]);
  graph.moveSelection(10, 5);
  assert.deepEqual([graph.nodes.get("a").x, graph.nodes.get("c").y, graph.nodes.get("b").x], [10, 205, 0]);
  graph.selectedNodes = new Set(["b"]);
  graph.deleteSelection();
  assert.deepEqual(graph.edges, []);
  assert.deepEqual([...graph.nodes.keys()], ["a", "c"]);
});

test("copy and paste renames and keeps inner dependencies", () => {
  const graph = new Graph();
  graph.addTask("load", 0, 0);
  graph.addTask("train", 0, 100);
  graph.connect("load", "train");
  graph.selectedNodes = new Set(["load", "train"]);
  const pasted = graph.paste(graph.copy());
  assert.deepEqual(pasted, ["load-2", "train-2"]);
  assert.deepEqual(graph.edges, [["load", "train"], ["load-2", "train-2"]]);
  assert.equal(graph.nodes.get("train-2").y, 140);
});

test("renaming keeps the dependencies and refuses a taken name", () => {
  const graph = new Graph();
  graph.addTask("a", 0, 0);
  graph.addTask("b", 0, 0);
  graph.connect("a", "b");
  assert.deepEqual(graph.rename("a", "prepare"), { ok: true });
  assert.deepEqual(graph.edges, [["prepare", "b"]]);
  assert.equal(graph.rename("b", "prepare").ok, false);
  assert.equal(graph.rename("b", "Bad Name").ok, false);
});

test("the pipeline document round-trips", () => {
  const graph = new Graph();
  graph.addTask("shell", 10, 20);
  graph.addTask("noop", 10, 120);
  graph.connect("shell", "noop");
  graph.update("shell", { args: { command: "echo hi" }, retry: { limit: 2 }, timeout: "5m" });
  const { document, layout } = graph.toPipeline({ name: "demo", env: { A: "1" }, schedule: { cron: "0 2 * * *" } });
  assert.deepEqual(document.spec.tasks, [
    { name: "shell", template: "shell", args: { command: "echo hi" }, retry: { limit: 2 }, timeout: "5m" },
    { name: "noop", template: "noop", dependsOn: ["shell"] },
  ]);
  assert.deepEqual(document.spec.env, { A: "1" });
  assert.deepEqual(layout.noop, { x: 10, y: 120 });
  const again = Graph.fromPipeline(document.spec, layout);
  assert.deepEqual(again.toPipeline({ name: "demo", env: { A: "1" }, schedule: { cron: "0 2 * * *" } }).document, document);
});

test("a pipeline's timeout and alerts are kept by the editor", () => {
  const graph = new Graph();
  graph.addTask("shell", 10, 20);
  const alerts = { on: ["failed"], webhooks: ["oncall"], runningLongerThan: "2h" };
  const { document } = graph.toPipeline({ name: "demo", timeout: "3h", alerts });
  assert.equal(document.spec.timeout, "3h");
  assert.deepEqual(document.spec.alerts, alerts);
  assert.equal(graph.toPipeline({ name: "demo" }).document.spec.alerts, undefined);
});

test("a pipeline's parameters are kept by the editor", () => {
  const graph = new Graph();
  graph.addTask("shell", 10, 20);
  const parameters = [{ name: "sample", default: "0.1", description: "fraction" }];
  assert.deepEqual(graph.toPipeline({ name: "demo", parameters }).document.spec.parameters, parameters);
});

test("saving from the editor keeps every field of the pipeline file", () => {
  // Every field of DESIGN.md's pipeline file (metadata.project aside: the route names the project).
  const document = {
    apiVersion: "trellis.dev/v1",
    kind: "Pipeline",
    metadata: { name: "daily-train", description: "trains daily" },
    spec: {
      parallelism: 4,
      env: { DATA_DIR: "/mnt/{{creator}}/data" },
      timeout: "6h",
      schedule: {
        cron: "0 2 * * *", timezone: "Asia/Shanghai", startTime: "2026-11-01T00:00:00", catchup: true,
        dependsOnPast: false, maxActiveRuns: 3, expiredLimit: 2,
      },
      alerts: { on: ["failed"], webhooks: ["oncall"], users: ["olga"], runningLongerThan: "2h" },
      parameters: [{ name: "sample", default: "0.1", description: "fraction of the data" }],
      tasks: [
        {
          name: "prepare", template: "shell", args: { command: "echo {{execution_date}}" },
          retry: { limit: 3, backoff: { duration: "1s", factor: 2, maxDuration: "1m" } }, timeout: "10m",
        },
        {
          name: "train", template: "distributed-shell@1.0.0", dependsOn: ["prepare"], replicas: 3,
          resources: { cpu: "2~4", memory: "4Gi", gpu: 0 }, env: { EPOCHS: "3" }, mounts: ["data(pvc):/mnt"], skip: false,
        },
      ],
    },
  };
  const layout = { prepare: { x: 10, y: 20 }, train: { x: 10, y: 140 } };
  const graph = Graph.fromPipeline(structuredClone(document.spec), layout);
  const saved = graph.toPipeline(Graph.settings(structuredClone(document)));
  assert.deepEqual(saved.document, document);
  assert.deepEqual(saved.layout, layout);
});

test("a selected task's lineage: everything upstream and downstream, and the dependencies on those paths", () => {
  const graph = new Graph();
  for (const name of ["a", "b", "c", "d", "e", "x"]) graph.nodes.set(name, { name, template: "shell", args: {}, x: 0, y: 0 });
  graph.edges = [["a", "b"], ["b", "c"], ["c", "d"], ["x", "d"], ["b", "e"]];
  const { upstream, downstream, edges } = graph.lineage(["c"]);
  assert.deepEqual([...upstream].sort(), ["a", "b"]);
  assert.deepEqual([...downstream].sort(), ["d"]);
  assert.deepEqual([...edges].sort(), ["a→b", "b→c", "c→d"]);
  assert.deepEqual([...graph.lineage([]).edges], []);
});

test("a task's upstreams set from a list: one undoable step, a cycle refused naming its edge, nothing changed then", () => {
  const graph = new Graph();
  for (const [name, y] of [["a", 0], ["b", 100], ["c", 200]]) graph.addTask(name, 0, y);
  graph.connect("a", "b");
  assert.deepEqual(graph.setUpstreams("c", ["a", "b"]), { ok: true });
  assert.deepEqual(graph.parents("c").sort(), ["a", "b"]);
  assert.deepEqual(graph.setUpstreams("c", ["b"]), { ok: true });
  assert.deepEqual(graph.edges, [["a", "b"], ["b", "c"]]);
  assert.equal(graph.setUpstreams("a", ["c"]).reason, "c → a would close a cycle");
  assert.equal(graph.setUpstreams("a", ["a"]).reason, "a task cannot depend on itself");
  assert.deepEqual(graph.edges, [["a", "b"], ["b", "c"]]);
  graph.undo();
  assert.deepEqual(graph.parents("c").sort(), ["a", "b"]);
});
