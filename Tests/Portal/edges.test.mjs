import { test } from "node:test";
import assert from "node:assert/strict";
import { edgePath } from "../../Web/js/edges.mjs";

const size = { width: 180, height: 56 };

/** Points along a path of M, L and C commands (as edgePath writes them). */
function points(d) {
  const found = [];
  let [x0, y0] = [0, 0];
  for (const [, command, args] of d.matchAll(/([MLC])([^MLC]*)/g)) {
    const n = args.match(/-?\d+(\.\d+)?(e-?\d+)?/g).map(Number);
    if (command === "M") [x0, y0] = n;
    for (let step = 1; step <= 50 && command !== "M"; step++) {
      const t = step / 50;
      const u = 1 - t;
      if (command === "L") found.push([x0 + (n[0] - x0) * t, y0 + (n[1] - y0) * t]);
      else found.push([u * u * u * x0 + 3 * u * u * t * n[0] + 3 * u * t * t * n[2] + t * t * t * n[4], u * u * u * y0 + 3 * u * u * t * n[1] + 3 * u * t * t * n[3] + t * t * t * n[5]]);
    }
    if (command !== "M") [x0, y0] = n.slice(-2);
    if (command === "M") found.push([x0, y0]);
  }
  return found;
}

const inside = ([x, y], box) => x > box.x + 1 && x < box.x + size.width - 1 && y > box.y + 1 && y < box.y + size.height - 1;

for (const [name, from, to] of [
  ["below", { x: 0, y: 0 }, { x: 0, y: 200 }],
  ["below and aside", { x: 0, y: 0 }, { x: 400, y: 120 }],
  ["on its right, same row", { x: 0, y: 0 }, { x: 220, y: 0 }],
  ["on its left, same row", { x: 440, y: 0 }, { x: 0, y: 0 }],
  ["above, same column", { x: 0, y: 300 }, { x: 0, y: 0 }],
  ["above, half a box aside", { x: 0, y: 300 }, { x: 90, y: 0 }],
  ["just below, overlapping columns", { x: 0, y: 0 }, { x: 100, y: 60 }],
  ["touching below", { x: 0, y: 0 }, { x: 50, y: 56 }],
  ["slightly higher, on its right", { x: 0, y: 20 }, { x: 220, y: 0 }],
]) {
  test(`an edge to a task ${name} leaves the output port, ends above the input port and crosses neither box`, () => {
    const d = edgePath(from, to, size);
    const drawn = points(d);
    assert.deepEqual(drawn[0], [from.x + 90, from.y + 56]);
    const [endX, endY] = drawn[drawn.length - 1];
    assert.ok(Math.abs(endX - (to.x + 90)) < 1e-6 && endY <= to.y && endY >= to.y - 8, d);
    for (const point of drawn) {
      assert.ok(!inside(point, from) && !inside(point, to), `${d} passes ${point} inside a box`);
    }
  });
}
