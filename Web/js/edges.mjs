// How a dependency is drawn, in the editor and the run view: from the upstream's output port (the middle of its
// bottom) to just above the downstream's input port (the middle of its top), where the arrow ends.

/** The marker the edges end with (put once in each canvas's <defs>). */
export const arrowMarker = { id: "edge-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" };

/**
 * The SVG path of from → to, boxes of `width` × `height` at their top-left corners `from` and `to`, never through
 * either box. A downstream below its upstream is one S-curve in the band between them; one level with or above it is
 * reached around them, with rounded corners: down from the upstream, up through the gap between the two (or beside
 * the rightmost when their columns overlap), and into the downstream from above.
 */
export function edgePath(from, to, { width, height, arrow = 8 }) {
  const [x1, y1, x2] = [from.x + width / 2, from.y + height, to.x + width / 2];
  if (to.y >= y1) {
    const y2 = to.y - Math.min(arrow, (to.y - y1) / 2);
    const bend = (y2 - y1) / 2;
    return `M${x1},${y1} C${x1},${y1 + bend} ${x2},${y2 - bend} ${x2},${y2}`;
  }
  const y2 = to.y - arrow;
  const gapX = Math.abs(x2 - x1) >= width + 20 ? (x1 + x2) / 2 : Math.max(x1, x2) + width / 2 + 20;
  return rounded([
    [x1, y1],
    [x1, y1 + 20],
    [gapX, y1 + 20],
    [gapX, y2 - 20],
    [x2, y2 - 20],
    [x2, y2],
  ]);
}

/** A polyline of horizontal and vertical segments with its corners rounded (radius up to 12, less on short ones). */
function rounded(points) {
  const length = (a, b) => Math.abs(b[0] - a[0]) + Math.abs(b[1] - a[1]);
  const toward = (a, b, distance) => {
    const total = length(a, b) || 1;
    return [a[0] + ((b[0] - a[0]) * distance) / total, a[1] + ((b[1] - a[1]) * distance) / total];
  };
  let path = `M${points[0][0]},${points[0][1]}`;
  for (let index = 1; index < points.length - 1; index++) {
    const [before, corner, after] = [points[index - 1], points[index], points[index + 1]];
    const radius = Math.min(12, length(before, corner) / 2, length(corner, after) / 2);
    const [inX, inY] = toward(corner, before, radius);
    const [outX, outY] = toward(corner, after, radius);
    path += ` L${inX},${inY} C${corner[0]},${corner[1]} ${corner[0]},${corner[1]} ${outX},${outY}`;
  }
  const last = points[points.length - 1];
  return `${path} L${last[0]},${last[1]}`;
}
