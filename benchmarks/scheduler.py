#!/usr/bin/env python3
"""Scheduler benchmark: the cost of a scheduler with N scheduled pipelines on `trellis serve`.

    benchmarks/scheduler.py [--bin-dir DIR] [--pipelines 10000] [--threads 4]

Starts a private `trellis serve` (SQLite, a fresh data directory, a free port, minimum interval 0) and applies N
pipelines, each scheduled `*/2 * * * *` from the same instant and each one skipped task (so no process is spawned:
what is measured is the scheduler and the run creation, not task processes). Then, for the first tick after every
pipeline is saved — all N due at the same instant, the worst case — it reads from the database when the scheduler's
pass began (the records' creation instant) and how long after the tick each run was created: first, p50, p99, last.
Then the idle cost: the
server's CPU time per second while nothing is due, with N schedules known. The build to measure is a release build:
`swift build -c release --product trellis && swift build -c release --product trellis-shim`.
"""
import argparse, concurrent.futures, datetime, os, sqlite3, sys, time

from serve import Server, percentile


def pipeline(name, start):
    return {
        "apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": {"name": name},
        "spec": {
            "schedule": {"cron": "*/2 * * * *", "startTime": start, "maxActiveRuns": 1},
            "tasks": [{"name": "work", "template": "noop", "skip": True}],
        },
    }


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", default=".build/release")
    parser.add_argument("--pipelines", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    with Server(args.bin_dir, {"TRELLIS_SCHEDULE_MIN_INTERVAL": "0s"}) as server:
        # Every schedule starts at the same even minute, after the saves are done.
        start = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0) + datetime.timedelta(minutes=2)
        started = time.time()
        with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(lambda i: server.call("POST", "/api/v1/projects/demo/pipelines",
                                                pipeline(f"p{i:05d}", start.strftime("%Y-%m-%dT%H:%M:%SZ"))),
                          range(args.pipelines)))
        saved = time.time() - started
        # The first tick at which every schedule is known (a little after the last save).
        tick = datetime.datetime.fromtimestamp(time.time() + 5, datetime.timezone.utc).replace(second=0, microsecond=0)
        while tick.timestamp() < time.time() + 5 or tick.minute % 2 or tick < start:
            tick += datetime.timedelta(minutes=1)
        tick_ms = int(tick.timestamp() * 1000)
        print(f"trellis serve ({args.bin_dir}), SQLite, {os.cpu_count()} cores; {args.pipelines} pipelines saved in "
              f"{saved:.1f} s ({args.pipelines / saved:.0f}/s, {args.threads} clients)")
        database = sqlite3.connect(f"file:{os.path.join(server.data, 'trellis.db')}?mode=ro", uri=True, timeout=30)
        deadline = time.time() + 900
        while time.time() < deadline:
            time.sleep(1)
            rows = database.execute(
                "SELECT created_at, updated_at, state FROM orchestrator_schedule_records WHERE execution_date = ?",
                (tick_ms,)).fetchall()
            if len(rows) == args.pipelines and all(r[2] == "launched" for r in rows):
                break
        else:
            sys.exit(f"only {len(rows)} of {args.pipelines} ticks at {tick} were launched within 15 minutes")
        runs = database.execute(
            "SELECT COUNT(*), SUM(state = 'succeeded') FROM orchestrator_runs WHERE execution_date = ? AND run_trigger = 'schedule'",
            (tick_ms,)).fetchone()
        # Idle: after the burst's runs ended and their alert events were dispatched (each run's end is one), until
        # shortly before the next tick (two minutes after this one).
        ended_at = time.time()
        while database.execute("SELECT COUNT(*) FROM orchestrator_runs WHERE state IN ('pending', 'running')").fetchone()[0]:
            time.sleep(1)
        last_end = database.execute(
            "SELECT MAX(finished_at) FROM orchestrator_runs WHERE execution_date = ? AND run_trigger = 'schedule'", (tick_ms,)).fetchone()[0]
        while database.execute("SELECT COUNT(*) FROM orchestrator_alert_events WHERE NOT dispatched").fetchone()[0]:
            time.sleep(1)
        print(f"the burst's runs ended and their alert events were dispatched {time.time() - ended_at:.1f} s after the last run was created")
        idle_from, idle_cpu = time.time(), cpu_seconds(server.process.pid)
        time.sleep(max(1, min(30, tick.timestamp() + 118 - time.time())))
        idle = (cpu_seconds(server.process.pid) - idle_cpu) / (time.time() - idle_from)
        launched = [(r[1] - tick_ms) / 1000 for r in rows]
        print(f"idle with {args.pipelines} schedules: {idle * 1000:.1f} ms CPU per second ({idle * 100:.2f}% of a core)")
        print(f"tick {tick.isoformat()}: {len(rows)} ticks due at once; the pass began {(rows[0][0] - tick_ms) / 1000:.3f} s "
              f"after the tick; run created after: first {min(launched):.3f} s, p50 {percentile(launched, 0.5):.2f} s, "
              f"p99 {percentile(launched, 0.99):.2f} s, last {max(launched):.2f} s "
              f"({len(rows) / max(launched):.0f} ticks/s); runs {runs[0]}, succeeded {runs[1]}, the last ended "
              f"{(last_end - tick_ms) / 1000:.2f} s after the tick")


if __name__ == "__main__":
    main()
