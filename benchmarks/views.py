#!/usr/bin/env python3
"""Reads of big things: the view of a 1,000-task run, the first page of runs with 10,000 stored, a page of a 1,000-task
pipeline's runs (and its grid), and a 1,000-task pipeline compiled to an Argo Workflow.

    benchmarks/views.py [--bin-dir DIR] [--runs 10000] [--big-runs 25] [--samples 50]

Starts a private `trellis serve` (SQLite), runs W4 (a random DAG of 1,000 no-op tasks, benchmarks/runs.py) `--big-runs` times,
creates `--runs` runs of a one-task pipeline whose task is skipped (no process: what is stored is what matters), then
times each read `--samples` times, one after the other, from a client on the same machine: the request's send to the
last byte of the answer, which is the server's time plus a loopback round trip (about 0.1 ms here).
"""
import argparse, concurrent.futures, os, statistics, time, urllib.request

from runs import WORKLOADS, run_workload, workloads
from serve import Server, percentile


def timed(server, path, samples, accept="application/json"):
    durations, size = [], 0
    for _ in range(samples):
        request = urllib.request.Request(server.base + path, headers={"Authorization": "Bearer " + server.token, "Accept": accept})
        began = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as response:
            size = len(response.read())
        durations.append(time.perf_counter() - began)
    return durations, size


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", default=".build/release")
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--big-runs", type=int, default=25, help="runs of W4: a page of them is read")
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()
    with Server(args.bin_dir, {"TRELLIS_LOCAL_EXECUTOR": "unsandboxed"}) as server:
        label, _ = WORKLOADS["W4"]
        document = workloads(["W4"])[label]
        run_workload(server, document, args.big_runs)
        run_id = server.call("GET", "/api/v1/projects/demo/pipelines/random-1000/runs?limit=1")["runs"][0]["id"]
        server.call("POST", "/api/v1/projects/demo/pipelines", {
            "apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": {"name": "many"},
            "spec": {"tasks": [{"name": "only", "template": "noop", "skip": True}]}})
        began = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda _: server.call("POST", "/api/v1/projects/demo/pipelines/many/runs"), range(args.runs)))
        print(f"views: {args.runs} runs of a skipped task created in {time.monotonic() - began:.1f} s "
              f"({os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f})")
        reads = [
            ("the run view of a 1,000-task run (W4)", f"/api/v1/projects/demo/runs/{run_id}", "application/json"),
            (f"the first page of runs, {args.runs + 1} stored", "/api/v1/projects/demo/runs", "application/json"),
            ("the first page of a pipeline's runs", "/api/v1/projects/demo/pipelines/many/runs", "application/json"),
            (f"the first page of a 1,000-task pipeline's runs, {args.big_runs} stored",
             "/api/v1/projects/demo/pipelines/random-1000/runs", "application/json"),
            (f"the grid of a 1,000-task pipeline's runs, {args.big_runs} stored",
             "/api/v1/projects/demo/pipelines/random-1000/grid", "application/json"),
            ("the 1,000-task pipeline as an Argo Workflow (JSON)", "/api/v1/projects/demo/pipelines/random-1000/argo", "application/json"),
            ("the 1,000-task pipeline as an Argo Workflow (YAML)", "/api/v1/projects/demo/pipelines/random-1000/argo", "application/yaml"),
        ]
        for name, path, accept in reads:
            timed(server, path, 3, accept)  # warm
            durations, size = timed(server, path, args.samples, accept)
            print(f"{name}: p50 {statistics.median(durations) * 1000:.1f} ms, p95 {percentile(durations, 0.95) * 1000:.1f} ms, "
                  f"{size / 1024:.0f} KiB, {args.samples} reads")


if __name__ == "__main__":
    main()
