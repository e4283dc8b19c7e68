import { test } from "node:test";
import assert from "node:assert/strict";
import { layeredLayout } from "../../Web/js/layout.mjs";

test("a diamond is laid out in three layers, the middle two side by side", () => {
  const positions = layeredLayout(["a", "b", "c", "d"], [["a", "b"], ["a", "c"], ["b", "d"], ["c", "d"]]);
  assert.ok(positions.a.y < positions.b.y && positions.b.y === positions.c.y && positions.c.y < positions.d.y);
  assert.notEqual(positions.b.x, positions.c.x);
  assert.equal(positions.a.x, positions.d.x, "a lone task is centred over the layer");
});

test("a task sits below its deepest parent", () => {
  const positions = layeredLayout(["a", "b", "c"], [["a", "b"], ["b", "c"], ["a", "c"]]);
  assert.ok(positions.c.y > positions.b.y);
});

test("no two tasks overlap, and 500 tasks are laid out", () => {
  const nodes = Array.from({ length: 500 }, (_, index) => `t${index}`);
  const edges = nodes.slice(1).map((name, index) => [`t${Math.floor(index / 3)}`, name]);
  const positions = layeredLayout(nodes, edges);
  const seen = new Set(Object.values(positions).map(({ x, y }) => `${x},${y}`));
  assert.equal(seen.size, 500);
});

test("a cycle (never saved, but drawn) still gets positions", () => {
  const positions = layeredLayout(["a", "b"], [["a", "b"], ["b", "a"]]);
  assert.ok(positions.a && positions.b);
});
