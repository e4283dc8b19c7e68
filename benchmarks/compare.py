#!/usr/bin/env python3
"""Trellis and its peers on the same workloads, in one invocation, in one table with the ratios.

    benchmarks/compare.py [--bin-dir DIR] [--repeat N] [--workloads W1,W2,W3,W4] [--local-executor sandboxed|unsandboxed]
                          [--peers prefect,dagster,airflow] [--peer-modes prefect=server,airflow=scheduler,dagster=multiprocess]

Trellis: a private `trellis serve` (SQLite, a fresh data directory) runs W1 chain-40, W2 fan-out 1->200->1, W3 fan-out
1->1000->1 and W4 a random DAG of 1,000 tasks (benchmarks/runs.py), each task a real process under its supervisor.
Peers: the scripts in ../shared/bench-peers/ (each makes its own venv from PyPI; Airflow's starts its own PostgreSQL)
run W1 and W2 — the workloads they define, with the same task names — and write their raw runs to $PEERBENCH_RESULTS
(a temporary folder unless set), which this script reads back. Trellis's own runs of W1 and W2 are written there too,
in the peers' format (benchlib.write_results), so ../shared/bench-peers/report.py shows them beside the peers.

Columns, as ../shared/bench-peers/README.md defines them: *recorded* is the run's own start -> end as the system
records it; *client wall* is from the trigger to the client seeing the run finished (Trellis: the start request to the
run listed as finished, polled every 20 ms; Prefect: the script's launch to the flow's return; Airflow: the REST
trigger to `success` in its database, polled every 0.1 s; Dagster: the CLI's launch to its exit); a *transition* is a
task's recorded start minus its upstreams' latest recorded end. Ratios are the peer's figure over Trellis's.
"""
import argparse, datetime, json, os, statistics, subprocess, sys, tempfile

from runs import WORKLOADS, run_workload, workloads
from serve import Server, percentile

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "..", "..", "shared", "bench-peers")
PEER_WORKLOADS = {"W1": "chain40", "W2": "fanout200"}
PEER_MODE_FLAG = {"prefect": "--modes", "airflow": "--modes", "dagster": "--executors"}
DEFAULT_PEER_MODES = {"prefect": "server", "airflow": "scheduler", "dagster": "multiprocess"}


def summary(system, mode, workload, tasks, recorded, clients, transitions):
    """One row: medians of the runs' recorded and client walls; transitions pooled over the runs."""
    return {
        "system": system, "mode": mode, "workload": workload, "runs": len(recorded),
        "recorded": statistics.median(recorded) if recorded else None,
        "client": statistics.median(clients) if clients else None,
        "tasks_per_s": tasks / statistics.median(recorded) if recorded else None,
        "mean": statistics.fmean(transitions) if transitions else None,
        "p50": percentile(transitions, 0.5) if transitions else None,
        "p95": percentile(transitions, 0.95) if transitions else None,
        "p99": percentile(transitions, 0.99) if transitions else None,
    }


def trellis(args):
    rows, raw = [], {}
    with Server(args.bin_dir, {"TRELLIS_LOCAL_EXECUTOR": args.local_executor}) as server:
        for key in args.workloads:
            label, _ = WORKLOADS[key]
            document = workloads([key])[label]
            result = run_workload(server, document, args.repeat)
            transitions = [x for run in result["transitions"] for x in run]
            rows.append(summary("trellis", f"serve, SQLite, {args.local_executor}", key, result["tasks"], result["walls"],
                                result["clients"], transitions))
            raw[key] = result
            print(f"[compare] trellis {label}: recorded median {rows[-1]['recorded']:.3f} s", file=sys.stderr, flush=True)
    return rows, raw


def write_trellis_results(args, raw, results):
    """Trellis's W1/W2 runs in the peers' raw format, so that their report.py shows Trellis beside them."""
    sys.path.insert(0, PEERS)
    import benchlib
    runs = []
    for key, workload in PEER_WORKLOADS.items():
        if key not in raw:
            continue
        result = raw[key]
        for index, (wall, client, transitions) in enumerate(zip(result["walls"], result["clients"], result["transitions"])):
            runs.append({"system": "trellis", "mode": args.local_executor, "workload": workload, "i": index, "ok": True,
                         "wall_s": client, "run_s": wall, "trans": transitions})
    if not runs:
        return
    groups = {}
    for run in runs:
        groups.setdefault(run["workload"], []).append(run)
    rows = [{"system": "trellis", "mode": args.local_executor, "workload": w, **benchlib.summarize(g)} for w, g in groups.items()]
    os.environ["PEERBENCH_RESULTS"] = results
    benchlib.write_results("trellis", {**benchlib.machine_info(), "bin_dir": args.bin_dir}, rows, runs, "")


