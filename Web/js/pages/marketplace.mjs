// The template marketplace: browse by category, search, a template's readme and parameters, and the forms to
// register a template in a project and to publish it.
import { h, notice, field, badge } from "../ui.mjs";
import { projectPath } from "../api.mjs";
import { parametersOf } from "../schema.mjs";
import { t, stateName, categoryName } from "../i18n.mjs";

export async function marketplacePage({ api, projects, query, go }) {
  const templates = await api.all("/api/v1/templates", "templates");
  const search = h("input", { type: "search", placeholder: t("editor.searchTemplates"), "aria-label": t("editor.searchTemplates"), value: query.get("q") ?? "" });
  const categories = ["", ...new Set(templates.map((item) => item.category || "other"))].sort();
  const category = h("select", { "aria-label": t("marketplace.category") }, ...categories.map((value) => h("option", { value }, value ? categoryName(value) : t("marketplace.everyCategory"))));
  const grid = h("div", { class: "cards" });
  function show() {
    const text = search.value.trim().toLowerCase();
    const shown = templates.filter(
      (item) => (!category.value || (item.category || "other") === category.value) && (!text || `${item.name} ${item.description}`.toLowerCase().includes(text)),
    );
    grid.replaceChildren(
      ...shown.map((item) =>
        h(
          "a",
          { class: "card template-card", href: `#/marketplace/${item.name}` },
          h("strong", null, item.name),
          h("small", null, `${categoryName(item.category)} · ${item.latestVersion}${item.builtin ? ` · ${t("marketplace.builtin")}` : item.project ? ` · ${item.project}` : ""}`),
          h("p", { translate: "no" }, item.description),
          h("span", null, ...item.versions.slice(0, 3).map((version) => badge(version.status))),
        ),
      ),
    );
    if (!shown.length) grid.append(h("p", { class: "empty" }, t("marketplace.noMatch")));
  }
  search.addEventListener("input", show);
  category.addEventListener("change", show);
  show();

  // Registering: a template file (JSON or YAML) into one of the user's projects.
  const target = h("select", { name: "register-project" }, ...projects.map((item) => h("option", { value: item.name }, item.name)));
  const file = h("textarea", { name: "register-file", rows: 10, class: "code", placeholder: "name: my-template\nversion: 1.0.0\nimage: python:3.12\ncommand: [python3, run.py]" });
  const message = h("p", { class: "notice", role: "status" });
  const register = h(
    "form",
    {
      class: "card",
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          const text = file.value.trim();
          const saved = text.startsWith("{")
            ? await api.post(projectPath(target.value, "templates"), JSON.parse(text))
            : await api.send("POST", projectPath(target.value, "templates"), text, "application/yaml");
          go(`#/marketplace/${saved.template}`);
        } catch (error) {
          notice(message, error.fields?.length ? error.fields.map((item) => `${item.field}: ${item.message}`).join("\n") : error.message, "error");
        }
      },
    },
    h("h2", null, t("marketplace.register")),
    field(t("header.project"), target),
    field(t("marketplace.file"), file),
    h("button", { type: "submit", class: "primary" }, t("marketplace.registerDraft")),
    message,
  );
  const element = h(
    "section",
    { class: "marketplace" },
    h("div", { class: "page-head" }, h("h1", null, t("nav.marketplace")), search, category),
    grid,
    projects.length ? register : null,
  );
  return { element };
}

/** Markdown, plainly: headings, code blocks, paragraphs and lists; everything else is text. */
function readme(markdown) {
  const blocks = [];
  const lines = (markdown ?? "").split("\n");
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    if (line.startsWith("```")) {
      const code = [];
      while (++index < lines.length && !lines[index].startsWith("```")) code.push(lines[index]);
      blocks.push(h("pre", null, code.join("\n")));
    } else if (/^#{1,6} /.test(line)) blocks.push(h(`h${Math.min(6, line.indexOf(" ") + 2)}`, null, line.replace(/^#+ /, "")));
    else if (/^[-*] /.test(line)) blocks.push(h("li", null, line.slice(2)));
    else if (line.trim()) blocks.push(h("p", null, line));
  }
  return blocks;
}

