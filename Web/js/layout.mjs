// Automatic layered layout of a DAG (top to bottom), in linear time per sweep: layers by longest path from the
// sources, then each layer ordered by the mean position of its parents to keep edges short and crossings few.

/**
 * `nodes`: names; `edges`: [from, to] pairs. Returns {name: {x, y}} (top-left corners) for boxes of
 * `width` × `height` separated by `gapX`/`gapY`.
 */
export function layeredLayout(nodes, edges, { width = 180, height = 56, gapX = 40, gapY = 60, margin = 40 } = {}) {
  const parents = new Map(nodes.map((name) => [name, []]));
  const children = new Map(nodes.map((name) => [name, []]));
  for (const [from, to] of edges) {
    if (!parents.has(from) || !parents.has(to)) continue;
    parents.get(to).push(from);
    children.get(from).push(to);
  }
  // Longest path from a source (Kahn's order); a node on a cycle (never saved, but drawn) goes to layer 0.
  const layer = new Map();
  const waiting = new Map(nodes.map((name) => [name, parents.get(name).length]));
  const queue = nodes.filter((name) => waiting.get(name) === 0);
  for (const name of queue) layer.set(name, 0);
  for (let index = 0; index < queue.length; index++) {
    const name = queue[index];
    for (const child of children.get(name)) {
      layer.set(child, Math.max(layer.get(child) ?? 0, layer.get(name) + 1));
      waiting.set(child, waiting.get(child) - 1);
      if (waiting.get(child) === 0) queue.push(child);
    }
  }
  for (const name of nodes) if (!layer.has(name)) layer.set(name, 0);

  const layers = [];
  for (const name of nodes) (layers[layer.get(name)] ??= []).push(name);
  const rank = new Map();
  layers.forEach((names) => names.forEach((name, index) => rank.set(name, index)));
  // Two sweeps of barycentre ordering.
  for (let sweep = 0; sweep < 2; sweep++) {
    for (let depth = 1; depth < layers.length; depth++) {
      const keyed = layers[depth].map((name) => {
        const ups = parents.get(name);
        const centre = ups.length ? ups.reduce((sum, parent) => sum + rank.get(parent), 0) / ups.length : rank.get(name);
        return { name, centre };
      });
      keyed.sort((a, b) => a.centre - b.centre);
      layers[depth] = keyed.map((entry) => entry.name);
      layers[depth].forEach((name, index) => rank.set(name, index));
    }
  }
  const widest = Math.max(1, ...layers.map((names) => names.length));
  const positions = {};
  layers.forEach((names, depth) => {
    const offset = ((widest - names.length) * (width + gapX)) / 2;
    names.forEach((name, index) => {
      positions[name] = { x: margin + offset + index * (width + gapX), y: margin + depth * (height + gapY) };
    });
  });
  return positions;
}
