"""Stop when the monitored metric stops improving; restore the best weights at the end."""

from __future__ import annotations

from typing import Any, Literal

import torch

from trainlab.training.callbacks.base import MonitorCallback
from trainlab.training.state import TrainState


class EarlyStopping(MonitorCallback):
    """Stops training after `patience` epochs without improvement of `monitor`.

    With `restore_best_weights`, the weights of the best epoch are put back when training ends,
    whether or not early stopping fired (Keras only restores when it fires, so a run that ends
    by reaching its last epoch would be evaluated on the last weights, not the best).
    `patience=None` never stops: only the best weights are tracked.
    """

    order = 10  # after the loop's own logs, before checkpointing saves this callback's state

    def __init__(
        self,
        monitor: str = "val_loss",
        mode: Literal["min", "max"] = "min",
        patience: int | None = None,
        min_delta: float = 0.0,
        restore_best_weights: bool = True,
    ):
        if patience is not None and patience < 1:
            raise ValueError(f"patience must be >= 1 or None, got {patience}")
        self.patience = patience
        self.restore_best_weights = restore_best_weights
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.stopped_epoch: int | None = None
        super().__init__(monitor, mode, min_delta)

    def reset(self) -> None:
        super().reset()
        self.best_weights = None
        self.stopped_epoch = None

    def on_epoch_end(self, state: TrainState) -> None:
        value = self.current(state.logs)
        if value is None or state.diverged:
            return
        if self.update(value, state.epoch):
            if self.restore_best_weights:
                self.best_weights = {
                    name: tensor.detach().clone() for name, tensor in state.model.state_dict().items()
                }
        elif self.patience is not None and self.wait >= self.patience:
            self.stopped_epoch = state.epoch
            state.stop(
                f"early stopping: {self.monitor} did not improve for {self.patience} epochs "
                f"(best {self.best:.4g} at epoch {self.best_epoch})"
            )

    def on_fit_end(self, state: TrainState) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            state.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "stopped_epoch": self.stopped_epoch,
            "best_weights": self.best_weights,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self.stopped_epoch = state_dict["stopped_epoch"]
        self.best_weights = state_dict["best_weights"]
