#!/usr/bin/env python3
"""Prints what Python's Jinja2 renders for the template-variable test cases (Tests/TrellisCoreTests/VariableTests.swift).

    pip install jinja2 && scripts/jinja-expectations.py

The context is the tests' fixed one: a run of pipeline daily-train at 2026-11-29 02:00:00, `now()` fixed at
2026-11-29 10:00:00.123456 (the run's time zone) and 02:00:00.123456 UTC. Each line is a Swift tuple for the table.
"""
import datetime as real
import json
import sys
import types

import jinja2


class Fixed(real.datetime):
    @classmethod
    def now(cls, tz=None):
        return cls(2026, 11, 29, 10, 0, 0, 123456)

    @classmethod
    def utcnow(cls):
        return cls(2026, 11, 29, 2, 0, 0, 123456)


def ds_add(ds, days):
    return (real.datetime.strptime(ds, "%Y-%m-%d") + real.timedelta(days=days)).strftime("%Y-%m-%d")


def ds_format(ds, input_format, output_format):
    return real.datetime.strptime(ds, input_format).strftime(output_format)


CONTEXT = {
    "creator": "olga", "runner": "vera", "pipeline_id": "p-123", "pipeline_name": "daily-train", "project": "ml",
    "cluster_name": "local", "run_id": "r-1", "execution_date": "2026-11-29 02:00:00", "ds": "2026-11-29",
    "ds_nodash": "20261129", "ts": "2026-11-29T02:00:00+00:00", "ts_nodash": "20261129T020000", "prev_ds": None,
    "next_ds": None, "DATA_DIR": "/mnt/data", "EPOCHS": "12",
    "datetime": types.SimpleNamespace(datetime=Fixed, timedelta=real.timedelta, date=real.date),
    "macros": types.SimpleNamespace(ds_add=ds_add, ds_format=ds_format), "str": str, "int": int, "len": len,
}

CASES = [line.rstrip("\n") for line in sys.stdin if line.strip()] if not sys.stdin.isatty() else []

environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
for case in CASES:
    text = json.loads(case)
    rendered = environment.from_string(text).render(CONTEXT)
    print(f"({json.dumps(text)}, {json.dumps(rendered)}),")