def peer(name, mode, args, results):
    """Runs one peer's script on W1/W2 and reads its raw runs back."""
    chosen = [PEER_WORKLOADS[key] for key in args.workloads if key in PEER_WORKLOADS]
    if not chosen:
        return []
    before = set(os.listdir(results))
    command = [sys.executable, os.path.join(PEERS, f"bench_{name}.py"), "--runs", str(args.repeat), "--workloads", ",".join(chosen),
               PEER_MODE_FLAG[name], mode]
    print(f"[compare] {' '.join(command)}", file=sys.stderr, flush=True)
    subprocess.run(command, env={**os.environ, "PEERBENCH_RESULTS": results}, check=True, timeout=3 * 3600)
    rows = []
    for file in sorted(set(os.listdir(results)) - before):
        data = json.load(open(os.path.join(results, file)))
        version = next(iter(data["meta"].get("versions", {}).values()), "")
        groups = {}
        for run in data["runs"]:
            if run.get("ok"):
                groups.setdefault((run["mode"], run["workload"]), []).append(run)
        for (run_mode, workload), runs in groups.items():
            key = next(k for k, w in PEER_WORKLOADS.items() if w == workload)
            tasks = 40 if workload == "chain40" else 202
            rows.append(summary(f"{name} {version}", run_mode, key, tasks, [r["run_s"] for r in runs if r.get("run_s") is not None],
                                [r["wall_s"] for r in runs], [x for r in runs for x in r.get("trans", [])]))
    return rows


def table(rows):
    def seconds(x, digits=3):
        return "—" if x is None else f"{x:.{digits}f}"

    def ms(x):
        return "—" if x is None else f"{x * 1000:.1f}"

    base = {row["workload"]: row for row in rows if row["system"] == "trellis"}
    lines = [
        "| workload | system | mode | runs | recorded s | × Trellis | client wall s | × Trellis | tasks/s (recorded) "
        "| transition mean ms | p50 | p95 | p99 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in sorted(rows, key=lambda r: (r["workload"], r["system"] != "trellis", r["system"])):
        own = base.get(row["workload"])
        ratio = lambda field: "—" if not own or row is own or not row[field] or not own[field] else f"{row[field] / own[field]:.1f}×"
        lines.append(
            f"| {WORKLOADS[row['workload']][0]} | {row['system']} | {row['mode']} | {row['runs']} | {seconds(row['recorded'])} "
            f"| {ratio('recorded')} | {seconds(row['client'])} | {ratio('client')} | "
            f"{seconds(row['tasks_per_s'], 0)} | {ms(row['mean'])} | {ms(row['p50'])} "
            f"| {ms(row['p95'])} | {ms(row['p99'])} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", default=".build/release")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workloads", default="W1,W2,W3,W4")
    parser.add_argument("--local-executor", default="sandboxed", choices=["sandboxed", "unsandboxed"])
    parser.add_argument("--peers", default="", help="comma-separated: prefect, dagster, airflow")
    parser.add_argument("--peer-modes", default="", help="e.g. prefect=server,dagster=in_process (defaults: "
                        + ", ".join(f"{k}={v}" for k, v in DEFAULT_PEER_MODES.items()) + ")")
    args = parser.parse_args()
    args.workloads = [w for w in args.workloads.split(",") if w]
    unknown = [w for w in args.workloads if w not in WORKLOADS]
    if unknown:
        sys.exit(f"--workloads: unknown {', '.join(unknown)} (W1, W2, W3, W4)")
    peers = [p for p in args.peers.split(",") if p]
    if any(p not in DEFAULT_PEER_MODES for p in peers):
        sys.exit(f"--peers: one of {', '.join(DEFAULT_PEER_MODES)}")
    modes = {**DEFAULT_PEER_MODES, **dict(item.split("=", 1) for item in args.peer_modes.split(",") if item)}
    results = os.environ.get("PEERBENCH_RESULTS") or tempfile.mkdtemp(prefix="peerbench-results-")
    os.makedirs(results, exist_ok=True)

    rows, raw = trellis(args)
    write_trellis_results(args, raw, results)
    for name in peers:
        rows += peer(name, modes[name], args, results)
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nMeasured {when}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end; raw runs in {results}\n")
    print(table(rows))


if __name__ == "__main__":
    main()
