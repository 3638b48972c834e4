"""The `sweep:` section of a config file: what to optimise, how to search and prune, and the space.

    sweep:
      metric: val_accuracy        # default: train.monitor
      direction: maximize         # default: the direction train.monitor improves in
      sampler: tpe                # tpe (default), random or grid
      pruner: median              # median (default) or none
      space:
        optim.lr: {type: log-float, low: 1.0e-4, high: 1.0e-2}
        model.hidden_size: {type: choice, values: [64, 128]}

Everything outside `sweep:` is an ordinary `trainlab train` config, shared by every trial.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import NonNegativeInt

from trainlab.config import Section, TrainConfig, apply_overrides, build_config, validate_section
from trainlab.errors import TrainlabError
from trainlab.sweeps.space import SearchParameter, parse_space


class SweepSection(Section):
    metric: str | None = None  # a validation metric logged every epoch; None: train.monitor
    direction: Literal["minimize", "maximize"] | None = None  # None: the metric's natural one
    sampler: Literal["tpe", "random", "grid"] = "tpe"
    pruner: Literal["median", "none"] = "median"
    pruner_startup_trials: NonNegativeInt = 5  # completed trials before any trial is pruned
    pruner_warmup_epochs: NonNegativeInt = 1  # epochs of each trial before it can be pruned
    seed: int | None = None  # the sampler's seed; None: run.seed
    space: dict[str, Any]


@dataclass(frozen=True)
class SweepSettings:
    """A validated sweep: the config shared by every trial plus how to vary it."""

    base: dict[str, Any]  # plain config data without `sweep:`; each trial overrides it
    metric: str
    direction: Literal["minimize", "maximize"]
    sampler: str
    pruner: str
    pruner_startup_trials: int
    pruner_warmup_epochs: int
    seed: int
    space: tuple[SearchParameter, ...]

    def trial_config(self, values: dict[str, Any]) -> dict[str, Any]:
        """Plain config data of one trial: the base with the trial's values set."""
        return apply_overrides(self.base, list(values.items()))

    def declaration(self) -> dict[str, Any]:
        """What defines the search, stored with the study so that a resumed sweep can be checked."""
        return {
            "metric": self.metric, "direction": self.direction, "sampler": self.sampler,
            "space": {parameter.key: parameter.to_dict() for parameter in self.space},
        }


def parse_sweep(raw: dict[str, Any]) -> SweepSettings:
    """Split a config file's data into the shared config and the validated sweep settings."""
    base = {key: value for key, value in raw.items() if key != "sweep"}
    if "sweep" not in raw:
        raise TrainlabError(
            "the config has no sweep section: add `sweep: {space: {optim.lr: {type: log-float, "
            "low: 1.0e-4, high: 1.0e-2}}}` (see trainlab sweep --help)"
        )
    if not isinstance(raw["sweep"], dict):
        raise TrainlabError(f"sweep must be a section (a mapping), got {raw['sweep']!r}")
    section: SweepSection = validate_section(SweepSection, raw["sweep"], prefix="sweep.")
    config = build_config(base)  # the shared part alone must be a valid run config
    metric = section.metric or config.train.monitor
    if not metric.startswith("val_"):
        raise TrainlabError(
            f"sweep.metric '{metric}': trials are compared and pruned on a validation metric "
            "logged every epoch; set sweep.metric (or train.monitor) to one, e.g. val_loss"
        )
    if section.direction is not None:
        direction = section.direction
    else:
        mode = config.train.monitor_mode if metric == config.train.monitor else TrainConfig(monitor=metric).monitor_mode
        direction = "maximize" if mode == "max" else "minimize"
    space = tuple(parse_space(section.space, base))
    if section.sampler == "grid":
        for parameter in space:
            parameter.grid_values()  # a continuous range is an error now, not after the first trial
    return SweepSettings(
        base=base,
        metric=metric,
        direction=direction,
        sampler=section.sampler,
        pruner=section.pruner,
        pruner_startup_trials=section.pruner_startup_trials,
        pruner_warmup_epochs=section.pruner_warmup_epochs,
        seed=config.run.seed if section.seed is None else section.seed,
        space=space,
    )


def grid_size(settings: SweepSettings) -> int:
    size = 1
    for parameter in settings.space:
        size *= len(parameter.grid_values())
    return size

