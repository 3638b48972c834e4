"""The learning-rate range test (Smith 2017, section 3.3; fastai's `lr_find`).

Train for a few hundred steps while the learning rate grows exponentially from `start_lr` to
`end_lr`, record the training loss of every step, and stop once the loss has clearly diverged. The
loss is smoothed by a bias-corrected exponential moving average, and a learning rate is suggested
from the smoothed curve by a documented rule:

- "steepest" (default): the rate where the smoothed loss falls fastest, i.e. the most negative
  slope d(loss)/d(log lr), looked for before the loss reaches its minimum. Training is fast there
  and still well short of the rates where it blows up.
- "minimum": a tenth of the rate with the lowest smoothed loss (fastai v1's rule of thumb): the
  minimum itself is already at the edge of instability.

The model's weights and buffers, the optimizer's state and learning rates, the model's train/eval
mode and torch's global random state are restored afterwards, so that training after the test
starts exactly as it would have without it.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from trainlab.models.modes import evaluating
from trainlab.training.tasks import Task

Rule = Literal["steepest", "minimum"]
RULES = ("steepest", "minimum")


@dataclass(frozen=True)
class LRFinderResult:
    """Learning rates tried, the loss at each, its smoothed curve and the suggestion."""

    lrs: list[float]
    losses: list[float]
    smoothed_losses: list[float]
    suggested_lr: float | None  # None when the curve never falls
    rule: str
    diverged: bool  # the sweep stopped early because the loss blew up

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def lr_range_test(
    model: nn.Module,
    task: Task,
    optimizer: torch.optim.Optimizer,
    batches: Iterable,
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    smoothing: float = 0.98,
    diverge_factor: float = 4.0,
    rule: Rule = "steepest",
    device: torch.device | str | None = None,
) -> LRFinderResult:
    """Sweep the learning rate exponentially over `num_steps` optimizer steps; restore everything.

    Args:
        task: a training task (training/tasks.py): `task.forward(model, batch, training=True)`
            returns (loss, outputs, targets).
        batches: training batches, cycled if there are fewer than `num_steps`.
        smoothing: the moving average's weight on the past (0 keeps the raw loss).
        diverge_factor: stop once the smoothed loss exceeds this multiple of its minimum.
        device: where batches go; by default the model's device.
    Returns:
        the sweep and the suggested learning rate (by `rule`, see the module docstring).
    """
    if not 0 < start_lr < end_lr:
        raise ValueError(f"need 0 < start_lr < end_lr (got {start_lr}, {end_lr})")
    if num_steps < 2:
        raise ValueError(f"num_steps must be >= 2, got {num_steps}")
    if not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}, got {rule!r}")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    saved_model = copy.deepcopy(model.state_dict())
    saved_optimizer = copy.deepcopy(optimizer.state_dict())
    saved_rng = torch.get_rng_state()
    # Groups keep their ratios (discriminative learning rates); the first group follows the sweep.
    base = optimizer.param_groups[0]["lr"] or 1.0
    ratios = [group["lr"] / base for group in optimizer.param_groups]
    growth = (end_lr / start_lr) ** (1 / (num_steps - 1))
    lrs, losses, smoothed = [], [], []
    average, best, diverged = 0.0, math.inf, False
    try:
        with evaluating(model, training=True):
            step = 0
            while step < num_steps:
                for batch in batches:
                    lr = start_lr * growth**step
                    for group, ratio in zip(optimizer.param_groups, ratios):
                        group["lr"] = lr * ratio
                    batch = tuple(tensor.to(device) for tensor in batch)
                    loss, _, _ = task.forward(model, batch, training=True)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    value = float(loss.detach())
                    average = smoothing * average + (1 - smoothing) * value
                    current = average / (1 - smoothing ** (step + 1))  # bias-corrected
                    lrs.append(lr)
                    losses.append(value)
                    smoothed.append(current)
                    step += 1
                    if not math.isfinite(current) or current > diverge_factor * best:
                        diverged = True
                        break
                    best = min(best, current)
                    if step >= num_steps:
                        break
                if diverged:
                    break
                if not lrs:
                    raise ValueError("`batches` yielded no batch")
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
        optimizer.zero_grad(set_to_none=True)
        torch.set_rng_state(saved_rng)
    return LRFinderResult(lrs, losses, smoothed, suggest_lr(lrs, smoothed, rule), rule, diverged)


def suggest_lr(lrs: list[float], smoothed_losses: list[float], rule: Rule = "steepest") -> float | None:
    """The learning rate `rule` picks from a smoothed loss curve (see the module docstring).

    The last points of a diverged sweep and non-finite losses are ignored; None when fewer than
    three usable points remain or the loss never falls.
    """
    lrs_array = np.asarray(lrs, dtype=np.float64)
    loss_array = np.asarray(smoothed_losses, dtype=np.float64)
    finite = np.isfinite(loss_array)
    lrs_array, loss_array = lrs_array[finite], loss_array[finite]
    if len(loss_array) < 3:
        return None
    lowest = int(np.argmin(loss_array))
    if rule == "minimum":
        return float(lrs_array[lowest] / 10) if lowest > 0 else None
    if lowest < 2:
        return None
    # Slope against log(lr) up to the minimum; central differences inside, one-sided at the ends.
    slopes = np.gradient(loss_array[: lowest + 1], np.log(lrs_array[: lowest + 1]))
    steepest = int(np.argmin(slopes))
    return float(lrs_array[steepest]) if slopes[steepest] < 0 else None
