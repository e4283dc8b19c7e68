// A template's parameter schema → the fields of the properties panel: which widget, its limits and choices,
// whether it shows, and how what the user typed becomes a task argument. The server checks arguments when the
// pipeline is saved; these fields only guide the user to a valid value.
import { t } from "./i18n.mjs";

const widgets = {
  str: "text",
  file: "text",
  text: "code",
  json: "code",
  int: "number",
  float: "number",
  bool: "toggle",
  enum: "select",
  multiple: "multiselect",
  list: "list",
  dict: "keyvalue",
};

/** The widget for a parameter type. */
export function widgetFor(parameter) {
  if (parameter.type === "list" && parameter.itemType === "dict") return "code";
  return widgets[parameter.type] ?? "text";
}

/** `showIf` (`name`, `name == value`, `name != value`) against the current values (defaults filled in). */
export function isShown(parameter, values) {
  const rule = parameter.showIf?.trim();
  if (!rule) return true;
  const match = /^([A-Za-z0-9_-]+)\s*(==|!=)\s*(.*)$/.exec(rule);
  if (!match) {
    const value = values[rule];
    return value !== undefined && value !== null && value !== false && value !== "";
  }
  const [, name, operator, expected] = match;
  const actual = values[name] === undefined || values[name] === null ? "" : String(values[name]);
  return operator === "==" ? actual === expected.trim() : actual !== expected.trim();
}

/** The parameters of every group, each with its group's title. */
export function parametersOf(spec) {
  return (spec.parameters ?? []).flatMap((group) => group.params.map((parameter) => ({ ...parameter, group: group.group })));
}

/**
 * The fields of the panel for `spec` (a template version's spec) and the task's `args`: one per parameter, in
 * schema order, with what the widget needs.
 */
export function fieldsFor(spec, args = {}) {
  const parameters = parametersOf(spec);
  const values = {};
  for (const parameter of parameters) values[parameter.name] = args[parameter.name] ?? parameter.default;
  return parameters.map((parameter) => ({
    name: parameter.name,
    group: parameter.group,
    label: parameter.label ?? parameter.name,
    widget: widgetFor(parameter),
    type: parameter.type,
    required: parameter.required === true,
    editable: parameter.editable !== false,
    shown: isShown(parameter, values),
    help: parameter.help ?? "",
    placeholder: parameter.placeholder ?? "",
    min: parameter.range?.[0],
    max: parameter.range?.[1],
    step: parameter.type === "int" ? 1 : "any",
    pattern: parameter.regex,
    choices: (parameter.choices ?? []).map(String),
    value: display(parameter, args[parameter.name]),
    defaultValue: display(parameter, parameter.default),
    set: args[parameter.name] !== undefined,
  }));
}

/** How an argument (or default) shows in its widget. */
export function display(parameter, value) {
  if (value === undefined || value === null) return ["multiselect", "list", "keyvalue"].includes(widgetFor(parameter)) ? [] : "";
  switch (widgetFor(parameter)) {
    case "toggle":
      return value === true || value === "true";
    case "multiselect":
    case "list":
      return Array.isArray(value) ? value.map(String) : String(value).split(/[,;\n]/).map((item) => item.trim()).filter(Boolean);
    case "keyvalue":
      return typeof value === "object" ? Object.entries(value).map(([key, item]) => [key, typeof item === "string" ? item : JSON.stringify(item)]) : [];
    case "code":
      return typeof value === "string" ? value : JSON.stringify(value, null, 2);
    default:
      return String(value);
  }
}

/**
 * What the user entered, as the argument to save: `undefined` for an empty optional field (the default applies);
 * text the server cannot read is passed on as text, so its error names the field.
 */
export function argumentFrom(parameter, input) {
  switch (widgetFor(parameter)) {
    case "toggle":
      return input === true;
    case "number": {
      if (input === "" || input === undefined) return undefined;
      const number = Number(input);
      return Number.isFinite(number) ? number : input;
    }
    case "multiselect":
    case "list":
      return input.length ? input : undefined;
    case "keyvalue":
      return input.length ? Object.fromEntries(input.filter(([key]) => key !== "").map(([key, value]) => [key, parseLoosely(value)])) : undefined;
    case "code":
      if (input === "") return undefined;
      if (parameter.type === "json" || parameter.type === "list") {
        try {
          return JSON.parse(input);
        } catch {
          return input;
        }
      }
      return input;
    default:
      return input === "" ? undefined : input;
  }
}

function parseLoosely(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A first check in the browser, before the server's: required, range, pattern. Returns a message or "". */
export function hint(field, input) {
  const empty = input === "" || input === undefined || (Array.isArray(input) && input.length === 0);
  if (empty) return field.required && field.defaultValue === "" ? t("hint.required") : "";
  if (field.widget === "number") {
    const number = Number(input);
    if (!Number.isFinite(number)) return t("hint.number");
    if (field.type === "int" && !Number.isInteger(number)) return t("hint.wholeNumber");
    if (field.min !== undefined && (number < field.min || number > field.max)) return t("hint.between", { min: field.min, max: field.max });
  }
  if (field.pattern && typeof input === "string" && !new RegExp(`^(?:${field.pattern})$`).test(input)) return t("hint.pattern", { pattern: field.pattern });
  return "";
}
