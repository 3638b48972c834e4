"""Hyperparameter sweeps with Optuna: a search space declared in the config, every trial a run
directory, workers sharing one study through a database."""

from trainlab.sweeps.runner import SweepOutcome, run_sweep
from trainlab.sweeps.settings import SweepSettings, parse_sweep

__all__ = ["SweepOutcome", "SweepSettings", "parse_sweep", "run_sweep"]
