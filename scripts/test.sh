#!/usr/bin/env bash
# Creates .venv if needed and runs the default test suite (slow tests: scripts/test.sh -m slow).
# Under CI=true it also installs Chromium for the report's browser test (scripts/chromium.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
source scripts/chromium.sh
.venv/bin/python -m pytest "$@"
