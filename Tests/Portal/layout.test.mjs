import { test } from "node:test";
import assert from "node:assert/strict";
import { layeredLayout, nearestInOrder } from "../../Web/js/layout.mjs";

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

/** Crossings of the drawn edges between adjacent layers (every edge here spans one layer). */
function drawnCrossings(positions, edges) {
  let count = 0;
  for (const [a, b] of edges) {
    for (const [c, d] of edges) {
      if (positions[a].y !== positions[c].y || a === c || b === d) continue;
      if (positions[a].x < positions[c].x && positions[b].x > positions[d].x) count++;
    }
  }
  return count;
}

test("crossings are removed where the graph allows: two families given interleaved", () => {
  // Parents p0..p5, each with its own two children, listed so that the children alternate between families.
  const parents = Array.from({ length: 6 }, (_, index) => `p${index}`);
  const children = parents.flatMap((parent) => [`${parent}-a`, `${parent}-b`]);
  const interleaved = [...children.filter((_, index) => index % 2 === 0), ...children.filter((_, index) => index % 2 === 1)];
  const edges = children.map((child) => [child.slice(0, 2), child]);
  const positions = layeredLayout(["root", ...parents, ...interleaved], [...parents.map((parent) => ["root", parent]), ...edges]);
  assert.equal(drawnCrossings(positions, edges), 0);
});

test("an edge over several layers is ordered through them: a long edge does not cross a chain beside it", () => {
  // a → b → c → d, and a → d directly; x → y → z beside them feeding d.
  const edges = [["a", "b"], ["b", "c"], ["c", "d"], ["a", "d"], ["x", "y"], ["y", "z"], ["z", "d"]];
  const positions = layeredLayout(["x", "y", "z", "a", "b", "c", "d"], edges);
  const side = (name) => Math.sign(positions[name].x - positions.b.x);
  assert.equal(side("y"), side("z"), "the x chain stays on one side of the a chain");
});

test("placement is compact: a chain is straight, a fan-out centred under its source, a join under its parents", () => {
  const chain = layeredLayout(["a", "b", "c"], [["a", "b"], ["b", "c"]]);
  assert.ok(chain.a.x === chain.b.x && chain.b.x === chain.c.x);
  const fan = layeredLayout(["s", "t1", "t2", "t3", "j"], [["s", "t1"], ["s", "t2"], ["s", "t3"], ["t1", "j"], ["t2", "j"], ["t3", "j"]], { width: 100, gapX: 20 });
  assert.deepEqual([fan.t1.x, fan.t2.x, fan.t3.x].map((x) => x - fan.s.x), [-120, 0, 120]);
  assert.equal(fan.j.x, fan.s.x);
  // The left edge of the drawing is at the margin.
  assert.equal(Math.min(...Object.values(fan).map((p) => p.x)), 40);
});

test("nearest positions in order: as wanted where there is room, pushed apart evenly where not", () => {
  assert.deepEqual(nearestInOrder([0, 500, 1000], [0, 100, 100]), [0, 500, 1000]);
  assert.deepEqual(nearestInOrder([0, 0, 0], [0, 100, 100]), [-100, 0, 100]);
  assert.deepEqual(nearestInOrder([300, 0], [0, 100]), [100, 200]);
});

test("a thousand tasks with two random upstreams each are laid out without overlaps", () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const nodes = Array.from({ length: 1000 }, (_, index) => `t${index}`);
  const edges = nodes.slice(1).flatMap((name, index) => [[`t${Math.floor(random() * (index + 1))}`, name], [`t${Math.floor(random() * (index + 1))}`, name]]);
  const positions = layeredLayout(nodes, edges, { width: 180, gapX: 40 });
  const rows = new Map();
  for (const name of nodes) (rows.get(positions[name].y) ?? rows.set(positions[name].y, []).get(positions[name].y)).push(positions[name].x);
  for (const xs of rows.values()) {
    xs.sort((a, b) => a - b);
    for (let index = 1; index < xs.length; index++) assert.ok(xs[index] - xs[index - 1] >= 220 - 1e-6, "boxes in a layer do not overlap");
  }
  for (const [from, to] of edges) if (from !== to) assert.ok(positions[from].y < positions[to].y, `${from} above ${to}`);
});

test("the sources are reordered too (a sweep up): a join of the first and last source does not cross the middle one's edge", () => {
  const edges = [["a", "p"], ["c", "p"], ["b", "q"]];
  const positions = layeredLayout(["a", "b", "c", "p", "q"], edges);
  assert.equal(drawnCrossings(positions, edges), 0);
});
