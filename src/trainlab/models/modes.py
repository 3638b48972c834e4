"""Switching a model to eval (or train) mode for one block and back.

Evaluation, prediction, probes and summaries all need the model in eval mode (no dropout, running
BatchNorm statistics) while the caller may be in the middle of training. `evaluating` is the one
place that saves and restores the mode, so that the caller's mode comes back even when the block
raises, which a hand-written `model.eval()` ... `model.train(was_training)` easily forgets.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def evaluating(model: nn.Module, training: bool = False) -> Iterator[nn.Module]:
    """Put `model` in eval mode (train mode with `training=True`) for the block, then back in the
    mode it was in, whether the block ends normally or raises.

    As `model.train(mode)` does, the mode is set on every submodule, and on exit every submodule
    takes the model's previous mode. Yields the model.
    """
    was_training = model.training
    model.train(training)
    try:
        yield model
    finally:
        model.train(was_training)
