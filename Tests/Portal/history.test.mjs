import { test } from "node:test";
import assert from "node:assert/strict";
import { gridModel, mergeGrids, cellLabel, sparklinePath, seconds } from "../../Web/js/history.mjs";

const cell = (state, start, end, attempts = 1) => ({ state, attempts, startedAt: start, finishedAt: end });
const newer = {
  pipeline: "daily",
  tasks: ["extract", "load", "report"],
  runs: [
    { run: { id: "r2" }, cells: [cell("succeeded", "2026-12-05T10:00:00Z", "2026-12-05T10:00:02Z"), cell("failed", "2026-12-05T10:00:02Z", "2026-12-05T10:00:09Z", 2), null] },
    { run: { id: "r1" }, cells: [cell("succeeded", "2026-12-04T10:00:00Z", "2026-12-04T10:00:04Z"), null, cell("running", "2026-12-04T10:00:04Z", null)] },
  ],
  next: "c1",
};
const older = { pipeline: "daily", tasks: ["extract", "old"], runs: [{ run: { id: "r0" }, cells: [cell("failed", "2026-12-03T10:00:00Z", "2026-12-03T10:00:01Z"), cell("skipped", null, null)] }] };

test("the grid's columns run from the oldest to the newest, a row per task", () => {
  const model = gridModel(newer);
  assert.deepEqual(model.runs.map((run) => run.id), ["r1", "r2"]);
  assert.deepEqual(model.rows.map((row) => row.task), ["extract", "load", "report"]);
  assert.deepEqual(model.rows[0].cells.map((item) => item.seconds), [4, 2]);
  assert.equal(model.rows[1].cells[0], null);
  assert.equal(model.rows[1].cells[1].run, "r2");
  assert.equal(model.rows[2].cells[0].seconds, null);
});

test("an older page joins the grid with its own tasks after the newer's", () => {
  const merged = mergeGrids(newer, older);
  assert.deepEqual(merged.tasks, ["extract", "load", "report", "old"]);
  assert.deepEqual(merged.runs.map((column) => column.run.id), ["r2", "r1", "r0"]);
  assert.equal(merged.runs[0].cells[3], null);
  assert.equal(merged.runs[2].cells[0].state, "failed");
  assert.equal(merged.runs[2].cells[1], null);
  assert.equal(merged.runs[2].cells[3].state, "skipped");
  assert.equal(merged.next, undefined);
});

test("a cell in words", () => {
  assert.equal(cellLabel("load", { state: "failed", attempts: 2, seconds: 3.5 }), "load · failed · 2 attempts · 3.5 s");
  assert.equal(cellLabel("load", { state: "succeeded", attempts: 1, seconds: 150 }), "load · succeeded · 2.5 min");
  assert.equal(cellLabel("load", null), "load: not in this run");
  assert.equal(seconds("2026-12-05T10:00:00Z", null), null);
});

test("a task's durations as a line scaled to the longest, broken where a run had none", () => {
  assert.equal(sparklinePath([2, 4, null, 1], 30, 10), "M0.0,5.0L10.0,0.0M30.0,7.5");
  assert.equal(sparklinePath([null, null], 30, 10), "");
  assert.equal(sparklinePath([3], 30, 10), "M15.0,0.0");
  assert.equal(sparklinePath([0, 0], 30, 10), "M0.0,10.0L30.0,10.0");
});
