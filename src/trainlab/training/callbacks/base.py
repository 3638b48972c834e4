"""Callback hooks and the shared base of callbacks that watch one metric."""

from __future__ import annotations

import math
import warnings
from typing import Any, Literal

from trainlab.training.state import TrainState


class Callback:
    """Hooks around the training loop; each does nothing unless a subclass overrides it.

    Callbacks run in ascending `order` (stable), so one that must see what the others wrote at
    epoch end (checkpointing) sets a high order.
    """

    order = 0

    def on_fit_start(self, state: TrainState) -> None: ...

    def on_epoch_start(self, state: TrainState) -> None: ...

    def on_batch_start(self, state: TrainState) -> None: ...

    def after_backward(self, state: TrainState) -> None:
        """Gradients of one optimizer step are complete (and unscaled); the step comes next."""

    def on_batch_end(self, state: TrainState) -> None: ...

    def on_validation_end(self, state: TrainState) -> None: ...

    def on_epoch_end(self, state: TrainState) -> None: ...

    def on_fit_end(self, state: TrainState) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint must keep for a resumed run to behave exactly like an unbroken one."""
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None: ...


class MonitorCallback(Callback):
    """Tracks the best value of one metric of the epoch logs (e.g. `val_loss`, mode `min`)."""

    def __init__(self, monitor: str, mode: Literal["min", "max"], min_delta: float = 0.0):
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta}")
        self.monitor = monitor
        self.mode = mode
        self.min_delta = min_delta
        self.reset()

    def reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0
        self.wait = 0  # epochs since the last improvement
        self._warned = False

    def on_fit_start(self, state: TrainState) -> None:
        self.reset()

    def current(self, logs: dict[str, Any]) -> float | None:
        """The monitored value, or None (with one warning listing the keys there are)."""
        if self.monitor not in logs:
            if not self._warned:
                warnings.warn(
                    f"{type(self).__name__}: '{self.monitor}' is not in the logs; "
                    f"available: {', '.join(sorted(logs))}",
                    stacklevel=2,
                )
                self._warned = True
            return None
        return float(logs[self.monitor])

    def update(self, value: float, epoch: int) -> bool:
        """Record `value`; True when it beats the best by more than `min_delta`."""
        if self.mode == "min":
            improved = value < self.best - self.min_delta
        else:
            improved = value > self.best + self.min_delta
        if improved:
            self.best, self.best_epoch, self.wait = value, epoch, 0
        else:
            self.wait += 1
        return improved

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best = state_dict["best"]
        self.best_epoch = state_dict["best_epoch"]
        self.wait = state_dict["wait"]
