// Cron expressions (Vixie: minute hour day-of-month month day-of-week, names, ranges, steps, lists and the @
// macros) and the next fire times in an IANA time zone, for the schedule preview while a pipeline is edited.
// The server computes the real schedule; this preview shows the same instants for ordinary expressions.
import { t } from "./i18n.mjs";

const macros = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};
const fields = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "dayOfMonth", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] },
  { name: "dayOfWeek", min: 0, max: 7, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] },
];

/** Parses an expression into sets of allowed values; throws an Error naming the field at fault. */
export function parseCron(expression) {
  const text = macros[expression.trim().toLowerCase()] ?? expression.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5) throw new Error(t("cron.fieldCount", { count: parts.length }));
  const sets = parts.map((part, index) => parseField(part, fields[index]));
  // 7 is Sunday too.
  if (sets[4].has(7)) sets[4].add(0);
  return {
    minutes: sets[0],
    hours: sets[1],
    days: sets[2],
    months: sets[3],
    weekdays: sets[4],
    daysRestricted: parts[2] !== "*" && parts[2] !== "?",
    weekdaysRestricted: parts[4] !== "*" && parts[4] !== "?",
  };
}

function parseField(text, field) {
  const values = new Set();
  for (const item of text.split(",")) {
    const [rangeText, stepText] = item.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(t("cron.step", { field: t(`cron.field.${field.name}`), step: stepText }));
    let low = field.min;
    let high = field.max;
    if (rangeText !== "*" && rangeText !== "?") {
      const [first, last] = rangeText.split("-");
      low = value(first, field);
      high = last === undefined ? (stepText === undefined ? low : field.max) : value(last, field);
      if (low > high) throw new Error(t("cron.backwards", { field: t(`cron.field.${field.name}`), range: rangeText }));
    }
    for (let current = low; current <= high; current += step) values.add(current);
  }
  return values;
}

function value(text, field) {
  const named = field.names?.indexOf(text?.toLowerCase());
  const number = named !== undefined && named >= 0 ? named + (field.name === "month" ? 1 : 0) : Number(text);
  if (!Number.isInteger(number) || number < field.min || number > field.max) {
    throw new Error(t("cron.value", { field: t(`cron.field.${field.name}`), text, min: field.min, max: field.max }));
  }
  return number;
}

const formatters = new Map();

/** The wall-clock parts of an instant in a time zone. */
export function wallClock(date, timeZone) {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      weekday: "short",
    });
    formatters.set(timeZone, formatter);
  }
  const parts = Object.fromEntries(formatter.formatToParts(date).map((part) => [part.type, part.value]));
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    weekday: ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(parts.weekday),
  };
}

function dayMatches(cron, wall) {
  const byDay = cron.days.has(wall.day);
  const byWeekday = cron.weekdays.has(wall.weekday);
  if (cron.daysRestricted && cron.weekdaysRestricted) return byDay || byWeekday;
  if (cron.daysRestricted) return byDay;
  if (cron.weekdaysRestricted) return byWeekday;
  return true;
}

/** The next `count` instants after `from` at which `expression` fires in `timeZone` (within about five years). */
export function nextFireTimes(expression, { timeZone = "UTC", from = new Date(), count = 5 } = {}) {
  const cron = parseCron(expression);
  const minute = 60_000;
  let instant = Math.floor(from.getTime() / minute) * minute + minute;
  const limit = instant + 5 * 366 * 24 * 60 * minute;
  const found = [];
  while (found.length < count && instant < limit) {
    const wall = wallClock(new Date(instant), timeZone);
    if (!cron.months.has(wall.month) || !dayMatches(cron, wall) || !cron.hours.has(wall.hour)) {
      // The rest of this hour cannot match.
      instant += (60 - wall.minute) * minute;
      continue;
    }
    if (cron.minutes.has(wall.minute)) found.push(new Date(instant));
    instant += minute;
  }
  return found;
}
