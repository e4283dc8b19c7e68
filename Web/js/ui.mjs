// Building DOM without a framework: h("div", {class: "x", onclick: f}, children…), svg("g", …).
import { t, formatDate, fixed, stateName } from "./i18n.mjs";

function build(element, props, children) {
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") element.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === "value" && "value" in element) element.value = value;
    else if (key === "checked") element.checked = value;
    else if (key === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function h(tag, props, ...children) {
  return build(document.createElement(tag), props, children);
}

export function svg(tag, props, ...children) {
  return build(document.createElementNS("http://www.w3.org/2000/svg", tag), props, children);
}

/** A labelled form control: the label points at the control, for screen readers and tests. */
let controls = 0;
export function field(label, control, { help, error } = {}) {
  control.id ||= `control-${++controls}`;
  return h(
    "div",
    { class: "field" },
    h("label", { for: control.id }, label),
    control,
    help ? h("small", { class: "help" }, help) : null,
    h("div", { class: "field-error", role: "alert" }, error ?? ""),
  );
}

/** "3.2 s", "4 min 2 s" between two ISO instants (or until now). */
export function duration(start, end) {
  if (!start) return "";
  const seconds = Math.max(0, ((end ? Date.parse(end) : Date.now()) - Date.parse(start)) / 1000);
  if (seconds < 60) return t("time.seconds", { seconds: fixed(seconds, 1) });
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? t("time.minutes", { minutes, seconds: Math.round(seconds % 60) }) : t("time.hours", { hours: Math.floor(minutes / 60), minutes: minutes % 60 });
}

/** An instant for the reader's language ("" for none). */
export function when(iso) {
  return formatDate(iso);
}

export function badge(state) {
  return h("span", { class: `badge state-${state}`, dataset: { state } }, stateName(state));
}

/** A message line that pages reuse: ok, error or busy. */
export function notice(element, text, kind = "info") {
  element.textContent = text;
  element.className = `notice ${kind}`;
}

/** `KEY=value` lines to an object (lines without `=` are left out). */
export function keyValues(text) {
  return Object.fromEntries(text.split("\n").filter((line) => line.includes("=")).map((line) => [line.slice(0, line.indexOf("=")).trim(), line.slice(line.indexOf("=") + 1)]));
}

/** An object as `KEY=value` lines. */
export function keyValueText(object) {
  return Object.entries(object ?? {}).map(([key, value]) => `${key}=${value}`).join("\n");
}

/** A project env split for editing: its plain entries, and the names of its secret ones (`{secret: true}`). */
export function splitEnvironment(env) {
  const entries = Object.entries(env ?? {});
  return {
    plain: Object.fromEntries(entries.filter(([, value]) => typeof value === "string")),
    secretNames: entries.filter(([, value]) => typeof value === "object" && value?.secret).map(([key]) => key).sort(),
  };
}

/**
 * The env to save: `plainText` as `KEY=value` lines, and `secretText` lines of `NAME` (a secret kept as it is) or
 * `NAME=value` (a new value for it); a secret name left out is removed. Values of secrets are never shown back.
 */
export function environmentToSave(plainText, secretText) {
  const env = keyValues(plainText);
  for (const line of secretText.split("\n").map((text) => text.trim()).filter(Boolean)) {
    const at = line.indexOf("=");
    env[at < 0 ? line : line.slice(0, at).trim()] = at < 0 ? { secret: true } : { secret: true, value: line.slice(at + 1) };
  }
  return env;
}
