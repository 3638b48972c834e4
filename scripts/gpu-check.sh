#!/usr/bin/env bash
# On a CUDA machine: every task end to end at tiny scale, bf16 and fp16, a packed cuDNN recurrent
# classifier against the CPU, resume after a kill, and the benchmark suite's GPU cases; one table.
#   bash scripts/gpu-check.sh                 # --device cpu checks the script without a GPU
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
.venv/bin/python scripts/gpu_check.py "$@"
