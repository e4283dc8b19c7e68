import { test } from "node:test";
import assert from "node:assert/strict";
import { podSummary } from "../../Web/js/pods.mjs";

test("an unschedulable pod says where it is not and why", () => {
  const summary = podSummary({
    name: "pod-1", phase: "Pending", node: null, container: "waiting: ContainerCreating",
    conditions: [
      { type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes are available" },
      { type: "Initialized", status: "True" },
    ],
    events: [{ type: "Warning", reason: "FailedScheduling", message: "0/3 nodes are available", count: 3 }],
  });
  assert.equal(summary.title, "pod-1 · Pending · on no node yet · waiting: ContainerCreating");
  assert.deepEqual(summary.problems, ["PodScheduled: Unschedulable — 0/3 nodes are available"]);
  assert.deepEqual(summary.events, ["FailedScheduling ×3: 0/3 nodes are available"]);
  assert.equal(summary.warning, true);
});

test("a pod that ran well is no warning", () => {
  const summary = podSummary({ name: "pod-2", phase: "Succeeded", node: "worker-1", conditions: [], events: [{ type: "Normal", reason: "Pulled", message: "pulled", count: 1 }] });
  assert.equal(summary.title, "pod-2 · Succeeded · on worker-1");
  assert.deepEqual(summary.events, ["Pulled: pulled"]);
  assert.equal(summary.warning, false);
  assert.equal(podSummary({ name: "pod-3", phase: "Gone", conditions: [], events: [] }).warning, true);
});
