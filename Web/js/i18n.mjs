// The portal's words in the reader's language: one catalogue per language (Web/js/i18n/<code>.mjs, the same keys in
// each), chosen from what the reader picked before or the browser's languages, switchable in the header. Dates and
// numbers are formatted for the language. What the server says (error messages, names, logs) is shown as it comes.
import en from "./i18n/en.mjs";
import zhCN from "./i18n/zh-CN.mjs";

export const catalogues = { en, "zh-CN": zhCN };

/** The languages offered, each named in itself. */
export const languages = [
  ["en", "English"],
  ["zh-CN", "简体中文"],
];

let current = "en";
// Intl's formatters cost tens of microseconds to make and nothing to reuse: kept by language and options.
const formatters = new Map();
function formatter(kind, options) {
  const key = `${kind}|${current}|${JSON.stringify(options ?? {})}`;
  if (!formatters.has(key)) formatters.set(key, new Intl[kind](current, options));
  return formatters.get(key);
}

/** The language to use: the one picked before when it is offered, else the browser's first offered one, else English. */
export function chooseLanguage(stored, preferred = []) {
  if (stored && catalogues[stored]) return stored;
  for (const wanted of preferred) {
    const lower = wanted.toLowerCase();
    if (lower === "en" || lower.startsWith("en-")) return "en";
    // zh, zh-CN, zh-Hans, zh-SG read Simplified Chinese; zh-TW and zh-HK read Traditional, which is not offered.
    if (lower === "zh" || lower === "zh-cn" || lower.startsWith("zh-hans") || lower === "zh-sg") return "zh-CN";
  }
  return "en";
}

export function setLanguage(code) {
  current = catalogues[code] ? code : "en";
}

export function language() {
  return current;
}

/**
 * The text of `key` in the current language with `{name}` placeholders filled from `values`. A catalogue entry may
 * be {one, other} by the count (`values.count`, as Intl.PluralRules names the form). A key missing everywhere is
 * shown as itself (the catalogue test keeps that from shipping).
 */
export function t(key, values = {}) {
  let text = catalogues[current][key] ?? en[key] ?? key;
  if (typeof text === "object") text = text[formatter("PluralRules").select(values.count ?? 0)] ?? text.other;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

/** Whether the catalogues have `key` (each has English's keys: the catalogue test holds them to it). */
export function has(key) {
  return Object.hasOwn(en, key);
}

/** A word of the API (`kind.word`) as the reader's language names it; the API's word when the catalogue has none. */
function wordOf(kind, word) {
  const key = `${kind}.${word}`;
  return has(key) ? t(key) : word;
}

/** A run's, attempt's, record's or version's state as the reader's language names it. */
export const stateName = (state) => wordOf("state", state);

/** How a run was started (manual, single, schedule, backfill) as the reader's language names it. */
export const triggerName = (trigger) => wordOf("trigger", trigger);

const dateAndTime = { year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" };
const dateTimeParts = ["weekday", "year", "month", "day", "dayPeriod", "hour", "minute", "second", "dateStyle", "timeStyle"];

/** A template category as the reader's language names it: the built-in ones and "other"; a project's own as written. */
export const categoryName = (category) => wordOf("category", category || "other");

/** An instant as a date and time of the current language ("" for none). */
export function formatDate(iso, options) {
  if (!iso) return "";
  // As toLocaleString: the date and the time unless the options name a part or a style.
  const whole = dateTimeParts.some((part) => options?.[part] !== undefined) ? {} : dateAndTime;
  return formatter("DateTimeFormat", { ...whole, ...options }).format(new Date(iso));
}

/** A number for the current language, e.g. formatNumber(1234.5, {maximumFractionDigits: 1}). */
export function formatNumber(value, options) {
  return formatter("NumberFormat", options).format(value);
}

/** A number with exactly `digits` decimals (what toFixed gives, in the current language's digits and separators). */
export function fixed(value, digits) {
  return formatNumber(value, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Static text of a page: elements with `data-i18n` get their text, `data-i18n-label` their aria-label. */
export function translateStatic(root) {
  for (const element of root.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  for (const element of root.querySelectorAll("[data-i18n-label]")) element.setAttribute("aria-label", t(element.dataset.i18nLabel));
}
