import TrellisCore
import Yams

/// The templates every Trellis has from its first start, published to everyone.
enum BuiltinTemplates {
    static func all() throws -> [TemplateSpec] {
        try [shell, python, distributedShell, pytorch, tensorflow, mpi, xgboost, ray, noop].map {
            try YAMLDecoder().decode(TemplateSpec.self, from: $0)
        }
    }

    /// A POSIX sh prologue that reads `--command` and `--workdir` and runs the command there.
    static let shellRunner =
        #"while [ $# -gt 0 ]; do case "$1" in --command) c=$2; shift 2;; --workdir) cd "$2" || exit 1; shift 2;; *) shift;; esac; done; eval "$c""#

    static let shell = """
        name: shell
        version: 1.0.0
        category: basic
        description: Run a shell command.
        readme: |
          # shell
          Runs `command` with `sh` in `workdir`. The task's environment has the `TRELLIS_*` variables
          (project, pipeline, run, task, attempt, execution date) and every env of the template, pipeline and task.

          ```yaml
          - name: prepare
            template: shell
            args: {command: "echo {{execution_date}} > /tmp/marker", workdir: /tmp}
          ```
        image: debian:bookworm-slim
        command: [sh, -c, '\(shellRunner)', shell]
        parameters:
          - group: shell
            params:
              - {name: command, type: text, label: Command, required: true, placeholder: "echo hello", help: "Run with sh -c."}
              - {name: workdir, type: str, label: Working directory, default: /tmp, regex: "/.*"}
        """

    static let python = """
        name: python
        version: 1.0.0
        category: basic
        description: Run an inline Python script with python3.
        readme: |
          # python
          Runs `script` with `python3`. `sys.argv` is empty; read settings from the environment
          (`TRELLIS_*` and the env of the template, pipeline and task).
        image: python:3.12-slim
        command: [python3, -c, 'import sys; s = sys.argv[sys.argv.index("--script") + 1]; sys.argv = ["script"]; exec(compile(s, "<script>", "exec"))']
        env: {PYTHONUNBUFFERED: "1"}
        parameters:
          - group: python
            params:
              - {name: script, type: text, label: Script, required: true, placeholder: "print('hello')"}
        """

    static let distributedShell = """
        name: distributed-shell
        version: 1.0.0
        category: distributed
        description: Run a shell command in N replicas that know their rank.
        readme: |
          # distributed-shell
          Runs `command` in every replica of the task (`replicas: N` on the task). Each replica gets
          `TRELLIS_REPLICA` (its rank, from 0), `TRELLIS_REPLICAS` (the world size), `TRELLIS_MASTER_ADDR` and
          `TRELLIS_MASTER_PORT` (where rank 0 listens), as torchrun and similar launchers expect.
        image: debian:bookworm-slim
        command: [sh, -c, '\(shellRunner)', distributed-shell]
        parameters:
          - group: shell
            params:
              - {name: command, type: text, label: Command, required: true, placeholder: "echo rank $TRELLIS_REPLICA of $TRELLIS_REPLICAS"}
              - {name: workdir, type: str, label: Working directory, default: /tmp, regex: "/.*"}
        """

    /// A POSIX sh prologue that reads `--script` and `--python`, sets the variables PyTorch's distributed package reads
    /// (`env://` initialisation, as torchrun sets them) from Trellis's replica variables — or keeps those the training
    /// operator set, in a PyTorchJob's pods — and runs the script.
    static let pytorchRunner =
        #"while [ $# -gt 0 ]; do case "$1" in --script) s=$2; shift 2;; --python) p=$2; shift 2;; *) shift;; esac; done; "#
        + rankVariables + #"export LOCAL_RANK="${TRELLIS_LOCAL_REPLICA:-0}" "#
        + #"LOCAL_WORLD_SIZE="${TRELLIS_LOCAL_REPLICAS:-1}"; exec "${p:-python3}" -c "$s""#

