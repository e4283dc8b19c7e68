// The API reference: every operation of the OpenAPI document the platform serves (/api/v1/openapi.yaml), by tag,
// searchable, with who may call it and its parameters.
import { h } from "../ui.mjs";
import { operationsByTag, accessText } from "../reference.mjs";
import { t } from "../i18n.mjs";

export async function referencePage({ api }) {
  const document = await api.get("/api/v1/openapi.json");
  const search = h("input", { name: "reference-search", type: "search", placeholder: t("reference.searchPlaceholder"), "aria-label": t("reference.search") });
  const list = h("div", { class: "reference" });
  const render = () =>
    list.replaceChildren(
      ...operationsByTag(document, search.value).map(({ tag, operations }) =>
        h(
          "section",
          { dataset: { tag } },
          h("h2", { translate: "no" }, tag),
          ...operations.map((operation) =>
            h(
              "details",
              { class: "operation", dataset: { operation: `${operation.method} ${operation.path}` } },
              h("summary", null, h("code", { class: `method method-${operation.method.toLowerCase()}` }, operation.method), " ", h("code", null, operation.path), h("span", { class: "muted" }, ` — ${accessText(operation.access)}`)),
              operation.parameters.length
                ? h("ul", null, ...operation.parameters.map((parameter) => h("li", null, h("code", null, parameter.name), ` (${parameter.in}${parameter.required ? `, ${t("common.required")}` : ""}) `, h("span", { translate: "no" }, parameter.description))))
                : null,
              operation.body ? h("p", null, t("reference.body"), " ", h("code", null, operation.body)) : null,
            ),
          ),
        ),
      ),
    );
  search.addEventListener("input", render);
  render();
  const element = h(
    "section",
    null,
    h("div", { class: "page-head" }, h("h1", { translate: "no" }, `${document.info?.title ?? "API"} (v${document.info?.version ?? ""})`), h("a", { href: "/api/v1/openapi.yaml", download: "openapi.yaml" }, "openapi.yaml")),
    h("p", { class: "muted", translate: "no" }, document.info?.description ?? ""),
    search,
    list,
  );
  return { element, focus: search };
}
