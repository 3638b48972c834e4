"""Stop at the first NaN or infinite loss, before it spreads into a checkpoint."""

from __future__ import annotations

import math

from trainlab.training.callbacks.base import Callback
from trainlab.training.state import TrainState


class NaNGuard(Callback):
    """Flags the run as diverged and stops it when a batch loss is not finite.

    Checkpointing skips diverged epochs, so the last checkpoint keeps the last good weights.
    """

    order = -10

    def on_batch_end(self, state: TrainState) -> None:
        loss = state.loss.item() if state.loss is not None else 0.0  # one sync, cheap on CPU
        if not math.isfinite(loss):
            state.diverged = True
            state.stop(
                f"the training loss became {loss} at epoch {state.epoch + 1}, "
                f"batch {state.batch_index + 1}; lower optim.lr or set train.grad_clip_norm"
            )
