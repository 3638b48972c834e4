"""Stop at the first NaN or infinite loss, before it spreads into a checkpoint."""

from __future__ import annotations

import math

import torch

from trainlab.training.callbacks.base import Callback
from trainlab.training.state import TrainState

# Reading a loss on a GPU makes the host wait for the device, so the next batch's work cannot be
# queued behind the current one; there the losses are read together every this many batches.
GPU_CHECK_EVERY = 32


class NaNGuard(Callback):
    """Flags the run as diverged and stops it when a batch loss is not finite.

    Losses are checked every batch on the CPU, and every `check_every` batches (GPU_CHECK_EVERY by
    default) and at each epoch's last batch on a GPU. Either way the epoch in which a loss went bad
    is abandoned, and Checkpointing skips diverged epochs, so the last checkpoint keeps the last
    good weights.
    """

    order = -10

    def __init__(self, check_every: int | None = None):
        self.check_every = check_every
        self.pending: list[tuple[int, torch.Tensor]] = []  # (batch index, loss) not read yet

    def on_epoch_start(self, state: TrainState) -> None:
        self.pending = []

    def on_batch_end(self, state: TrainState) -> None:
        if state.loss is None:
            return
        self.pending.append((state.batch_index, state.loss))
        every = self.check_every or (1 if state.loss.device.type == "cpu" else GPU_CHECK_EVERY)
        last = state.batches_per_epoch is not None and state.batch_index + 1 >= state.batches_per_epoch
        if len(self.pending) >= every or last:
            self._check(state)

    def _check(self, state: TrainState) -> None:
        pending, self.pending = self.pending, []
        # One wait for the device; then plain floats, which cost the CPU's every-batch check least.
        losses = torch.stack([loss.float() for _, loss in pending]).tolist()
        first = next((index for index, loss in enumerate(losses) if not math.isfinite(loss)), None)
        if first is not None:
            state.diverged = True
            state.stop(
                f"the training loss became {losses[first]} at epoch {state.epoch + 1}, "
                f"batch {pending[first][0] + 1}; lower optim.lr or set train.grad_clip_norm"
            )
