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
import argparse, datetime, os, random, statistics, sys, time

from serve import Server, percentile


def stamp(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def pipeline(name, tasks):
    return {"apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": {"name": name}, "spec": {"tasks": tasks}}


def noop(name, after=()):
    return {"name": name, "template": "noop", "dependsOn": list(after)}


def fan(width):
    """1 -> width -> 1: `root`, `m000`..., `join` (the peers' task names)."""
    middle = [noop(f"m{i:0{max(3, len(str(width - 1)))}d}", ["root"]) for i in range(width)]
    return [noop("root")] + middle + [noop("join", [m["name"] for m in middle])]


def random_dag(size, seed=18):
    """`size` tasks, each after two earlier ones drawn at random (the first two after none), the same every time."""
    draw = random.Random(seed)
    return [noop(f"r{i:04d}", sorted({f"r{draw.randrange(i):04d}" for _ in range(2)}) if i >= 2 else []) for i in range(size)]


WORKLOADS = {
    "W1": ("W1 chain-40", lambda: pipeline("chain-40", [noop("t00")] + [noop(f"t{i:02d}", [f"t{i - 1:02d}"]) for i in range(1, 40)])),
    "W2": ("W2 fan-out 1->200->1", lambda: pipeline("fan-200", fan(200))),
    "W3": ("W3 fan-out 1->1000->1", lambda: pipeline("fan-1000", fan(1000))),
    "W4": ("W4 random DAG of 1,000", lambda: pipeline("random-1000", random_dag(1000))),
}


def workloads(chosen=("W1", "W2")):
    return {WORKLOADS[key][0]: WORKLOADS[key][1]() for key in chosen}


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


def run_workload(server, document, repeat):
    """Applies `document` and runs it `repeat` times: per run, the recorded wall, the client's wall (start request ->
    the run seen finished, its state polled every 20 ms from the list of runs, as a client waiting on it would) and the
    transitions; per attempt, its own time."""
    name = document["metadata"]["name"]
    server.call("POST", "/api/v1/projects/demo/pipelines", document)
    walls, clients, latencies, durations = [], [], [], []
    for _ in range(repeat):
        began = time.monotonic()
        run = server.call("POST", f"/api/v1/projects/demo/pipelines/{name}/runs")
        while run["state"] not in ("succeeded", "failed", "cancelled"):
            time.sleep(0.02)
            run = next(r for r in server.call("GET", f"/api/v1/projects/demo/pipelines/{name}/runs?limit=5")["runs"] if r["id"] == run["id"])
        clients.append(time.monotonic() - began)
        run = server.call("GET", f"/api/v1/projects/demo/runs/{run['id']}")
        if run["state"] != "succeeded":
            sys.exit(f"{name}: run {run['id']} {run['state']}: {run.get('reason')}")
        wall, transitions, attempts = measure(run)
        walls.append(wall)
        latencies.append(transitions)
        durations += attempts
    return {"walls": walls, "clients": clients, "transitions": latencies, "attempts": durations, "tasks": len(document["spec"]["tasks"])}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", default=".build/release")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--local-executor", default="sandboxed", choices=["sandboxed", "unsandboxed"])
    parser.add_argument("--workloads", default="W1,W2", help="comma-separated: W1, W2, W3, W4")
    args = parser.parse_args()
    with Server(args.bin_dir, {"TRELLIS_LOCAL_EXECUTOR": args.local_executor}) as server:
        print(f"trellis serve ({args.bin_dir}), SQLite, {os.cpu_count()} cores, {args.repeat} runs per workload, "
              f"tasks {args.local_executor}")
        for label, document in workloads(args.workloads.split(",")).items():
            result = run_workload(server, document, args.repeat)
            walls, latencies = result["walls"], sorted(x for run in result["transitions"] for x in run)
            p = lambda q: percentile(latencies, q) * 1000
            print(f"{label}: wall median {statistics.median(walls):.3f} s (runs: {', '.join(f'{w:.3f}' for w in walls)}), "
                  f"{result['tasks'] / statistics.median(walls):.0f} tasks/s; client wall median {statistics.median(result['clients']):.3f} s; "
                  f"transition p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, mean {statistics.mean(latencies) * 1000:.1f} ms "
                  f"over {len(latencies)} transitions; attempt p50 {statistics.median(result['attempts']) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
