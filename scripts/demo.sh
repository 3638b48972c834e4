#!/usr/bin/env bash
# Set-up and main job: creates .venv, installs trainlab, trains a CNN on scikit-learn's bundled
# digits (offline) and prints the run directory.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
.venv/bin/trainlab train image-classification --data digits --seed 0 "$@"
