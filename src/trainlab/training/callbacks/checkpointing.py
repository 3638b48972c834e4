"""Save `last/` every epoch and `best/` when the monitored metric improves."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from trainlab.training.callbacks.base import MonitorCallback
from trainlab.training.checkpoint import save_checkpoint
from trainlab.training.state import TrainState


class Checkpointing(MonitorCallback):
    """Writes `directory/last` after every epoch and `directory/best` on improvement.

    It runs after every other callback so that the state it saves includes what they did at the
    end of the epoch. A diverged epoch is never saved: `last` stays the last good state.
    """

    order = 1000

    def __init__(self, directory: Path, monitor: str = "val_loss", mode: Literal["min", "max"] = "min"):
        self.directory = Path(directory)
        super().__init__(monitor, mode)

    def on_epoch_end(self, state: TrainState) -> None:
        if state.diverged:
            return
        value = self.current(state.logs)
        improved = value is not None and self.update(value, state.epoch)
        # The best checkpoint's copy of this callback's state must already count this epoch.
        save_checkpoint(self.directory / "last", state)
        if improved:
            save_checkpoint(self.directory / "best", state)
