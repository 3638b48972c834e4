#!/usr/bin/env bash
# Creates .venv if needed and runs the default test suite (slow tests: scripts/test.sh -m slow).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
.venv/bin/python -m pytest "$@"
