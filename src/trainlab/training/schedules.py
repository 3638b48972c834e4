"""Learning-rate schedules as pure functions of the optimizer step (like nanoGPT's get_lr).

Periods in the config are in epochs; `steps_per_epoch` converts them. The plateau schedule depends
on validation results, so it lives in the LearningRateScheduler callback instead.
"""

from __future__ import annotations

import bisect
import math

from trainlab.config import ScheduleConfig


def scheduled_lr(
    schedule: ScheduleConfig, base_lr: float, step: int, steps_per_epoch: int, total_steps: int,
    lr_scale: float = 1.0,
) -> float:
    """The learning rate for optimizer step `step` (0-based) of `total_steps`.

    Args:
        lr_scale: the share of the configured rate this parameter group starts at (discriminative
            fine-tuning rates): the cosine floor `min_lr` is scaled alike, so that a group whose
            rate starts below the floor is not annealed up to it.
    """
    if schedule.name == "onecycle":
        return _one_cycle(schedule, base_lr, step, total_steps)
    warmup_steps = round(schedule.warmup_epochs * steps_per_epoch)
    warmup = min(1.0, (step + 1) / warmup_steps) if warmup_steps else 1.0
    epoch = step // steps_per_epoch
    if schedule.name in ("constant", "plateau"):
        return base_lr * warmup
    if schedule.name == "step":
        return base_lr * warmup * schedule.gamma ** (epoch // schedule.step_size)
    if schedule.name == "multistep":
        passed = bisect.bisect_right(sorted(schedule.milestones), epoch)
        return base_lr * warmup * schedule.gamma**passed
    if schedule.name == "cosine":
        if step < warmup_steps:
            return base_lr * warmup
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return _cosine_between(base_lr, schedule.min_lr * lr_scale, progress)
    raise ValueError(f"unknown schedule '{schedule.name}'")


def _cosine_between(start: float, end: float, progress: float) -> float:
    """From `start` (progress 0) to `end` (progress 1) along half a cosine."""
    return end + (start - end) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def _one_cycle(schedule: ScheduleConfig, max_lr: float, step: int, total_steps: int) -> float:
    """Smith's one-cycle policy with cosine annealing, as torch's OneCycleLR computes it."""
    initial_lr = max_lr / schedule.div_factor
    final_lr = initial_lr / schedule.final_div_factor
    peak_step = schedule.pct_start * total_steps - 1
    if step <= peak_step:
        return _cosine_between(initial_lr, max_lr, step / peak_step if peak_step > 0 else 1.0)
    return _cosine_between(max_lr, final_lr, (step - peak_step) / (total_steps - 1 - peak_step))
