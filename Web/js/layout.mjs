// Automatic layered layout of a DAG, top to bottom (Sugiyama's three steps): layers by longest path from the sources;
// the order within each layer by barycentre sweeps down and up, an edge spanning several layers passing through a
// placeholder in each, keeping the order with the fewest crossings; then each task placed as near the mean of its
// neighbours as the order and the spacing allow (least squares, solved exactly per layer), so that a chain is
// straight and a fan-out centred under its source. Linear in the tasks and edges per sweep, but for the crossings
// count (n log n).

const sweeps = 8;

/**
 * `nodes`: names; `edges`: [from, to] pairs. Returns {name: {x, y}} (top-left corners) for boxes of
 * `width` × `height` separated by `gapX`/`gapY`.
 */
export function layeredLayout(nodes, edges, { width = 180, height = 56, gapX = 40, gapY = 60, margin = 40 } = {}) {
  const known = new Set(nodes);
  const links = edges.filter(([from, to]) => known.has(from) && known.has(to) && from !== to);
  const layer = layersOf(nodes, links);
  const { layers, up, down } = withPlaceholders(nodes, links, layer);
  const order = orderLayers(layers, up, down);
  const xs = place(order, up, down, width + gapX, known);
  const left = Math.min(...nodes.map((name) => xs.get(name)));
  const positions = {};
  for (const name of nodes) positions[name] = { x: margin + xs.get(name) - left, y: margin + layer.get(name) * (height + gapY) };
  return positions;
}

/** Longest path from a source (Kahn's order); a task on a cycle (never saved, but drawn) goes to layer 0. */
function layersOf(nodes, links) {
  const children = new Map(nodes.map((name) => [name, []]));
  const waiting = new Map(nodes.map((name) => [name, 0]));
  for (const [from, to] of links) {
    children.get(from).push(to);
    waiting.set(to, waiting.get(to) + 1);
  }
  const layer = new Map();
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
  return layer;
}

/**
 * The layers with a placeholder wherever an edge crosses one, and each entry's neighbours in the layer above (`up`)
 * and below (`down`). An edge against the layers (on a cycle) is left out of the ordering.
 */
function withPlaceholders(nodes, links, layer) {
  const layers = [];
  const up = new Map();
  const down = new Map();
  const add = (name, depth) => {
    (layers[depth] ??= []).push(name);
    up.set(name, []);
    down.set(name, []);
  };
  for (const name of nodes) add(name, layer.get(name));
  let placeholders = 0;
  for (const [from, to] of links) {
    const [top, bottom] = [layer.get(from), layer.get(to)];
    if (bottom <= top) continue;
    let previous = from;
    for (let depth = top + 1; depth < bottom; depth++) {
      // Not a name a task can have (task names are lowercase letters, digits and '-').
      const name = ` ${++placeholders}`;
      add(name, depth);
      down.get(previous).push(name);
      up.get(name).push(previous);
      previous = name;
    }
    down.get(previous).push(to);
    up.get(to).push(previous);
  }
  for (let depth = 0; depth < layers.length; depth++) layers[depth] ??= [];
  return { layers, up, down };
}

/** Barycentre sweeps, alternately down (by the layer above) and up (by the layer below); the order with fewest crossings. */
function orderLayers(layers, up, down) {
  const order = layers.map((names) => [...names]);
  let best = order.map((names) => [...names]);
  let fewest = crossings(order, down);
  for (let sweep = 0; sweep < sweeps && fewest > 0; sweep++) {
    const downward = sweep % 2 === 0;
    const depths = downward ? [...order.keys()].slice(1) : [...order.keys()].reverse().slice(1);
    for (const depth of depths) {
      const rank = new Map(order[downward ? depth - 1 : depth + 1].map((name, index) => [name, index]));
      const neighbours = downward ? up : down;
      const keyed = order[depth].map((name, index) => {
        const around = neighbours.get(name);
        // An entry with no neighbour on that side keeps its place.
        const centre = around.length ? around.reduce((sum, other) => sum + rank.get(other), 0) / around.length : index;
        return { name, centre, index };
      });
      keyed.sort((a, b) => a.centre - b.centre || a.index - b.index);
      order[depth] = keyed.map((entry) => entry.name);
    }
    const count = crossings(order, down);
    if (count < fewest) {
      fewest = count;
      best = order.map((names) => [...names]);
    }
  }
  return best;
}

/** Edge crossings between each pair of adjacent layers: inversions of the lower ends, edges sorted by upper end. */
function crossings(order, down) {
  let total = 0;
  for (let depth = 0; depth + 1 < order.length; depth++) {
    const below = new Map(order[depth + 1].map((name, index) => [name, index]));
    const ends = [];
    for (const name of order[depth]) ends.push(...down.get(name).map((child) => below.get(child)).sort((a, b) => a - b));
    total += inversions(ends, order[depth + 1].length);
  }
  return total;
}

/** Pairs i < j with values[i] > values[j], for values in [0, size) (a Fenwick tree). */
function inversions(values, size) {
  const tree = new Array(size + 1).fill(0);
  let count = 0;
  for (let index = values.length - 1; index >= 0; index--) {
    for (let at = values[index]; at > 0; at -= at & -at) count += tree[at];
    for (let at = values[index] + 1; at <= size; at += at & -at) tree[at]++;
  }
  return count;
}

/**
 * The x of every entry (placeholders too): first side by side, then, sweeping down, up and down again, each layer
 * as near the mean x of its neighbours on the fixed side as the order and `spacing` allow.
 */
function place(order, up, down, spacing, known) {
  const x = new Map();
  for (const names of order) names.forEach((name, index) => x.set(name, index * spacing));
  for (const downward of [true, false, true]) {
    const depths = downward ? [...order.keys()] : [...order.keys()].reverse();
    const neighbours = downward ? up : down;
    for (const depth of depths) {
      const names = order[depth];
      const wanted = names.map((name) => {
        const around = neighbours.get(name);
        return around.length ? around.reduce((sum, other) => sum + x.get(other), 0) / around.length : x.get(name);
      });
      // A task takes `spacing`, a placeholder no room: placeholders between two tasks do not push them apart.
      const room = (name) => (known.has(name) ? spacing / 2 : 0);
      const gaps = names.map((name, index) => (index === 0 ? 0 : room(names[index - 1]) + room(name)));
      nearestInOrder(wanted, gaps).forEach((value, index) => x.set(names[index], value));
    }
  }
  return x;
}

/**
 * The xs closest to `wanted` (least squares) with x[i] − x[i−1] ≥ gaps[i]: with offsets o[i] = Σ gaps up to i, the
 * y = x − o are the isotonic regression of wanted − o, found by pooling adjacent violators.
 */
export function nearestInOrder(wanted, gaps) {
  const offsets = [];
  let sum = 0;
  for (const gap of gaps) offsets.push((sum += gap));
  const blocks = [];
  wanted.forEach((value, index) => {
    let block = { total: value - offsets[index], size: 1 };
    while (blocks.length && blocks[blocks.length - 1].total / blocks[blocks.length - 1].size >= block.total / block.size) {
      const last = blocks.pop();
      block = { total: last.total + block.total, size: last.size + block.size };
    }
    blocks.push(block);
  });
  const xs = [];
  for (const block of blocks) for (let count = 0; count < block.size; count++) xs.push(block.total / block.size + offsets[xs.length]);
  return xs;
}
