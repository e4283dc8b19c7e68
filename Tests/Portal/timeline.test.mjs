import { test } from "node:test";
import assert from "node:assert/strict";
import { timeline } from "../../Web/js/timeline.mjs";

const at = (seconds) => new Date(Date.UTC(2026, 11, 5, 10, 0, seconds)).toISOString();
const attempt = (number, state, from, to) => ({ number, state, startedAt: at(from), finishedAt: to == null ? null : at(to) });

// extract (0-2) → {fast (2-3), slow (2-6, retried: 2-4 failed, 4-6)} → join (6-8); audit never started.
const run = {
  tasks: [
    { name: "extract", state: "succeeded", dependsOn: [], attempts: [attempt(1, "succeeded", 0, 2)] },
    { name: "fast", state: "succeeded", dependsOn: ["extract"], attempts: [attempt(1, "succeeded", 2, 3)] },
    { name: "slow", state: "succeeded", dependsOn: ["extract"], attempts: [attempt(1, "failed", 2, 4), attempt(2, "succeeded", 4, 6)] },
    { name: "join", state: "succeeded", dependsOn: ["fast", "slow"], attempts: [attempt(1, "succeeded", 6, 8)] },
    { name: "audit", state: "upstream_failed", dependsOn: ["join"], attempts: [] },
  ],
};

test("a bar per attempt, rows by start, times from the run's first start", () => {
  const shown = timeline(run);
  assert.deepEqual(shown.rows.map((row) => row.task), ["extract", "fast", "slow", "join"]);
  assert.equal(shown.end - shown.start, 8000);
  assert.deepEqual(shown.rows[2].bars, [
    { attempt: 1, state: "failed", from: 2000, to: 4000 },
    { attempt: 2, state: "succeeded", from: 4000, to: 6000 },
  ]);
});

test("the critical path follows the upstream that ended last", () => {
  assert.deepEqual(timeline(run).critical, ["extract", "slow", "join"]);
});

test("a running attempt's bar ends now; nothing ran, nothing shown", () => {
  const running = { tasks: [{ name: "a", state: "running", dependsOn: [], attempts: [attempt(1, "running", 0, null)] }] };
  const shown = timeline(running, Date.parse(at(5)));
  assert.deepEqual(shown.rows[0].bars, [{ attempt: 1, state: "running", from: 0, to: 5000 }]);
  assert.deepEqual(shown.critical, ["a"]);
  assert.deepEqual(timeline({ tasks: [{ name: "a", state: "pending", attempts: [] }] }), { start: 0, end: 0, rows: [], critical: [] });
});
