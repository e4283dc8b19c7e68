import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { catalogues, chooseLanguage, setLanguage, t, formatDate, fixed, stateName } from "../../Web/js/i18n.mjs";

const web = new URL("../../Web/", import.meta.url).pathname;
const sources = [join(web, "index.html"), ...readdirSync(join(web, "js"), { recursive: true }).filter((name) => name.endsWith(".mjs") && !name.startsWith("i18n/")).map((name) => join(web, "js", name))];
const text = sources.map((path) => readFileSync(path, "utf8")).join("\n");
// Keys written whole: t("a.b"), data-i18n="a.b", data-i18n-label="a.b"; and the prefixes of keys built at run time
// (t(`state.${state}`), wordOf("state", …)): a catalogue key under such a prefix counts as used.
const used = new Set([...text.matchAll(/\bt\("([\w.]+)"|data-i18n(?:-label)?="([\w.]+)"/g)].map((match) => match[1] ?? match[2]));
const prefixes = new Set([...text.matchAll(/`([a-z]+(?:\.[a-zA-Z]+)*)\.\$\{|wordOf\("(\w+)"/g)].map((match) => `${match[1] ?? match[2]}.`));
const placeholders = (value) => new Set((typeof value === "string" ? [value] : Object.values(value)).flatMap((form) => [...form.matchAll(/\{(\w+)\}/g)].map((match) => match[1])));

test("every language has every key, with the same placeholders", () => {
  const english = Object.keys(catalogues.en).sort();
  for (const [code, catalogue] of Object.entries(catalogues)) {
    assert.deepEqual(Object.keys(catalogue).sort(), english, `${code}: keys differ from English`);
    for (const key of english) assert.deepEqual(placeholders(catalogue[key]), placeholders(catalogues.en[key]), `${code} ${key}: placeholders`);
  }
});

test("every key the portal names is in the catalogues, and every catalogue key is named", () => {
  for (const key of used) assert.ok(key in catalogues.en, `${key} is used but in no catalogue`);
  assert.ok(prefixes.size > 5, "the scan finds the keys built at run time");
  for (const key of Object.keys(catalogues.en)) {
    assert.ok(used.has(key) || [...prefixes].some((prefix) => key.startsWith(prefix)), `${key} is in the catalogues but used nowhere`);
  }
});

test("Chinese is written in Chinese, not copied from English", () => {
  // Names of products and units read the same in both.
  const same = new Set(["nav.api", "alerts.format.slack", "common.cpu", "run.column.cpu", "run.gpu", "project.webhooks", "project.webhook.url", "project.delivery.webhook"]);
  for (const [key, value] of Object.entries(catalogues["zh-CN"])) {
    if (same.has(key)) continue;
    const forms = typeof value === "string" ? [value] : Object.values(value);
    for (const form of forms) assert.match(form, /[\u4e00-\u9fff]/, `zh-CN ${key} has no Chinese: ${form}`);
  }
});

test("the language comes from the reader's choice, else the browser's, else English", () => {
  assert.equal(chooseLanguage("zh-CN", ["en-US"]), "zh-CN");
  assert.equal(chooseLanguage(null, ["zh-CN", "en"]), "zh-CN");
  assert.equal(chooseLanguage(null, ["zh-Hans-CN"]), "zh-CN");
  assert.equal(chooseLanguage(null, ["fr-FR", "zh", "en"]), "zh-CN");
  assert.equal(chooseLanguage(null, ["zh-TW", "de"]), "en");
  assert.equal(chooseLanguage("xx", ["en-GB", "zh-CN"]), "en");
});

test("words, plurals, dates and numbers follow the language", () => {
  try {
    setLanguage("zh-CN");
    assert.equal(t("editor.tasksSelected", { count: 3 }), "已选 3 个任务");
    assert.equal(t("run.attempts", { count: 1 }), "1 次尝试");
    assert.equal(stateName("upstream_failed"), "上游失败");
    assert.equal(stateName("some_new_state"), "some_new_state");
    assert.equal(fixed(1234.5, 1), "1,234.5");
    assert.match(formatDate("2026-12-05T08:30:00Z", { timeZone: "UTC" }), /^2026\/12\/5 08:30:00$/);
    setLanguage("en");
    assert.equal(t("run.attempts", { count: 1 }), "1 attempt");
    assert.equal(t("run.attempts", { count: 2 }), "2 attempts");
    assert.equal(t("editor.found", { name: "load" }), "Found load.");
    assert.match(formatDate("2026-12-05T08:30:00Z", { timeZone: "UTC" }), /^12\/5\/2026, 8:30:00\sAM$/);
    assert.equal(t("no.such.key"), "no.such.key");
  } finally {
    setLanguage("en");
  }
});
