"""Importing trainlab changes no global state: a notebook keeps its matplotlib backend (inline
figures) and torch's denormal flag, whatever trainlab modules it imports."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import importlib, pkgutil
import matplotlib
import torch


def flushing():  # torch has no getter: a denormal product is 0 only with flush-to-zero on
    return float((torch.tensor([1e-39]) * 2)[0]) == 0.0

matplotlib.use("svg")  # anything but Agg: what a notebook's inline backend stands for here
flush = flushing()
assert not flush
import trainlab
names = [info.name for info in pkgutil.walk_packages(trainlab.__path__, "trainlab.")
         if not info.name.endswith("__main__")]  # `python -m trainlab` runs the CLI
for name in names:
    importlib.import_module(name)
assert len(names) > 100, names
print(matplotlib.get_backend(), flushing() == flush)
"""


def test_importing_every_module_keeps_the_backend_and_the_denormal_flag():
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["svg", "True"]


def test_the_reports_load_no_study():
    # Every study module registers itself when trainlab.studies is imported (seconds): a report
    # that only needs intervals must not pull them in.
    check = ("import sys, trainlab.reports.study_report, trainlab.reports.regularisation_plots, "
             "trainlab.reports.diagnostics_plots; print(sorted(m for m in sys.modules if 'studies' in m))")
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
