#!/usr/bin/env bash
# Set-up and main job: creates .venv, installs trainlab, runs every study of the curriculum at quick
# scale with one seed (offline: bundled or synthetic data where ../shared/data is absent) and prints,
# last, the path of the tour's index.html. Extra arguments go to `trainlab tour` (e.g. --only).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
.venv/bin/trainlab tour "$@"
