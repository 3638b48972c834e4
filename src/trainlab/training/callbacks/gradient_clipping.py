"""Clip gradients by global norm or by value before each optimizer step."""

from __future__ import annotations

from torch.nn.utils import clip_grad_norm_, clip_grad_value_

from trainlab.training.callbacks.base import Callback
from trainlab.training.state import TrainState


class GradientClipping(Callback):
    """Rescale the gradients to a global L2 norm of at most `max_norm` and/or clamp each element
    to [-max_value, max_value]. Under fp16 the trainer unscales gradients before this runs."""

    def __init__(self, max_norm: float | None = None, max_value: float | None = None):
        if max_norm is None and max_value is None:
            raise ValueError("GradientClipping needs max_norm or max_value")
        for name, limit in (("max_norm", max_norm), ("max_value", max_value)):
            if limit is not None and limit <= 0:
                raise ValueError(f"{name} must be > 0, got {limit}")
        self.max_norm = max_norm
        self.max_value = max_value

    def after_backward(self, state: TrainState) -> None:
        parameters = [p for p in state.model.parameters() if p.grad is not None]
        if self.max_value is not None:
            clip_grad_value_(parameters, self.max_value)
        if self.max_norm is not None:
            clip_grad_norm_(parameters, self.max_norm)
