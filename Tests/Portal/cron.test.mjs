import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCron, nextFireTimes } from "../../Web/js/cron.mjs";

const iso = (dates) => dates.map((date) => date.toISOString());

test("the next five fire times of a daily cron in UTC", () => {
  const times = nextFireTimes("0 2 * * *", { from: new Date("2026-11-29T10:00:00Z") });
  assert.deepEqual(iso(times), [
    "2026-11-30T02:00:00.000Z", "2026-12-01T02:00:00.000Z", "2026-12-02T02:00:00.000Z", "2026-12-03T02:00:00.000Z",
    "2026-12-04T02:00:00.000Z",
  ]);
});

test("a time zone with a half-hour offset", () => {
  const times = nextFireTimes("30 9 * * mon-fri", { timeZone: "Asia/Kolkata", from: new Date("2026-11-27T00:00:00Z"), count: 2 });
  // 09:30 IST is 04:00 UTC; Friday the 27th, then Monday the 30th.
  assert.deepEqual(iso(times), ["2026-11-27T04:00:00.000Z", "2026-11-30T04:00:00.000Z"]);
});

test("day of month or day of week, as Vixie cron does", () => {
  const times = nextFireTimes("0 0 1 * sun", { from: new Date("2026-11-27T00:00:00Z"), count: 3 });
  assert.deepEqual(iso(times), ["2026-11-29T00:00:00.000Z", "2026-12-01T00:00:00.000Z", "2026-12-06T00:00:00.000Z"]);
});

test("macros, steps and the spring-forward gap", () => {
  assert.deepEqual(iso(nextFireTimes("@hourly", { from: new Date("2026-01-01T00:30:00Z"), count: 1 })), ["2026-01-01T01:00:00.000Z"]);
  assert.deepEqual([...parseCron("*/15 * * * *").minutes], [0, 15, 30, 45]);
  // 02:30 does not exist in New York on 2026-03-08.
  const times = nextFireTimes("30 2 * * *", { timeZone: "America/New_York", from: new Date("2026-03-07T12:00:00Z"), count: 2 });
  assert.deepEqual(iso(times), ["2026-03-09T06:30:00.000Z", "2026-03-10T06:30:00.000Z"]);
});

test("a bad expression names the field", () => {
  assert.throws(() => parseCron("61 * * * *"), /minute: "61" is not a value from 0 to 59/);
  assert.throws(() => parseCron("* * * *"), /needs 5 fields/);
  assert.throws(() => parseCron("* * * * mon-xyz"), /day of week/);
  assert.throws(() => parseCron("*/0 * * * *"), /minute: step "0"/);
});
