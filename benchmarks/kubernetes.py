#!/usr/bin/env python3
"""Kubernetes benchmark: how fast runs become Workflows, and how fast a Workflow's end reaches its run.

    scripts/with-kube.sh benchmarks/kubernetes.py [--bin-dir DIR] [--runs 200] [--threads 4]

Against the private kube-apiserver of scripts/with-kube.sh (with Argo's CRDs, no controller, no kubelet): a private
`trellis serve` registers it, binds the project `demo` to it and starts N runs of a one-task pipeline from
`--threads` clients. Submission: a start answers once the run's Workflow is created in `trellis-demo`, so the calls'
times are the submissions' (checked: every run has its Workflow). Follow: the benchmark then plays Argo's controller, writing each Workflow's status `Succeeded` one
after the other, and measures from each write to the run's API answer showing it succeeded (the runs list is read
every 50 ms from another thread, so the figures are up to about 50 ms late). The build to measure is a release build:
`swift build -c release --product trellis && swift build -c release --product trellis-shim`.
"""
import argparse, concurrent.futures, json, os, ssl, sys, time, urllib.request

from serve import Server, percentile


def kube(method, path, body=None, content_type="application/json"):
    request = urllib.request.Request(os.environ["TRELLIS_TEST_KUBE_URL"] + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Authorization", "Bearer " + os.environ["TRELLIS_TEST_KUBE_TOKEN"])
    request.add_header("Content-Type", content_type)
    context = ssl.create_default_context(cafile=os.environ["TRELLIS_TEST_KUBE_CA"])
    with urllib.request.urlopen(request, timeout=60, context=context) as response:
        return json.loads(response.read())


def summary(values):
    return (f"p50 {percentile(values, 0.5) * 1000:.0f} ms, p99 {percentile(values, 0.99) * 1000:.0f} ms, "
            f"max {max(values) * 1000:.0f} ms")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", default=".build/release")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    if "TRELLIS_TEST_KUBE_URL" not in os.environ:
        sys.exit("run under scripts/with-kube.sh, which starts the API server")
    namespace = "/apis/argoproj.io/v1alpha1/namespaces/trellis-demo/workflows"
    with Server(args.bin_dir) as server:
        server.call("POST", "/api/v1/clusters", {
            "name": "lab", "server": os.environ["TRELLIS_TEST_KUBE_URL"], "token": os.environ["TRELLIS_TEST_KUBE_TOKEN"],
            "ca": open(os.environ["TRELLIS_TEST_KUBE_CA"]).read()})
        server.call("PATCH", "/api/v1/projects/demo", {"settings": {"cluster": "lab"}})
        server.call("POST", "/api/v1/projects/demo/pipelines", {
            "apiVersion": "trellis.dev/v1", "kind": "Pipeline", "metadata": {"name": "one"},
            "spec": {"tasks": [{"name": "work", "template": "shell", "args": {"command": "echo work"}}]}})

        # Starting a run answers once its Workflow is created: the calls' times are the submissions'.
        def start(_):
            began = time.time()
            return server.call("POST", "/api/v1/projects/demo/pipelines/one/runs")["id"], time.time() - began

        started = time.time()
        with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
            answers = list(pool.map(start, range(args.runs)))
        elapsed = time.time() - started
        runs = [run for run, _ in answers]
        listed = {item["metadata"]["labels"]["trellis/run"] for item in kube("GET", namespace)["items"]}
        if not listed.issuperset(runs):
            sys.exit(f"{len(set(runs) - listed)} of {args.runs} started runs have no Workflow")
        print(f"trellis serve ({args.bin_dir}), SQLite, {os.cpu_count()} cores; kube-apiserver on 127.0.0.1")
        print(f"{args.runs} runs started by {args.threads} clients in {elapsed:.2f} s ({args.runs / elapsed:.0f} runs/s), "
              f"each answered with its Workflow created: {summary([took for _, took in answers])}")

        # Argo's controller, played here: each Workflow succeeds in turn, while the runs are watched from another
        # thread; how soon does each run say so?
        written, seen = {}, {}

        def watch():
            deadline = time.time() + 300
            while len(seen) < args.runs and time.time() < deadline:
                for item in server.call("GET", f"/api/v1/projects/demo/runs?limit={args.runs}")["runs"]:
                    if item["state"] == "succeeded":
                        seen.setdefault(item["id"], time.time())
                time.sleep(0.05)

        with concurrent.futures.ThreadPoolExecutor(1) as watcher:
            watching = watcher.submit(watch)
            for run in runs:
                name = f"trellis-{run}"
                written[run] = time.time()
                kube("PATCH", f"{namespace}/{name}", {"status": {"phase": "Succeeded", "nodes": {
                    f"{name}-1": {"id": f"{name}-1", "name": f"{name}.work", "type": "Pod", "phase": "Succeeded",
                                  "startedAt": "2026-11-29T10:00:00Z", "finishedAt": "2026-11-29T10:00:01Z",
                                  "outputs": {"exitCode": "0"}}}}}, "application/merge-patch+json")
            watching.result()
        if len(seen) < args.runs:
            sys.exit(f"only {len(seen)} of {args.runs} runs followed their Workflow to success within 5 minutes")
        lags = [seen[run] - written[run] for run in runs]
        writing = max(written.values()) - min(written.values())
        print(f"{args.runs} Workflow ends written over {writing:.2f} s; each run succeeded after: {summary(lags)}")


if __name__ == "__main__":
    main()
