"""One owner per concept (DESIGN.md, "Owners"), checked on the source so that a copy cannot creep
back: run-directory file names live in rundir.py (checkpoint files in training/checkpoint.py), a
task is declared once by its pipeline class, no module imports another in a cycle, and no file
grows far past 400 lines."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from trainlab import registry, rundir
from trainlab.data_options import DataConfig
from trainlab.pipelines import Pipeline
from trainlab.training import checkpoint

SOURCE = Path(__file__).resolve().parents[1] / "src" / "trainlab"
CYCLES_TOOL = SOURCE.parents[2] / "shared" / "tools" / "import_cycles.py"


def file_names(module) -> set[str]:
    return {value for name, value in vars(module).items()
            if name.endswith("_FILE") and isinstance(value, str) and "." in value}


def string_constants(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def test_only_the_owners_spell_a_run_directory_file_name():
    owned = {SOURCE / "rundir.py": file_names(rundir), SOURCE / "training" / "checkpoint.py": file_names(checkpoint)}
    names = set().union(*owned.values())
    assert {"config.yaml", "history.csv", "metrics.json", "data.json", "model.safetensors"} <= names
    spelt = {str(path.relative_to(SOURCE)): sorted(string_constants(path) & names)
             for path in SOURCE.rglob("*.py") if path not in owned}
    assert {path: found for path, found in spelt.items() if found} == {}


def test_every_task_declares_what_the_rest_of_trainlab_asks_of_it():
    for entry in registry.tasks.entries():
        task = entry.builder
        assert issubclass(task, Pipeline)
        assert task.default_model in registry.models.names(entry.name)
        assert issubclass(task.data_section, DataConfig)
        module, function = task.loader.split(":")
        assert callable(getattr(__import__(module, fromlist=[function]), function))


def test_no_module_switches_the_matplotlib_backend():
    calls = [str(path.relative_to(SOURCE)) for path in SOURCE.rglob("*.py") if "matplotlib.use(" in path.read_text()]
    assert calls == []


@pytest.mark.skipif(not CYCLES_TOOL.is_file(), reason="../shared/tools/import_cycles.py is absent")
def test_no_import_cycle_among_the_modules():
    done = subprocess.run([sys.executable, str(CYCLES_TOOL), str(SOURCE.parent), "trainlab"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "0 cycles", done.stdout


def test_no_file_grows_far_past_400_lines():
    lengths = {str(path.relative_to(SOURCE)): len(path.read_text().splitlines()) for path in SOURCE.rglob("*.py")}
    assert {path: length for path, length in lengths.items() if length > 420} == {}