export async function templatePage({ api, params }) {
  const summary = await api.get(`/api/v1/templates/${encodeURIComponent(params.template)}`);
  const message = h("p", { class: "notice", role: "status" });
  const body = h("div");

  async function showVersion(version) {
    const found = await api.get(`/api/v1/templates/${encodeURIComponent(summary.name)}/versions/${encodeURIComponent(version)}`);
    const spec = found.spec;
    const lifecycle = async (action) => {
      try {
        await api.post(`/api/v1/templates/${encodeURIComponent(summary.name)}/versions/${encodeURIComponent(version)}/${action}`);
        notice(message, t(`marketplace.done.${action}`), "ok");
        await showVersion(version);
      } catch (error) {
        notice(message, error.message, "error");
      }
    };
    body.replaceChildren(
      h("p", null, badge(found.status), found.deprecated ? h("span", { class: "reason" }, ` ${t("marketplace.deprecated")} `, h("span", { translate: "no" }, found.deprecated)) : "", ` · ${t("marketplace.image", { image: spec.image })} · ${t("marketplace.by", { user: found.createdBy })}`),
      (found.needs ?? []).length
        ? h("p", { class: "needs", dataset: { needs: "" } }, t("marketplace.needs", { needs: found.needs.join(", ") }))
        : null,
      summary.builtin
        ? null
        : h(
            "div",
            { class: "row" },
            found.status === "published"
              ? h("button", { type: "button", onclick: () => lifecycle("unpublish") }, t("marketplace.unpublish"))
              : h("button", { type: "button", class: "primary", onclick: () => lifecycle("publish") }, t("marketplace.publish")),
            h("button", { type: "button", onclick: () => lifecycle("deprecate") }, t("marketplace.deprecate")),
          ),
      h("h2", null, t("common.parameters")),
      h(
        "table",
        null,
        h("thead", null, h("tr", null, ...["name", "type", "default", "rules", "help"].map((title) => h("th", null, t(`marketplace.column.${title}`))))),
        h(
          "tbody",
          null,
          ...parametersOf(spec).map((parameter) =>
            h(
              "tr",
              null,
              h("td", { translate: "no" }, parameter.label ? `${parameter.label} (${parameter.name})` : parameter.name),
              h("td", null, parameter.type),
              h("td", null, parameter.default === undefined ? "" : JSON.stringify(parameter.default)),
              h(
                "td",
                null,
                [parameter.required ? t("common.required") : "", parameter.range ? `${parameter.range[0]}–${parameter.range[1]}` : "", parameter.choices ? parameter.choices.join(", ") : "", parameter.regex ? t("marketplace.matches", { regex: parameter.regex }) : ""]
                  .filter(Boolean)
                  .join("; "),
              ),
              h("td", { translate: "no" }, parameter.help ?? ""),
            ),
          ),
        ),
      ),
      h("h2", null, t("marketplace.readme")),
      h("div", { class: "readme", translate: "no" }, readme(spec.readme)),
    );
  }

  const versions = h("select", { "aria-label": t("marketplace.version"), onchange: (event) => showVersion(event.target.value) }, ...summary.versions.map((item) => h("option", { value: item.version }, `${item.version} (${stateName(item.status)})`)));
  await showVersion(summary.latestVersion);
  const element = h(
    "section",
    { class: "template" },
    h("div", { class: "page-head" }, h("h1", null, summary.name), versions),
    h("p", null, h("span", { translate: "no" }, summary.description), summary.project ? ` · ${t("marketplace.project", { project: summary.project })}` : ` · ${t("marketplace.builtin")}`),
    message,
    body,
  );
  return { element };
}
