"""Shared fixtures: the offline data folder and an in-process `trainlab` command."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch  # noqa: F401  (loaded first, as in a notebook: see below)

from trainlab.cli import main

# With torch loaded, the in-process `trainlab` below never sets OMP_WAIT_POLICY (busy_cpus.py), so
# what a command prints does not depend on how busy the machine is while the tests run.

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def shared_data() -> Path:
    """../shared/data (or $TRAINLAB_SHARED_DATA); tests that need it skip when it is absent."""
    folder = Path(os.environ.get("TRAINLAB_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    if not folder.is_dir():
        pytest.skip(f"shared data folder {folder} is absent")
    return folder


@pytest.fixture
def trainlab(capsys):
    """Run `trainlab ARGS...` in this process; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main([str(arg) for arg in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def saved_figures(monkeypatch) -> dict:
    """File name -> the matplotlib Figure saved under it, for checking what a plot shows."""
    from matplotlib.figure import Figure

    saved = {}
    original = Figure.savefig

    def savefig(figure, path, *args, **kwargs):
        saved[Path(path).name] = figure
        return original(figure, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return saved
