#!/usr/bin/env bash
# Makes (once) the Python venv with PyTorch's CPU build and Ray that the distributed-training tests run their replicas
# with (a real DistributedDataParallel all-reduce over gloo; a Ray head and worker), and prints its python. pip finds
# the CPU wheel where the machine keeps it (PIP_FIND_LINKS), the rest on PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.build-training-venv
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import torch.distributed, ray" 2>/dev/null; then
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q "torch>=2.1" "ray>=2.9,<3" >&2
fi
echo "$PWD/$VENV/bin/python"
