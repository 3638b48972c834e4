"""Report a trial's validation metric to Optuna every epoch and stop the trial when it is pruned."""

from __future__ import annotations

import math
from typing import Any

from trainlab.training.callbacks.base import Callback
from trainlab.training.state import TrainState


class OptunaPruning(Callback):
    """After each epoch: `trial.report(logs[metric], epoch)`, then stop if `trial.should_prune()`.

    A pruned trial ends like an early-stopped run (its run directory is complete); `pruned_epoch`
    tells the sweep to record the trial as pruned.
    """

    # Last of all (after early stopping and checkpointing): the run's other callbacks keep the
    # positions they have without it, so `trainlab resume` on a trial directory finds their states.
    order = 2000

    def __init__(self, trial: Any, metric: str):
        self.trial = trial
        self.metric = metric
        self.pruned_epoch: int | None = None

    def on_fit_start(self, state: TrainState) -> None:
        self.pruned_epoch = None

    def on_epoch_end(self, state: TrainState) -> None:
        value = state.logs.get(self.metric)
        if value is None or state.diverged or not math.isfinite(value):
            return
        self.trial.report(float(value), state.epoch)
        if state.should_stop:  # stopping anyway (early stopping, last epoch): nothing to prune
            return
        if state.epoch < state.max_epochs and self.trial.should_prune():
            self.pruned_epoch = state.epoch
            state.stop(f"pruned: {self.metric} {value:.4g} at epoch {state.epoch} is worse than the "
                       "median of earlier trials at that epoch")
