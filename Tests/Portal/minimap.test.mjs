import { test } from "node:test";
import assert from "node:assert/strict";
import { bounds, mapTransform, shownArea, union, centredOn, findTasks, readableScale, fitView } from "../../Web/js/minimap.mjs";

test("the graph's bounds, and the map that shows them centred", () => {
  const box = bounds([{ x: 0, y: 0 }, { x: 1000, y: 400 }], 180, 56);
  assert.deepEqual(box, { x: 0, y: 0, width: 1180, height: 456 });
  assert.equal(bounds([], 180, 56), null);
  const map = mapTransform(box, 200, 140);
  assert.equal(map.scale, 192 / 1180);
  const [left, right] = [box.x * map.scale + map.x, (box.x + box.width) * map.scale + map.x];
  assert.ok(Math.abs(left - 4) < 1e-9 && Math.abs(right - 196) < 1e-9);
  const [top, bottom] = [box.y * map.scale + map.y, (box.y + box.height) * map.scale + map.y];
  assert.ok(Math.abs(top - (140 - bottom)) < 1e-9, "centred vertically");
});

test("what the canvas shows under a view, and the view centred on a task", () => {
  assert.deepEqual(shownArea({ x: -200, y: 100, k: 0.5 }, 800, 600), { x: 400, y: -200, width: 1600, height: 1200 });
  const view = centredOn({ x: 1090, y: 428 }, 1, 800, 600);
  const shown = shownArea(view, 800, 600);
  assert.deepEqual([shown.x + shown.width / 2, shown.y + shown.height / 2], [1090, 428]);
  assert.deepEqual(union({ x: 0, y: 0, width: 10, height: 10 }, { x: -5, y: 5, width: 10, height: 20 }), { x: -5, y: 0, width: 15, height: 25 });
  assert.ok(readableScale >= 0.4);
});

test("finding a task: exact, then prefix, then containing; empty text finds nothing", () => {
  const names = ["train", "train-eval", "pretrain", "load", "Train-big"];
  assert.deepEqual(findTasks(names, "train"), ["train", "Train-big", "train-eval", "pretrain"]);
  assert.deepEqual(findTasks(names, "  LOAD "), ["load"]);
  assert.deepEqual(findTasks(names, ""), []);
  assert.deepEqual(findTasks(names, "zzz"), []);
  assert.equal(findTasks(Array.from({ length: 100 }, (_, i) => `t${i}`), "t", 20).length, 20);
});

test("fitting: the whole graph centred when it is readable so; else its top row centred at the readable scale", () => {
  const small = [{ x: 0, y: 0 }, { x: 200, y: 100 }];
  const whole = fitView(small, 100, 50, 1000, 500);
  assert.equal(whole.k, 1.5);
  assert.deepEqual([whole.x, whole.y], [(1000 - 300 * 1.5) / 2, (500 - 150 * 1.5) / 2]);
  // 50 tasks in a row below one source: too wide to show whole at half size.
  const wide = [{ x: 2400, y: 40 }, ...Array.from({ length: 50 }, (_, index) => ({ x: index * 100, y: 200 }))];
  const start = fitView(wide, 80, 50, 1000, 500);
  assert.equal(start.k, readableScale);
  assert.equal(start.x + (2400 + 40) * start.k, 500, "the source is centred");
  assert.equal(start.y + 40 * start.k, 40 * start.k, "the top row is at the top");
  assert.equal(fitView([], 80, 50, 1000, 500), null);
});