    /// `MASTER_ADDR`, `MASTER_PORT`, `WORLD_SIZE` and `RANK` from Trellis's replica variables, else as an operator set
    /// them (a PyTorchJob's or XGBoostJob's pods), else a single replica's.
    static let rankVariables =
        #"export MASTER_ADDR="${TRELLIS_MASTER_ADDR:-${MASTER_ADDR:-127.0.0.1}}" "#
        + #"MASTER_PORT="${TRELLIS_MASTER_PORT:-${MASTER_PORT:-29500}}" WORLD_SIZE="${TRELLIS_REPLICAS:-${WORLD_SIZE:-1}}" "#
        + #"RANK="${TRELLIS_REPLICA:-${RANK:-0}}"; "#

    static let pytorch = """
        name: pytorch
        version: 1.0.0
        category: distributed
        description: Distributed training with PyTorch (DistributedDataParallel) over N replicas.
        readme: |
          # pytorch
          Runs `script` with `python` in every replica of the task (`replicas: N`), each told where the group
          meets the way torchrun tells it, so `torch.distributed.init_process_group()` (`env://`) forms the group:
          `MASTER_ADDR` and `MASTER_PORT` (where rank 0, the **master**, listens), `WORLD_SIZE` (N), `RANK`
          (0 for the master, 1… for the **workers**), `LOCAL_RANK` and `LOCAL_WORLD_SIZE` (the replicas on the
          same machine). Locally the replicas are processes of this machine; use the `gloo` backend on CPU,
          `nccl` with GPUs (`resources: {gpu: 1}` per replica).

          ```yaml
          - name: train
            template: pytorch
            replicas: 2
            args:
              script: |
                import torch, torch.distributed as dist
                dist.init_process_group("gloo")
                t = torch.tensor([dist.get_rank() + 1.0])
                dist.all_reduce(t)
                print(f"rank {dist.get_rank()} of {dist.get_world_size()}: sum {t.item()}")
                dist.destroy_process_group()
          ```
        image: pytorch/pytorch:2.3.1-cuda12.1-cudnn8-runtime
        framework: pytorch
        command: [sh, -c, '\(pytorchRunner)', pytorch]
        env: {PYTHONUNBUFFERED: "1"}
        parameters:
          - group: pytorch
            params:
              - {name: script, type: text, label: Script, required: true, placeholder: "import torch.distributed as dist; dist.init_process_group('gloo')"}
              - {name: python, type: str, label: Python, default: python3, help: "The interpreter with torch: a name on PATH or an absolute path."}
        """

