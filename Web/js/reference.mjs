// The API reference, without the DOM: the OpenAPI document's operations grouped by tag, each with what a reader
// needs (method, path, who may call it, its parameters and body), filtered by words typed.
import { t, has } from "./i18n.mjs";

const methods = ["get", "post", "put", "patch", "delete"];

/** `#/components/parameters/limit` → the parameter it names. */
function resolve(document, value) {
  if (!value?.$ref) return value;
  return value.$ref
    .slice(2)
    .split("/")
    .reduce((node, key) => node?.[key], document);
}

/** The document's operations by tag, in the document's tag order: [{tag, operations: [{method, path, access, …}]}]. */
export function operationsByTag(document, filter = "") {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  const groups = new Map((document.tags ?? []).map((tag) => [tag.name, []]));
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const method of methods) {
      const operation = item[method];
      if (!operation) continue;
      const parameters = (operation.parameters ?? []).map((parameter) => resolve(document, parameter)).filter(Boolean);
      const body = operation.requestBody?.content?.["application/json"]?.schema;
      const entry = {
        method: method.toUpperCase(),
        path,
        id: operation.operationId,
        access: operation["x-trellis-access"] ?? "",
        parameters: parameters.map((parameter) => ({ name: parameter.name, in: parameter.in, required: Boolean(parameter.required), description: parameter.description ?? "" })),
        body: body?.$ref ? body.$ref.split("/").pop() : body ? "object" : "",
      };
      const text = `${entry.method} ${path} ${entry.access} ${entry.id}`.toLowerCase();
      if (!words.every((word) => text.includes(word))) continue;
      const tag = operation.tags?.[0] ?? "other";
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag).push(entry);
    }
  }
  return [...groups].filter(([, operations]) => operations.length).map(([tag, operations]) => ({ tag, operations }));
}

/** Who may call an operation, in words. */
export function accessText(access) {
  const key = `reference.access.${access}`;
  if (has(key)) return t(key);
  const action = `reference.action.${access}`;
  return t("reference.access.members", { action: has(action) ? t(action) : access.replace(/([A-Z])/g, " $1").toLowerCase() });
}
