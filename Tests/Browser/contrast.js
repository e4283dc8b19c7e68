// WCAG 2.1 AA contrast of the page's visible text (1.4.3): every element with its own text, its colour against the
// first opaque background behind it (its ancestors'; white when none), at least 4.5:1, or 3:1 for large text (24 px, or
// 18.66 px bold). Disabled controls and text inside them are exempt, as WCAG says. Returns the failures.
const parse = (text) => {
  const match = text.match(/rgba?\(([^)]+)\)/);
  if (!match) return null;
  const [r, g, b, a = 1] = match[1].split(",").map((part) => parseFloat(part));
  return { r, g, b, a };
};
const luminance = ({ r, g, b }) => {
  const channel = (value) => {
    const c = value / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
};
const blend = (top, bottom) => ({
  r: top.r * top.a + bottom.r * (1 - top.a),
  g: top.g * top.a + bottom.g * (1 - top.a),
  b: top.b * top.a + bottom.b * (1 - top.a),
  a: 1,
});
function background(element) {
  const layers = [];
  for (let node = element; node && node.nodeType === 1; node = node.parentElement) {
    const colour = parse(getComputedStyle(node).backgroundColor);
    if (colour && colour.a > 0) {
      layers.push(colour);
      if (colour.a >= 1) break;
    }
  }
  return layers.reduceRight((under, layer) => blend(layer, under), { r: 255, g: 255, b: 255, a: 1 });
}
const failures = [];
for (const element of document.querySelectorAll("body *")) {
  if (element.closest("svg, script, style, noscript, option, [hidden]")) continue;
  const own = [...element.childNodes].some((child) => child.nodeType === 3 && child.textContent.trim());
  if (!own) continue;
  const style = getComputedStyle(element);
  const box = element.getBoundingClientRect();
  if (style.visibility === "hidden" || style.display === "none" || box.width === 0 || box.height === 0 || parseFloat(style.opacity) === 0) continue;
  if (element.closest(":disabled, [aria-disabled=true]")) continue;
  const colour = parse(style.color);
  const behind = background(element);
  const front = colour.a < 1 ? blend(colour, behind) : colour;
  const [light, dark] = [luminance(front), luminance(behind)].sort((a, b) => b - a);
  const ratio = (light + 0.05) / (dark + 0.05);
  const size = parseFloat(style.fontSize);
  const large = size >= 24 || (size >= 18.66 && parseInt(style.fontWeight, 10) >= 700);
  if (ratio < (large ? 3 : 4.5)) {
    failures.push(`${element.tagName.toLowerCase()}${element.className && typeof element.className === "string" ? "." + element.className.split(" ").join(".") : ""} "${element.textContent.trim().slice(0, 40)}": ${ratio.toFixed(2)}:1 (${style.color} on rgb(${Math.round(behind.r)}, ${Math.round(behind.g)}, ${Math.round(behind.b)}))`);
  }
}
return [...new Set(failures)];