    /// A Python prologue that reads `--script` and `--ps`, sets `TF_CONFIG` as TensorFlow's multi-worker strategies read
    /// it (unless the environment has one already, as a TFJob's pods do) and runs the script. Replica 0 is the chief,
    /// the last `ps` replicas parameter servers, the others workers; each listens on its own port of its machine.
    static let tensorflowRunner = #"""
        import json, os, sys
        a = sys.argv
        s = a[a.index("--script") + 1]
        ps = int(a[a.index("--ps") + 1]) if "--ps" in a else 0
        n, r = int(os.environ.get("TRELLIS_REPLICAS", "1")), int(os.environ.get("TRELLIS_REPLICA", "0"))
        if not 0 <= ps < n:
            sys.exit(f"tensorflow: ps must be 0 to {n - 1} for {n} replicas (the chief is replica 0), not {ps}")
        ports = [p for p in os.environ.get("TRELLIS_REPLICA_PORTS", "").split(",") if p] or ["2222"]
        roles = ["chief"] + ["worker"] * (n - 1 - ps) + ["ps"] * ps
        cluster = {}
        for role, port in zip(roles, ports):
            cluster.setdefault(role, []).append(os.environ.get("TRELLIS_MASTER_ADDR", "127.0.0.1") + ":" + port)
        os.environ.setdefault("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": roles[r], "index": roles[:r].count(roles[r])}}))
        sys.argv = ["script"]
        exec(compile(s, "<script>", "exec"))
        """#

    static let tensorflow = """
        name: tensorflow
        version: 1.0.0
        category: distributed
        description: Multi-worker training with TensorFlow over N replicas (chief, workers, parameter servers).
        readme: |
          # tensorflow
          Runs `script` with `python3` in every replica of the task (`replicas: N`) with `TF_CONFIG` set as
          TensorFlow's `MultiWorkerMirroredStrategy` and `ParameterServerStrategy` read it: `cluster` lists every
          replica's `host:port` by role, `task` says this replica's role and index. Replica 0 is the **chief**,
          the last `ps` replicas are **parameter servers**, the others **workers**; each has a port of its own.
          A `TF_CONFIG` already in the environment (a TFJob's pods) is kept.

          ```yaml
          - name: train
            template: tensorflow
            replicas: 3
            args:
              ps: 1
              script: |
                import tensorflow as tf
                strategy = tf.distribute.MultiWorkerMirroredStrategy()
          ```
        image: tensorflow/tensorflow:2.16.1
        framework: tensorflow
        command:
          - python3
          - -c
          - |
        \(indented(tensorflowRunner, by: 4))
        env: {PYTHONUNBUFFERED: "1"}
        parameters:
          - group: tensorflow
            params:
              - {name: script, type: text, label: Script, required: true, placeholder: "import tensorflow as tf"}
              - {name: ps, type: int, label: Parameter servers, default: 0, help: "How many of the last replicas are parameter servers."}
        """

    /// `text` with every line indented by `spaces`, for a YAML block scalar.
    static func indented(_ text: String, by spaces: Int) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { String(repeating: " ", count: spaces) + $0 }
            .joined(separator: "\n")
    }

    /// A POSIX sh prologue for MPI: the launcher (replica 0) runs `command` under `mpirun`, which starts every rank —
    /// with the hostfile of an MPIJob's launcher (the operator's), else one it writes of the task's slots in its working
    /// directory; locally the other replicas have nothing left to do.
    static let mpiRunner =
        #"while [ $# -gt 0 ]; do case "$1" in --command) c=$2; shift 2;; *) shift;; esac; done; "#
        + #"[ "${TRELLIS_REPLICA:-0}" = 0 ] || exit 0; n="${TRELLIS_REPLICAS:-1}"; h="${OMPI_MCA_orte_default_hostfile:-}"; "#
        + #"if [ -z "$h" ]; then h="$PWD/.mpi-hostfile"; echo "localhost slots=$n" > "$h" || exit 1; fi; "#
        + #"exec mpirun --hostfile "$h" -np "$n" sh -c "$c""#

    static let mpi = """
        name: mpi
        version: 1.0.0
        category: distributed
        description: Run a command as an MPI job of N ranks (a launcher and its workers; Horovod, DeepSpeed).
        readme: |
          # mpi
          Runs `command` as an MPI job of `replicas` ranks: the **launcher** (replica 0) writes a hostfile of
          the task's slots and starts every rank with `mpirun` (Open MPI); the ranks are the **workers**. MPI
          programs (mpi4py, Horovod, DeepSpeed with its MPI launcher) find their rank and size through MPI itself.
          Locally the ranks are processes of this machine, all started by the launcher (the other replicas end
          at once), and every rank's output is in the launcher's log.

          ```yaml
          - name: allreduce
            template: mpi
            replicas: 2
            args:
              command: python3 -c 'from mpi4py import MPI; c = MPI.COMM_WORLD; print(c.Get_rank(), c.allreduce(1))'
          ```
        image: mpioperator/openmpi:0.5.0
        framework: mpi
        command: [sh, -c, '\(mpiRunner)', mpi]
        env: {OMPI_ALLOW_RUN_AS_ROOT: "1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: "1"}
        parameters:
          - group: mpi
            params:
              - {name: command, type: text, label: Command, required: true, placeholder: "python3 train.py", help: "What every rank runs, with sh -c."}
        """

    /// A POSIX sh prologue that reads `--script` and `--python`, sets the rank variables an XGBoostJob's pods get and
    /// Rabit's tracker variables from them, and runs the script.
    static let xgboostRunner =
        #"while [ $# -gt 0 ]; do case "$1" in --script) s=$2; shift 2;; --python) p=$2; shift 2;; *) shift;; esac; done; "#
        + rankVariables + #"export DMLC_TRACKER_URI="$MASTER_ADDR" DMLC_TRACKER_PORT="$MASTER_PORT" DMLC_TASK_ID="$RANK" "#
        + #"DMLC_NUM_WORKER="$WORLD_SIZE"; exec "${p:-python3}" -c "$s""#

    static let xgboost = """
        name: xgboost
        version: 1.0.0
        category: distributed
        description: Distributed XGBoost over N replicas (a master running Rabit's tracker, and workers).
        readme: |
          # xgboost
          Runs `script` with `python` in every replica of the task (`replicas: N`) with the variables an
          XGBoostJob's pods get — `MASTER_ADDR`, `MASTER_PORT`, `WORLD_SIZE`, `RANK` (0 for the **master**, 1… for
          the **workers**) — and Rabit's: `DMLC_TRACKER_URI`, `DMLC_TRACKER_PORT`, `DMLC_TASK_ID`, `DMLC_NUM_WORKER`.
          The master starts the tracker (`xgboost.tracker.RabitTracker`) on the master port; every replica then joins
          with `xgboost.collective.CommunicatorContext`. The image needs xgboost.

          ```yaml
          - name: boost
            template: xgboost
            replicas: 2
            args:
              script: |
                import os, xgboost
                print("worker", os.environ["DMLC_TASK_ID"], "of", os.environ["DMLC_NUM_WORKER"])
          ```
        image: python:3.12-slim
        framework: xgboost
        command: [sh, -c, '\(xgboostRunner)', xgboost]
        env: {PYTHONUNBUFFERED: "1"}
        parameters:
          - group: xgboost
            params:
              - {name: script, type: text, label: Script, required: true, placeholder: "import xgboost"}
              - {name: python, type: str, label: Python, default: python3, help: "The interpreter with xgboost: a name on PATH or an absolute path."}
        """

    /// A Python prologue for Ray: in a RayJob's driver (`RAY_ADDRESS` set by the job's submission) it runs the script;
    /// otherwise replica 0 starts a head node and the others worker nodes joining it (each `ray start --block` of
    /// `python`, in a session of its own), the head waits until every replica's node is alive, runs the script as the
    /// driver, and stops its node; a worker stops its own once the head is gone (killing it after 5 seconds: a node
    /// that lost its head takes half a minute to stop). Each node's agents get their ports from it: a raylet left to
    /// wait for the ports its agents chose gives up after 30 seconds, which a busy machine's Python start exceeds, and
    /// the agents' fixed default HTTP port is taken by the first node of the machine. A worker node that stops by itself
    /// while the head is up (its raylet gave up waiting for its agents all the same) is started again, twice at most.
    static let rayRunner = #"""
        import os, socket, subprocess, sys, tempfile, time
        a = sys.argv
        s = a[a.index("--script") + 1]
        p = a[a.index("--python") + 1] if "--python" in a else sys.executable
        if os.environ.get("RAY_ADDRESS"):
            os.execvp(p, [p, "-c", s])
        host, port = os.environ.get("TRELLIS_MASTER_ADDR", "127.0.0.1"), int(os.environ.get("TRELLIS_MASTER_PORT", "6379"))
        n, r = int(os.environ.get("TRELLIS_REPLICAS", "1")), int(os.environ.get("TRELLIS_REPLICA", "0"))
        env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", RAY_agent_register_timeout_ms="300000")
        temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
        log = open(os.path.join(temp, "node.log"), "wb")
        def free():
            with socket.socket() as probe:
                probe.bind(("", 0))
                return probe.getsockname()[1]
        start = [p, "-m", "ray.scripts.scripts", "start", "--block", "--temp-dir", temp,
                 f"--dashboard-agent-grpc-port={free()}", f"--dashboard-agent-listen-port={free()}", f"--runtime-env-agent-port={free()}"]
        if host in ("127.0.0.1", "localhost"):
            start.append("--node-ip-address=127.0.0.1")
        def head_up(seconds):
            end = time.time() + seconds
            while True:
                try:
                    socket.create_connection((host, port), 1).close()
                    return True
                except OSError:
                    if time.time() > end:
                        return False
                    time.sleep(0.5)
        def stop(node, code):
            node.terminate()
            try:
                node.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(node.pid, 9)
                node.wait()
            if code:
                sys.stderr.write(open(log.name, errors="replace").read()[-4000:])
            sys.exit(code)
        if r == 0:
            node = subprocess.Popen(start + ["--head", f"--port={port}", "--include-dashboard=false"], env=env, stdout=log, stderr=log, start_new_session=True)
            driver = dict(env, RAY_ADDRESS=f"{host}:{port}")
            wait = ("import ray, sys, time\nray.init()\nend = time.time() + 120\n"
                    "while sum(x['Alive'] for x in ray.nodes()) < int(sys.argv[1]):\n"
                    "    assert time.time() < end, 'ray: not every replica joined the head within 2 minutes'\n    time.sleep(0.5)\n")
            code = subprocess.call([p, "-c", wait, str(n)], env=driver) or subprocess.call([p, "-c", s], env=driver)
            stop(node, code)
        if not head_up(120):
            sys.exit(f"ray: no head at {host}:{port} within 2 minutes")
        for attempt in range(3):
            node = subprocess.Popen(start + [f"--address={host}:{port}"], env=env, stdout=log, stderr=log, start_new_session=True)
            while node.poll() is None and head_up(5):
                time.sleep(1)
            if node.returncode in (None, 0) or attempt == 2 or not head_up(5):
                break
            sys.stderr.write(f"ray: the worker node stopped (exit {node.returncode}) while the head is up; starting it again\n")
        stop(node, node.returncode or 0)
        """#

    static let ray = """
        name: ray
        version: 1.0.0
        category: distributed
        description: A Ray cluster of N replicas (a head and workers joining it) running a script as its driver.
        readme: |
          # ray
          Runs `script` as the driver of a Ray cluster of `replicas` nodes: replica 0 is the **head**, the others
          **workers** joining it; the script runs once every node is alive, with `RAY_ADDRESS` set, so `ray.init()`
          connects to the cluster and remote functions run on any of its nodes. Locally the nodes are processes of
          this machine (`ray start` of `python`, which needs ray); on Kubernetes the task is a RayJob of KubeRay,
          whose head and workers KubeRay starts and which submits the script to the head.

          ```yaml
          - name: squares
            template: ray
            replicas: 2
            args:
              script: |
                import ray
                ray.init()
                print(ray.get([ray.remote(lambda x: x * x).remote(i) for i in range(4)]))
          ```
        image: rayproject/ray:2.9.3
        framework: ray
        command:
          - python3
          - -c
          - |
        \(indented(rayRunner, by: 4))
        env: {PYTHONUNBUFFERED: "1"}
        parameters:
          - group: ray
            params:
              - {name: script, type: text, label: Script, required: true, placeholder: "import ray; ray.init()"}
              - {name: python, type: str, label: Python, default: python3, help: "The interpreter with ray: a name on PATH or an absolute path."}
        """

    static let noop = """
        name: noop
        version: 1.0.0
        category: basic
        description: Do nothing and succeed; for tests, benchmarks and joining branches.
        readme: |
          # noop
          Exits 0 at once. Useful to join branches of a DAG or to measure the scheduler's own overhead.
        image: busybox:1.36
        command: ["true"]
        """
}
