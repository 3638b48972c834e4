"""Write the epoch logs (and optionally the per-step training loss) as TensorBoard scalars."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trainlab.errors import TrainlabError
from trainlab.training.callbacks.base import Callback
from trainlab.training.state import TrainState

INSTALL_HINT = "pip install tensorboard (or pip install 'trainlab[tensorboard]')"


class TensorBoardLogger(Callback):
    """Scalar event files under `directory`, readable by `tensorboard --logdir RUN_DIR/tensorboard`.

    Every number of an epoch's row of the history is written at the end of the epoch: `train_loss` as
    `train/loss`, `val_accuracy` as `val/accuracy`, `lr` and `seconds` as they are, plus `epoch`.
    The x-axis of every scalar is the optimizer step (as in Lightning), so that epoch values and the
    per-step loss (`train/loss_step`, `train/lr_step`, every `every_steps` steps) share one axis
    and a resumed run can discard what the killed one wrote after its checkpoint.

    Args:
        directory: where the event files go (RUN_DIR/tensorboard).
        every_steps: also log the last batch's training loss every this many optimizer steps;
            None: epoch values only.
    """

    order = 30  # after the callbacks that add to an epoch's row (15, 20), before checkpointing

    def __init__(self, directory: Path, every_steps: int | None = None):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise TrainlabError(f"log.tensorboard=true needs the tensorboard package: {INSTALL_HINT}") from None
        if every_steps is not None and every_steps < 1:
            raise ValueError(f"every_steps must be >= 1 or None, got {every_steps}")
        self._writer_class = SummaryWriter
        self.directory = Path(directory)
        self.every_steps = every_steps
        self.writer: Any = None
        self._last_logged_step = 0

    def on_fit_start(self, state: TrainState) -> None:
        # Opened here, not in __init__: the run directory is (re)created between the two.
        # Resumed: TensorBoard drops events at steps after the checkpoint that the killed run wrote.
        purge_step = state.step + 1 if state.step > 0 else None
        self.writer = self._writer_class(str(self.directory), purge_step=purge_step)
        self._last_logged_step = state.step

    def on_batch_end(self, state: TrainState) -> None:
        if self.every_steps is None or state.loss is None:
            return
        # With gradient accumulation several batches end at the same step: log each step once.
        if state.step == self._last_logged_step or state.step % self.every_steps != 0:
            return
        self._last_logged_step = state.step
        self.writer.add_scalar("train/loss_step", float(state.loss), state.step)
        self.writer.add_scalar("train/lr_step", state.optimizer.param_groups[0]["lr"], state.step)

    def on_epoch_end(self, state: TrainState) -> None:
        if state.diverged or not state.history:
            return
        # The epoch's row as history.csv gets it, with what callbacks before this one filed in it.
        for key, value in state.history[-1].items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(scalar_tag(key), value, state.step)
        self.writer.flush()  # an epoch's values are on disk even if the run is killed next

    def on_fit_end(self, state: TrainState) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def scalar_tag(key: str) -> str:
    """`train_loss` -> `train/loss`, `val_macro_f1` -> `val/macro_f1`; other keys unchanged.

    TensorBoard groups tags by what comes before the slash: train and val get a section each.
    """
    for split in ("train", "val"):
        if key.startswith(f"{split}_"):
            return f"{split}/{key.removeprefix(f'{split}_')}"
    return key
