"""Calendar inputs for forecasting: the hour of day, day of week, day of year or month of each step,
each as the sine and cosine of its angle on its cycle (23:00 lies next to 00:00, December next to
January), added to a series' covariates. Darts calls these datetime attributes.

`data.calendar=auto` (the default) picks them from the spacing of the steps and the window: a
network that reads a 24-step window of daily temperatures cannot see last year, but the day of year
tells it the season. (The rule, "the cycles the window does not hold twice", was set on the issue's
hourly and daily series over 2-3 seeds: benchmarks/README.md.)
The attributes a run used are written to its info, so that `evaluate` and `forecast` compute the
same inputs from their own times, and an old run (without the key) reads none.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from trainlab.errors import TrainlabError

if TYPE_CHECKING:
    import pandas as pd

    from trainlab.data.series import SeriesSplits, TimeSeries

# attribute -> (what the summary calls it, the length of its cycle)
ATTRIBUTES = {
    "hour": ("hour of day", 24.0),
    "dayofweek": ("day of week", 7.0),
    "dayofyear": ("day of year", 365.25),
    "month": ("month", 12.0),
}

_DAY = 86_400.0  # seconds
_CYCLE_SECONDS = {"hour": _DAY, "dayofweek": 7 * _DAY, "dayofyear": 365.25 * _DAY, "month": 365.25 * _DAY}


def auto_attributes(times: Any, window: int) -> tuple[list[str], str]:
    """The attributes `data.calendar=auto` adds for steps at `times` read through `window`-step
    windows, and the reason in words.

    Candidates by the spacing of the steps: hour of day and day of week for hourly or finer steps,
    day of week and day of year for daily ones, day of year for weekly ones, month for monthly or
    quarterly ones. Of those, the ones the window does not hold twice: a cycle the network sees
    repeat in every window it reads needs no calendar to be placed. Steps without timestamps
    (`data.time_column=none`) and yearly steps get none."""
    if not hasattr(times, "tz") or len(times) < 2:  # a DatetimeIndex has a tz
        return [], "no timestamps"
    step = float(np.median((times[1:] - times[:-1]).total_seconds()))
    if step < _DAY:
        candidates = ["hour", "dayofweek"]
    elif step <= 3 * _DAY:  # daily, or business days across weekends
        candidates = ["dayofweek", "dayofyear"]
    elif step <= 8 * _DAY:
        candidates = ["dayofyear"]
    elif step <= 93 * _DAY:
        candidates = ["month"]
    else:
        return [], "steps a year or longer"
    cycles = {name: round(_CYCLE_SECONDS[name] / step) for name in candidates}
    unseen = [name for name in candidates if 2 * cycles[name] > window]
    return unseen, ", ".join(f"{ATTRIBUTES[name][0]}: a cycle of {cycles[name]} steps, which the window of "
                             f"{window} {'does not hold' if name in unseen else 'holds'} twice"
                             for name in candidates)


def resolve_attributes(setting: str | list[str], times: Any, window: int) -> tuple[list[str], str | None]:
    """`data.calendar` (auto, none, or a list of attribute names) as attributes, with the data
    summary's line (None when there is nothing to say)."""
    if setting == "none" or setting == []:
        return [], None
    if setting == "auto":
        attributes, reason = auto_attributes(times, window)
        added = describe(attributes) if attributes else "none"
        return attributes, f"calendar inputs: {added} ({reason}; data.calendar=auto)"
    names = [setting] if isinstance(setting, str) else list(setting)
    unknown = next((name for name in names if name not in ATTRIBUTES), None)
    if unknown is not None:
        raise TrainlabError(f"data.calendar: unknown attribute '{unknown}'; use auto, none or a list of "
                            f"{', '.join(ATTRIBUTES)}, e.g. data.calendar=[hour,dayofweek]")
    if not hasattr(times, "tz"):
        raise TrainlabError(f"data.calendar={names}: the series has no timestamps (data.time_column=none); "
                            f"name its time column or set data.calendar=none")
    return names, f"calendar inputs: {describe(names)} (data.calendar)"


def describe(attributes: list[str]) -> str:
    return ", ".join(ATTRIBUTES[name][0] for name in attributes) + " (sine and cosine of each)"


def feature_names(attributes: list[str]) -> list[str]:
    return [f"{name}_{part}" for name in attributes for part in ("sin", "cos")]


def input_covariates(info: dict[str, Any]) -> list[str]:
    """The covariate columns a forecast run's network reads, as its info records them: the data's
    covariates, then the calendar features (an old run's info has no `calendar`)."""
    return [*(info.get("covariates") or []), *feature_names(info.get("calendar") or [])]


def calendar_features(times: pd.DatetimeIndex, attributes: list[str]) -> np.ndarray:
    """(len(times), 2 * len(attributes)) float32: sin and cos of each attribute's angle."""
    columns = []
    for name in attributes:
        position = _position(times, name)
        angle = 2 * np.pi * position / ATTRIBUTES[name][1]
        columns += [np.sin(angle), np.cos(angle)]
    return np.stack(columns, axis=1).astype(np.float32) if columns else np.zeros((len(times), 0), np.float32)


def _position(times: pd.DatetimeIndex, name: str) -> np.ndarray:
    """Where each time lies on the attribute's cycle, in its units (fractions within a unit)."""
    hours = np.asarray(times.hour + times.minute / 60 + times.second / 3600, dtype=np.float64)
    if name == "hour":
        return hours
    if name == "dayofweek":
        return np.asarray(times.day_of_week, dtype=np.float64) + hours / 24
    if name == "dayofyear":
        return np.asarray(times.day_of_year - 1, dtype=np.float64) + hours / 24
    return np.asarray(times.month - 1, dtype=np.float64) + np.asarray(times.day - 1) / np.asarray(times.days_in_month)


def with_calendar(series: TimeSeries, attributes: list[str]) -> TimeSeries:
    """`series` with the calendar features of its times appended to its covariates."""
    if not attributes:
        return series
    features = calendar_features(series.times, attributes)
    covariates = features if series.covariates is None else np.concatenate([series.covariates, features], axis=1)
    return dataclasses.replace(series, covariates=covariates,
                               covariate_names=[*series.covariate_names, *feature_names(attributes)])


def splits_with_calendar(splits: SeriesSplits, attributes: list[str]) -> SeriesSplits:
    """Every part and history of `splits` with its calendar features."""
    if not attributes:
        return splits
    parts = {field: getattr(splits, field) for field in ("train", "val", "test", "val_history", "test_history")}
    return dataclasses.replace(splits, **{field: None if part is None else with_calendar(part, attributes)
                                          for field, part in parts.items()})
