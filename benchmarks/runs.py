#!/usr/bin/env python3
"""Run-engine benchmark: W1 chain-40 and W2 fan-out 1->200->1 of no-op tasks (`true`) on `trellis serve`.

    benchmarks/runs.py [--bin-dir DIR] [--repeat N] [--local-executor sandboxed|unsandboxed]

Starts a private `trellis serve` (SQLite, a fresh data directory, a free port), applies both pipelines, runs each
N times and prints, per workload, the wall time (run start -> run end, from the run's own timestamps) and the
dependency transition latency: for every task with upstreams, its attempt's start minus the latest end of its
upstreams' attempts (p50/p99 over every such task in every repetition), and the attempt itself (its supervisor's
start to its end: for a no-op, what starting and ending a process costs, sandboxed or not). The build to measure is a release build:
`swift build -c release --product trellis && swift build -c release --product trellis-shim`.
"""
import argparse, datetime, os, statistics, sys, time

from serve import Server


def stamp(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def pipeline(name, tasks):
    return {"apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": {"name": name}, "spec": {"tasks": tasks}}


def noop(name, after=()):
    return {"name": name, "template": "noop", "dependsOn": list(after)}


def workloads():
    chain = [noop("t00")] + [noop(f"t{i:02d}", [f"t{i - 1:02d}"]) for i in range(1, 40)]
    middle = [noop(f"m{i:03d}", ["start"]) for i in range(200)]
    fan = [noop("start")] + middle + [noop("join", [m["name"] for m in middle])]
    return {"W1 chain-40": pipeline("chain-40", chain), "W2 fan-out 1->200->1": pipeline("fan-200", fan)}


def measure(run):
    tasks = {t["name"]: t for t in run["tasks"]}
    latencies = []
    attempts = [stamp(t["attempts"][-1]["finishedAt"]) - stamp(t["attempts"][-1]["startedAt"]) for t in run["tasks"]]
    for task in run["tasks"]:
        if not task["dependsOn"]:
            continue
        ready = max(stamp(tasks[d]["attempts"][-1]["finishedAt"]) for d in task["dependsOn"])
        latencies.append(stamp(task["attempts"][-1]["startedAt"]) - ready)
    return stamp(run["finishedAt"]) - stamp(run["startedAt"]), latencies, attempts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", default=".build/release")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--local-executor", default="sandboxed", choices=["sandboxed", "unsandboxed"])
    args = parser.parse_args()
    with Server(args.bin_dir, {"TRELLIS_LOCAL_EXECUTOR": args.local_executor}) as server:
        print(f"trellis serve ({args.bin_dir}), SQLite, {os.cpu_count()} cores, {args.repeat} runs per workload, "
              f"tasks {args.local_executor}")
        for label, document in workloads().items():
            name = document["metadata"]["name"]
            server.call("POST", "/api/v1/projects/demo/pipelines", document)
            walls, latencies, durations = [], [], []
            for _ in range(args.repeat):
                run = server.call("POST", f"/api/v1/projects/demo/pipelines/{name}/runs")
                while run["state"] not in ("succeeded", "failed", "cancelled"):
                    time.sleep(0.05)
                    run = server.call("GET", f"/api/v1/projects/demo/runs/{run['id']}")
                if run["state"] != "succeeded":
                    sys.exit(f"{label}: run {run['id']} {run['state']}: {run.get('reason')}")
                wall, transitions, attempts = measure(run)
                walls.append(wall)
                latencies += transitions
                durations += attempts
            latencies.sort()
            p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
            print(f"{label}: wall median {statistics.median(walls):.3f} s (runs: {', '.join(f'{w:.3f}' for w in walls)}); "
                  f"transition p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, mean {statistics.mean(latencies) * 1000:.1f} ms "
                  f"over {len(latencies)} transitions; attempt p50 {statistics.median(durations) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
