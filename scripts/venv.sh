# Sourced by demo.sh and test.sh: creates .venv if needed and (re)installs trainlab into it
# whenever pyproject.toml or constraints.txt changed since the last install.
set -euo pipefail
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
stamp=.venv/.trainlab-installed
wanted=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -c constraints.txt -e '.[test]'
    echo "$wanted" > "$stamp"
fi
