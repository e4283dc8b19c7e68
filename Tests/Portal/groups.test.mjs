import { test } from "node:test";
import assert from "node:assert/strict";
import { fanOuts, collapse, stateCounts, groupState } from "../../Web/js/groups.mjs";

// start → shard0…shard11 (noop) → join; start → audit (noop, its own downstream: none); two python tasks too few.
const shards = Array.from({ length: 12 }, (_, i) => ({ name: `shard${i}`, template: "noop", dependsOn: ["start"], state: i < 9 ? "succeeded" : "running" }));
const tasks = [
  { name: "start", template: "shell", dependsOn: [], state: "succeeded" },
  ...shards,
  { name: "audit", template: "noop", dependsOn: ["start"], state: "succeeded" },
  { name: "join", template: "shell", dependsOn: shards.map((task) => task.name), state: "pending" },
];

test("a fan-out is the tasks of one template with the same upstreams and downstreams, when there are enough", () => {
  const groups = fanOuts(tasks);
  assert.deepEqual(groups, [{ id: "noop:shard0", template: "noop", members: shards.map((task) => task.name) }]);
  assert.deepEqual(fanOuts(tasks, 13), []);
});

test("collapsed, a group is one node with the fan-out's edges once; expanded, its tasks", () => {
  const groups = fanOuts(tasks);
  const shown = collapse(tasks, groups);
  assert.deepEqual(shown.nodes.map((node) => node.name), ["start", "group:noop:shard0", "audit", "join"]);
  assert.deepEqual(shown.edges, [["start", "group:noop:shard0"], ["start", "audit"], ["group:noop:shard0", "join"]]);
  const open = collapse(tasks, groups, new Set(["noop:shard0"]));
  assert.equal(open.nodes.length, tasks.length);
  assert.equal(open.edges.length, 12 + 1 + 12);
});

test("a group's counts by state and the state it shows", () => {
  const counts = stateCounts(tasks, shards.map((task) => task.name));
  assert.deepEqual(counts, [["succeeded", 9], ["running", 3]]);
  assert.equal(groupState(counts), "running");
  assert.equal(groupState([["succeeded", 5]]), "succeeded");
  assert.equal(groupState([["succeeded", 4], ["failed", 1]]), "failed");
  assert.equal(groupState([["succeeded", 4], ["skipped", 1]]), "succeeded");
  assert.equal(groupState([["skipped", 3]]), "skipped");
});
