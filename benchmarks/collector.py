#!/usr/bin/env python3
"""Metrics collector benchmark, in split mode (the collector its own process) on PostgreSQL.

    scripts/with-postgres.sh benchmarks/collector.py [--bin-dir DIR] [--attempts 100] [--seconds 60]

1. CPU: the collector's, the orchestrator's and the cluster gateway's CPU time per second (cores), first idle, then
   while `--attempts` local attempts run (one run of that many parallel `sleep` tasks), each sampled every second by
   its supervisor and ingested by the collector every second. From /proc/PID/stat of each service process.
2. A 24-hour series: 86,400 one-second samples of one attempt (written into the collector's table as they would have
   been ingested), then the attempt's usage asked 20 times as it is (raw: the API averages it into 9-second steps past
   10,000 points), and again after metrics.raw.age has downsampled the first 18 hours to minutes. p50 and p95 of the
   whole request, as a client sees it.
The build to measure is a release build (`swift build -c release`).
"""
import argparse, json, os, subprocess, sys, tempfile, time, urllib.request

from serve import call, percentile

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def cores(pids, seconds):
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    time.sleep(seconds)
    return {name: (cpu_seconds(pid) - before[name]) / seconds for name, pid in pids.items()}


def psql(url, sql):
    subprocess.run(["psql", "-q", url, "-c", sql], check=True, stdout=subprocess.DEVNULL)


def timed(base, path, token, count=20):
    times = []
    for _ in range(count):
        start = time.perf_counter()
        answer = call(base, "GET", path, token)
        times.append((time.perf_counter() - start) * 1000)
    points = sum(len(series["points"]) for series in answer["series"])
    return percentile(times, 0.5), percentile(times, 0.95), points, answer.get("step")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", default=".build/release")
    parser.add_argument("--attempts", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=60)
    options = parser.parse_args()
    admin = os.environ.get("TRELLIS_TEST_POSTGRES_URL")
    if not admin:
        sys.exit("collector.py: run it under scripts/with-postgres.sh")
    psql(admin, "CREATE DATABASE collector_bench")
    database = admin.rsplit("/", 1)[0] + "/collector_bench"
    state = tempfile.mkdtemp(prefix="trellis-collector-bench-")
    launcher = os.path.join(os.path.dirname(__file__), "..", "deploy", "local", "trellis-local")
    environment = {**os.environ, "TRELLIS_ADMIN_PASSWORD": "bench-password", "TRELLIS_LOG_LEVEL": "warning",
                   "TRELLIS_DATA_DIR": os.path.join(state, "data")}
    base_port = 18000 + os.getpid() % 1000 * 8
    subprocess.run([launcher, "start", "--database-url", database, "--base-port", str(base_port), "--bin-dir", options.bin_dir,
                    "--state-dir", state], check=True, env=environment)
    try:
        base = f"http://127.0.0.1:{base_port}"
        token = call(base, "POST", "/api/v1/auth/login", body={"username": "admin", "password": "bench-password"})["token"]
        pids = {}
        with open(os.path.join(state, "pids")) as listed:
            for line in listed:
                name, pid = line.split()
                pids[name] = int(pid)
        watched = {name: pids[name] for name in ("metrics", "orchestrator", "cluster-gateway")}
        call(base, "POST", "/api/v1/projects", token, {"name": "bench"})
        idle = cores(watched, 20)

        tasks = [{"name": f"s{i:03d}", "template": "shell", "args": {"command": "sleep 600"}} for i in range(options.attempts)]
        document = {"apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": {"name": "wide"},
                    "spec": {"parallelism": options.attempts, "tasks": tasks}}
        call(base, "POST", "/api/v1/projects/bench/pipelines", token, document)
        run = call(base, "POST", "/api/v1/projects/bench/pipelines/wide/runs", token, {})["id"]
        for _ in range(600):
            usage = call(base, "GET", f"/api/v1/projects/bench/runs/{run}/usage", token)
            if sum(1 for attempt in usage["attempts"] if attempt["summary"]["samples"] > 0) == options.attempts:
                break
            time.sleep(1)
        else:
            sys.exit("collector.py: the attempts were not all sampled within 10 minutes")
        busy = cores(watched, options.seconds)
        samples = sum(attempt["summary"]["samples"] for attempt in call(base, "GET", f"/api/v1/projects/bench/runs/{run}/usage", token)["attempts"])
        call(base, "POST", f"/api/v1/projects/bench/runs/{run}/cancel", token)
        for _ in range(120):
            if call(base, "GET", f"/api/v1/projects/bench/runs/{run}", token)["state"] == "cancelled":
                break
            time.sleep(1)

        # A day of samples for one attempt, the last ending now.
        execution = f"{run}-s000-1"
        now = int(time.time() * 1000)
        psql(database, f"DELETE FROM metrics_samples WHERE execution_id = '{execution}'")
        psql(database, "INSERT INTO metrics_samples (execution_id, replica, at, cpu, memory) "
                       f"SELECT '{execution}', '0', {now} - (86399 - g) * 1000, 0.5 + (g % 7) / 10.0, 104857600 + (g % 13) * 1048576 "
                       "FROM generate_series(0, 86399) g")
        path = f"/api/v1/projects/bench/runs/{run}/tasks/s000/attempts/1/usage"
        raw = timed(base, path, token)
        stepped = timed(base, path + "?step=1m", token)
        # Downsampled as metrics.raw.age (6h) leaves it: the collector's retention pass runs every minute.
        for _ in range(180):
            left = subprocess.run(["psql", "-tA", database, "-c",
                                   f"SELECT COUNT(*) FROM metrics_samples WHERE execution_id = '{execution}'"],
                                  check=True, capture_output=True, text=True).stdout.strip()
            if int(left) <= 6 * 3600 + 120:
                break
            time.sleep(1)
        downsampled = timed(base, path, token)

        print(f"collector CPU (cores), idle: " + ", ".join(f"{name} {value:.4f}" for name, value in idle.items()))
        print(f"collector CPU (cores), {options.attempts} attempts sampled each second over {options.seconds} s: "
              + ", ".join(f"{name} {value:.4f}" for name, value in busy.items()))
        print(f"samples stored over the run so far: {samples}")
        for label, (p50, p95, points, step) in [("24 h raw", raw), ("24 h ?step=1m", stepped), ("24 h, 18 h downsampled", downsampled)]:
            print(f"{label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms ({points} points, step {step})")
    finally:
        subprocess.run([launcher, "stop", "--state-dir", state], env=environment)


if __name__ == "__main__":
    main()
