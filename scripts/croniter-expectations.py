#!/usr/bin/env python3
"""Writes Tests/TrellisCoreTests/Fixtures/croniter.json: croniter's next fire times for generated cron expressions,
start instants and time zones (DST transitions included), which the Swift `Cron` must reproduce.

croniter 6 gets some forms wrong, so they are not generated (CronTests has the right answers for them): a range whose
ends are equal (`7-7`, `JUL-JUL`, `22-22/4` expand to `*` or `*/4`), and `a/n` in the day-of-week field (Vixie cron
reads it as `a-7/n`, 7 being Sunday; croniter stops at 6). Nor is Australia/Lord_Howe, whose clocks move by 30
minutes: croniter skips the repeated half hour there, while it repeats a repeated hour elsewhere (Trellis repeats both).

    pip install croniter && scripts/croniter-expectations.py
"""
import datetime
import json
import os
import random
import zoneinfo

from croniter import croniter

random.seed(20261129)
ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Shanghai", "Asia/Kolkata", "America/Sao_Paulo", "Pacific/Auckland"]
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]


def field(low, high, names=None, weekday=False):
    kinds = ["*", "*", "step", "one", "range", "rangestep", "list"] + ([] if weekday else ["startstep"]) + (["name"] if names else [])
    kind = random.choice(kinds)
    top = 6 if weekday and kind in ("range", "rangestep") else high
    a = random.randint(low, top - 1)
    b = random.randint(a + 1, top)
    if kind == "*":
        return "*"
    if kind == "step":
        return f"*/{random.randint(2, max(2, (high - low) // 2))}"
    if kind == "one":
        return str(a)
    if kind == "range":
        return f"{a}-{b}"
    if kind == "rangestep":
        return f"{a}-{b}/{random.randint(1, 4)}"
    if kind == "startstep":
        return f"{a}/{random.randint(2, 10)}"
    if kind == "name":
        first = random.randint(0, len(names) - 2)
        last = random.randint(first + 1, len(names) - 1)
        return names[first] if random.random() < 0.5 else f"{names[first]}-{names[last]}"
    return ",".join(str(x) for x in sorted(random.sample(range(low, high + 1), min(3, high - low + 1))))


def expression():
    if random.random() < 0.05:
        return random.choice(["@yearly", "@monthly", "@weekly", "@daily", "@hourly"])
    return " ".join([field(0, 59), field(0, 23), field(1, 31), field(1, 12, MONTHS), field(0, 7, DAYS, weekday=True)])


def starts():
    fixed = ["2026-03-08T00:30:00", "2026-11-01T00:10:00", "2026-03-29T00:30:00", "2026-10-25T01:10:00", "2026-04-05T00:30:00",
             "2026-11-29T04:38:00", "2026-12-31T23:59:00", "2028-02-28T12:00:00"]
    return random.sample(fixed, 3)


cases = []
while len(cases) < 1000:
    text = expression()
    zone = random.choice(ZONES)
    for start in starts():
        local = datetime.datetime.fromisoformat(start).replace(tzinfo=zoneinfo.ZoneInfo(zone))
        try:
            iterator = croniter(text, local)
            times = [iterator.get_next(datetime.datetime).isoformat() for _ in range(5)]
        except Exception:
            continue
        cases.append({"cron": text, "zone": zone, "from": local.isoformat(), "next": times})
path = os.path.join(os.path.dirname(__file__), "..", "Tests", "TrellisCoreTests", "Fixtures", "croniter.json")
with open(path, "w") as out:
    json.dump(cases, out, indent=0)
print(f"{len(cases)} cases written to {os.path.normpath(path)}")
