"""The search space of a sweep: one parameter per dotted config key, parsed and checked up front.

A space is declared in the config file's `sweep.space` section, keyed by the same dotted keys as
`trainlab train` overrides:

    optim.lr: {type: log-float, low: 1.0e-4, high: 1.0e-2}
    model.hidden_size: {type: choice, values: [64, 128]}
    train.epochs: {type: int, low: 2, high: 6}
    model.dropout: {type: float, low: 0.0, high: 0.5}
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import yaml

from trainlab.config import apply_overrides, build_config
from trainlab.errors import TrainlabError

KINDS = ("float", "log-float", "int", "choice")
EXAMPLE = "e.g. optim.lr: {type: log-float, low: 1.0e-4, high: 1.0e-2}"
# The settings each kind takes besides `type`.
SETTINGS = {"float": ("low", "high", "step"), "log-float": ("low", "high"),
            "int": ("low", "high", "step"), "choice": ("values",)}


@dataclass(frozen=True)
class SearchParameter:
    """One dimension of the search: a config key and the values it may take."""

    key: str  # a dotted config key, e.g. 'optim.lr'
    kind: str  # one of KINDS
    low: float | None = None
    high: float | None = None
    step: float | None = None  # float/int: the grid spacing (int: 1 unless given)
    values: tuple[Any, ...] = ()  # choice

    def suggest(self, trial: Any) -> Any:
        """Ask an Optuna trial for this parameter's value; returns the value the config takes."""
        if self.kind == "choice":
            label = trial.suggest_categorical(self.key, list(self.labels))
            return self.values[self.labels.index(label)]
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high), step=int(self.step or 1))
        return trial.suggest_float(self.key, self.low, self.high, step=self.step, log=self.kind == "log-float")

    @property
    def labels(self) -> tuple[Any, ...]:
        """The choices as Optuna stores them: scalars as they are, lists and mappings as YAML text
        (Optuna's categorical values must be None, bool, int, float or str)."""
        return tuple(value if _is_scalar(value) else _yaml_text(value) for value in self.values)

    def config_value(self, stored: Any) -> Any:
        """The config value of a value Optuna stored for this parameter."""
        return self.values[self.labels.index(stored)] if self.kind == "choice" else stored

    def grid_values(self) -> list[Any]:
        """Every value grid search tries (as Optuna stores them)."""
        if self.kind == "choice":
            return list(self.labels)
        if self.kind == "int":
            return list(range(int(self.low), int(self.high) + 1, int(self.step or 1)))
        if self.kind == "float" and self.step is not None:
            count = math.floor((self.high - self.low) / self.step + 1e-9) + 1
            return [self.low + index * self.step for index in range(count)]
        how = "{type: float, low: ..., high: ..., step: ...}" if self.kind == "float" else "{type: choice, values: [...]}"
        raise TrainlabError(
            f"sweep.space.{self.key}: grid search needs a finite set of values, and a {self.kind} "
            f"range has none; declare it as {how} or use sweep.sampler: tpe"
        )

    def candidates(self) -> list[Any]:
        """Values that bound what the parameter can take, to check against the config up front."""
        if self.kind == "choice":
            return list(self.values)
        if self.kind == "int":
            return [int(self.low), int(self.high)]
        return [self.low, self.high]

    def to_dict(self) -> dict[str, Any]:
        declared: dict[str, Any] = {"type": self.kind}
        if self.kind == "choice":
            declared["values"] = list(self.values)
        else:
            declared.update({"low": self.low, "high": self.high})
            if self.step is not None:
                declared["step"] = self.step
        return declared


def parse_space(raw: Any, base: dict[str, Any]) -> list[SearchParameter]:
    """Validate `sweep.space` and check each key and its extreme values against the `base` config.

    Raises:
        TrainlabError: one line naming the parameter and what is wrong with it.
    """
    if not isinstance(raw, dict) or not raw:
        raise TrainlabError(f"sweep.space must map config keys to their ranges ({EXAMPLE})")
    space = [_parse_parameter(str(key), declared) for key, declared in raw.items()]
    for parameter in space:
        for value in parameter.candidates():
            try:
                build_config(apply_overrides(base, [(parameter.key, value)]))
            except TrainlabError as error:
                raise TrainlabError(f"sweep.space.{parameter.key} = {value!r}: {error}") from None
    return space


def _parse_parameter(key: str, declared: Any) -> SearchParameter:
    where = f"sweep.space.{key}"
    if not isinstance(declared, dict) or "type" not in declared:
        raise TrainlabError(f"{where}: expected a mapping with a type ({', '.join(KINDS)}), "
                            f"got {declared!r}; {EXAMPLE}")
    kind = declared["type"]
    if kind not in KINDS:
        raise TrainlabError(f"{where}: type {kind!r} is not one of {', '.join(KINDS)}")
    unknown = sorted(set(declared) - {"type", *SETTINGS[kind]})
    if unknown:
        raise TrainlabError(f"{where}: '{unknown[0]}' is not a setting of a {kind} parameter "
                            f"(it takes {', '.join(SETTINGS[kind])})")
    if kind == "choice":
        values = declared.get("values")
        if not isinstance(values, list) or not values:
            raise TrainlabError(f"{where}: a choice needs a non-empty list of values, "
                                f"e.g. {{type: choice, values: [64, 128]}}")
        labels = [value if _is_scalar(value) else _yaml_text(value) for value in values]
        if len(set(map(repr, labels))) != len(labels):
            raise TrainlabError(f"{where}: the values {values!r} repeat one another")
        return SearchParameter(key, kind, values=tuple(values))
    low, high, step = (declared.get(name) for name in ("low", "high", "step"))
    numbers = (int,) if kind == "int" else (int, float)
    for name, value in (("low", low), ("high", high)):
        if not isinstance(value, numbers) or isinstance(value, bool):
            what = "a whole number" if kind == "int" else "a number"
            raise TrainlabError(f"{where}: {name} must be {what}, got {value!r}")
    if step is not None and (not isinstance(step, numbers) or isinstance(step, bool) or step <= 0):
        raise TrainlabError(f"{where}: step must be a positive {'whole ' if kind == 'int' else ''}number, got {step!r}")
    if not low < high:
        raise TrainlabError(f"{where}: low must be below high (got low={low}, high={high})")
    if kind == "log-float" and low <= 0:
        raise TrainlabError(f"{where}: a log-float range needs low > 0 (got low={low}); use type: float for ranges that include 0")
    if kind == "float":
        return SearchParameter(key, kind, float(low), float(high), None if step is None else float(step))
    if kind == "log-float":
        return SearchParameter(key, kind, float(low), float(high))
    return SearchParameter(key, kind, low, high, step)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def _yaml_text(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip()
