// The editor's overview of a big pipeline: every task as a dot in a small map, the part the canvas shows as a frame,
// finding a task by name, and the view that fits it. Pure geometry and matching here; the editor draws them.

/** The smallest scale Fit, Arrange and opening use: task names stay readable (zoom further by hand). */
export const readableScale = 0.5;

/** The box holding every node ({x, y} top-left corners of `width` × `height` boxes), or null when there is none. */
export function bounds(nodes, width, height) {
  if (!nodes.length) return null;
  let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const node of nodes) {
    minX = Math.min(minX, node.x);
    minY = Math.min(minY, node.y);
    maxX = Math.max(maxX, node.x + width);
    maxY = Math.max(maxY, node.y + height);
  }
  return { x: minX, y: minY, width: maxX - minX, height: maxY - minY };
}

/**
 * How the map (`mapWidth` × `mapHeight`) shows `area` (the graph's bounds joined with what the canvas shows):
 * {scale, x, y}, map = (canvas point − area corner) × scale + offset, centred.
 */
export function mapTransform(area, mapWidth, mapHeight, margin = 4) {
  const scale = Math.min((mapWidth - 2 * margin) / Math.max(1, area.width), (mapHeight - 2 * margin) / Math.max(1, area.height));
  return { scale, x: (mapWidth - area.width * scale) / 2 - area.x * scale, y: (mapHeight - area.height * scale) / 2 - area.y * scale };
}

/** What the canvas (`canvasWidth` × `canvasHeight` on screen) shows of the graph under `view` ({x, y, k}). */
export function shownArea(view, canvasWidth, canvasHeight) {
  return { x: -view.x / view.k, y: -view.y / view.k, width: canvasWidth / view.k, height: canvasHeight / view.k };
}

/**
 * The view ({x, y, k}) that shows every node ({x, y} corners of `width` × `height` boxes) on a canvas of
 * `canvasWidth` × `canvasHeight`, centred, at most 1.5× — or, when that would take less than the readable scale, the
 * start of the pipeline at the readable scale: its top row centred at the top of the canvas. Null when there is
 * nothing to show.
 */
export function fitView(nodes, width, height, canvasWidth, canvasHeight, margin = 40) {
  const area = bounds(nodes, width, height);
  if (!area || !canvasWidth) return null;
  const whole = Math.min(canvasWidth / (area.width + 2 * margin), canvasHeight / (area.height + 2 * margin));
  if (whole >= readableScale) {
    const k = Math.min(1.5, whole);
    return { k, x: (canvasWidth - area.width * k) / 2 - area.x * k, y: (canvasHeight - area.height * k) / 2 - area.y * k };
  }
  const k = readableScale;
  const top = nodes.filter((node) => node.y === area.y);
  const centre = top.reduce((sum, node) => sum + node.x + width / 2, 0) / top.length;
  return { k, x: canvasWidth / 2 - centre * k, y: margin * k - area.y * k };
}

/** The smallest box holding both. */
export function union(a, b) {
  const [x, y] = [Math.min(a.x, b.x), Math.min(a.y, b.y)];
  return { x, y, width: Math.max(a.x + a.width, b.x + b.width) - x, height: Math.max(a.y + a.height, b.y + b.height) - y };
}

/** The view ({x, y} at scale `k`) that centres the canvas on graph point `point`. */
export function centredOn(point, k, canvasWidth, canvasHeight) {
  return { x: canvasWidth / 2 - point.x * k, y: canvasHeight / 2 - point.y * k, k };
}

/** Task names matching `text`: the exact name first, then those starting with it, then those containing it (each A-Z). */
export function findTasks(names, text, limit = 20) {
  const wanted = text.trim().toLowerCase();
  if (!wanted) return [];
  const rank = (name) => {
    const lower = name.toLowerCase();
    return lower === wanted ? 0 : lower.startsWith(wanted) ? 1 : lower.includes(wanted) ? 2 : 3;
  };
  return names
    .map((name) => [rank(name), name])
    .filter(([order]) => order < 3)
    .sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1]))
    .slice(0, limit)
    .map(([, name]) => name);
}
