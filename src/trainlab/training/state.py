"""TrainState: everything that defines where a training run is, and what a checkpoint saves."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from trainlab.training.callbacks.base import Callback


@dataclass
class TrainState:
    """What callbacks see. They read it, write epoch results into `logs`, and stop training by
    setting `should_stop` (with a `stop_reason` for the user)."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    max_epochs: int
    steps_per_epoch: int  # optimizer steps, after gradient accumulation
    callbacks: list[Callback] = field(default_factory=list)
    scaler: torch.amp.GradScaler | None = None  # fp16 on CUDA only

    epoch: int = 0  # epochs completed; during an epoch, the 0-based index of the current one
    step: int = 0  # optimizer steps completed
    batch_index: int = 0  # within the current epoch
    batches_per_epoch: int | None = None  # training batches an epoch holds (None: not known yet)
    loss: torch.Tensor | None = None  # of the last batch, detached
    logs: dict[str, Any] = field(default_factory=dict)  # results of the current epoch
    history: list[dict[str, Any]] = field(default_factory=list)  # logs of every completed epoch

    should_stop: bool = False
    stop_reason: str | None = None
    diverged: bool = False  # the loss became NaN or infinite

    @property
    def total_steps(self) -> int:
        return self.max_epochs * self.steps_per_epoch

    def stop(self, reason: str) -> None:
        self.should_stop = True
        self.stop_reason = reason
