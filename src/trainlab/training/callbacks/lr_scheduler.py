"""Set the learning rate before every step from a schedule; reduce it on plateaus."""

from __future__ import annotations

from typing import Any, Literal

from trainlab.config import ScheduleConfig
from trainlab.training.callbacks.base import MonitorCallback
from trainlab.training.schedules import scheduled_lr
from trainlab.training.state import TrainState


class LearningRateScheduler(MonitorCallback):
    """Sets each parameter group's lr to `scheduled_lr(step)` times the plateau factor.

    The plateau factor only moves for `schedule.name == 'plateau'`: it is multiplied by
    `schedule.factor` after `schedule.patience` epochs without improvement of `monitor`
    (like torch's ReduceLROnPlateau with threshold 0).

    Args:
        reference_lr: the configured rate (`optim.lr`); a group starting at a share of it (a
            discriminative rate) has its cosine floor scaled by that share. None: the largest
            group's starting rate.
    """

    order = 5

    def __init__(
        self, schedule: ScheduleConfig, monitor: str = "val_loss", mode: Literal["min", "max"] = "min",
        reference_lr: float | None = None,
    ):
        self.schedule = schedule
        self.reference_lr = reference_lr
        self.plateau_factor = 1.0
        self.base_lrs: list[float] = []
        super().__init__(monitor, mode)

    def reset(self) -> None:
        super().reset()
        self.plateau_factor = 1.0

    def on_fit_start(self, state: TrainState) -> None:
        super().on_fit_start(state)
        self.base_lrs = [group.setdefault("initial_lr", group["lr"]) for group in state.optimizer.param_groups]

    def on_batch_start(self, state: TrainState) -> None:
        reference = self.reference_lr or max(self.base_lrs)
        for group, base_lr in zip(state.optimizer.param_groups, self.base_lrs):
            lr = scheduled_lr(self.schedule, base_lr, state.step, state.steps_per_epoch, state.total_steps,
                              lr_scale=base_lr / reference)
            group["lr"] = lr * self.plateau_factor

    def on_epoch_end(self, state: TrainState) -> None:
        if self.schedule.name != "plateau" or state.diverged:
            return
        value = self.current(state.logs)
        if value is not None and not self.update(value, state.epoch) and self.wait > self.schedule.patience:
            self.plateau_factor *= self.schedule.factor
            self.wait = 0

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "plateau_factor": self.plateau_factor}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self.plateau_factor = state_dict["plateau_factor"]
