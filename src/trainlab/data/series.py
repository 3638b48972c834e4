"""Time series data: CSV files and the builtin series, validated and split in time order.

A series is read into a `TimeSeries` (times, float32 targets and covariates), checked (dates parse,
no duplicate timestamps, a missing-value policy), and split chronologically into `SeriesSplits`:
validation and test are the last parts in time, never shuffled. Reading and checking CSV files
is `trainlab.data.series_csv`; the builtin series and `--data` are `trainlab.data.series_sources`. Each later split remembers the
steps before it (`val_history`, `test_history`) so that its first windows can reach back into them;
scaling and windowing happen in `trainlab.data.windows`.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from trainlab.config import DataConfig
from trainlab.errors import TrainlabError

if TYPE_CHECKING:
    import pandas as pd
from trainlab.runs import say


@dataclass
class TimeSeries:
    """Targets (and optional covariates) observed at increasing, unique times."""

    name: str
    times: pd.DatetimeIndex
    values: np.ndarray  # (T, n_targets) float32
    covariates: np.ndarray | None  # (T, n_covariates) float32; None without covariates
    target_names: list[str]
    covariate_names: list[str]
    frequency: str | None  # pandas offset alias ("MS", "D", "h", ...); None: irregular steps
    missing_filled: int = 0  # empty values the missing-value policy fills (or filled)
    # The policy ("interpolate" or "ffill") that fills the empty (NaN) values still here when the
    # series is split; None: there are none.
    missing: str | None = None

    def __len__(self) -> int:
        return len(self.times)

    def part(self, start: int, stop: int) -> TimeSeries:
        """Steps `start` to `stop` (exclusive); the arrays are views, not copies."""
        covariates = None if self.covariates is None else self.covariates[start:stop]
        return dataclasses.replace(
            self,
            times=self.times[start:stop],
            values=self.values[start:stop],
            covariates=covariates,
        )

    def filled(self, before: TimeSeries | None = None) -> TimeSeries:
        """This series with its empty values filled by its policy from its own steps and the
        steps `before` it (already filled), never from anything after it: a gap at its end holds
        its last value, under either policy."""
        if self.missing is None:
            return self
        import pandas as pd  # imported when a series is read or filled, not with the forecast task

        own = _as_table(self)
        table = own if before is None else pd.concat([_as_table(before), own])
        table = fill_gaps(table, self.missing).iloc[len(table) - len(own):]
        still_empty = table.columns[table.isna().any()].tolist()
        if still_empty:
            raise TrainlabError(
                f"{self.name}: column '{still_empty[0]}' has no value in the training part to "
                f"fill its gaps from; give a series whose training part has values"
            )
        values = table.to_numpy(np.float32)
        width = self.values.shape[1]
        covariates = None if self.covariates is None else values[:, width:]
        return dataclasses.replace(self, values=values[:, :width], covariates=covariates, missing=None)

    def followed_by(self, later: TimeSeries) -> TimeSeries:
        """This series with the steps of `later` appended (e.g. the training part, then validation)."""
        covariates = None
        if self.covariates is not None and later.covariates is not None:
            covariates = np.concatenate([self.covariates, later.covariates])
        return dataclasses.replace(
            self,
            times=self.times.append(later.times),
            values=np.concatenate([self.values, later.values]),
            covariates=covariates,
        )


@dataclass
class SeriesSplits:
    """Train, validation and test parts of a series, in time order; `val` is None when not asked for.

    `val_history` and `test_history` are the steps just before those splits (training, then
    validation): the inputs of a split's first windows come from there, its targets never do.
    """

    name: str
    train: TimeSeries
    val: TimeSeries | None
    test: TimeSeries
    val_history: TimeSeries | None = None
    test_history: TimeSeries | None = None

    def limited(self, limit: int | None) -> SeriesSplits:
        """The first `limit` time steps of each split (quick trials); the histories stay whole."""
        if limit is None:
            return self
        val = None if self.val is None else self.val.part(0, limit)
        return dataclasses.replace(
            self, train=self.train.part(0, limit), val=val, test=self.test.part(0, limit)
        )

    def whole_until_test(self) -> TimeSeries:
        """The whole series up to the end of the test part, in time order."""
        history = self.test_history
        if history is None:
            history = self.train if self.val is None else self.train.followed_by(self.val)
        return history.followed_by(self.test)

    def summary(self) -> str:
        """One line: the lengths, the steps, the date range and the columns of the splits.

        E.g. "airline-passengers.csv: train 101, val 14, test 29 monthly steps (MS) 1949-01..1960-12;
        target Passengers".
        """
        sizes = [f"train {len(self.train)}"]
        if self.val is not None:
            sizes.append(f"val {len(self.val)}")
        sizes.append(f"test {len(self.test)}")
        frequency = self.train.frequency
        word = step_word(frequency) if frequency else "irregular"
        steps = f"{word} steps".strip() + (f" ({frequency})" if frequency else "")
        first, last = self.train.times[0], self.test.times[-1]
        if hasattr(first, "strftime"):  # timestamps, not step numbers
            date_format = _date_format(frequency, self.train.times.append(self.test.times))
            span = f"{first.strftime(date_format)}..{last.strftime(date_format)}"
        else:
            steps, span = "steps", f"{first}..{last} (no time column)"
        names = self.train.target_names
        line = (
            f"{self.name}: {', '.join(sizes)} {steps} {span}; "
            f"target{'s' if len(names) > 1 else ''} {', '.join(names)}"
        )
        if self.train.covariate_names:
            line += f"; covariates {', '.join(self.train.covariate_names)}"
        return line


def _as_table(series: TimeSeries) -> pd.DataFrame:
    """Targets then covariates as one frame over the series' times."""
    import pandas as pd

    columns = [series.values] if series.covariates is None else [series.values, series.covariates]
    return pd.DataFrame(np.concatenate(columns, axis=1).astype(np.float64), index=series.times)


def fill_gaps(table: pd.DataFrame, missing: str) -> pd.DataFrame:
    """The empty values of `table` filled by policy "interpolate" (linear in time between
    observations; the first value held before the first, the last after the last) or "ffill"
    (the last value carried forward; the first value before the first)."""
    if missing == "interpolate":  # linear in time, or in step number without a time column
        method = "time" if hasattr(table.index, "tz") else "index"  # a DatetimeIndex has a tz
        return table.interpolate(method=method, limit_direction="both")
    return table.ffill().bfill()  # bfill: nothing comes before a leading gap


def filling_note(count: int, missing: str) -> str:
    how = "time interpolation" if missing == "interpolate" else "carrying the last value forward"
    return f"filled {count} missing values by {how}"


def filled_in_time_order(splits: SeriesSplits) -> SeriesSplits:
    """Every split's gaps filled from itself and the splits before it only (train, then validation,
    then test), so that no value of a split depends on a later one; the histories follow."""
    parts = [part for part in (splits.train, splits.val, splits.test) if part is not None]
    policies = {part.missing for part in parts} - {None}
    if not policies:
        return splits
    empty = sum(int(_as_table(part).isna().to_numpy().sum()) for part in parts)
    train = splits.train.filled()
    val = None if splits.val is None else splits.val.filled(train)
    before_test = train if val is None else train.followed_by(val)
    test = splits.test.filled(before_test)
    say(f"{splits.name}: {filling_note(empty, policies.pop())}, each split from itself and the "
        f"splits before it")
    return dataclasses.replace(splits, train=train, val=val, test=test,
                               val_history=train if val is not None else None, test_history=before_test)


_STEP_WORDS = {
    "Y": "yearly", "YS": "yearly", "YE": "yearly", "A": "yearly", "AS": "yearly",
    "Q": "quarterly", "QS": "quarterly", "QE": "quarterly",
    "M": "monthly", "MS": "monthly", "ME": "monthly",
    "W": "weekly", "D": "daily", "B": "business-day",
    "h": "hourly", "H": "hourly", "min": "minutely", "T": "minutely", "s": "secondly", "S": "secondly",
}  # fmt: skip


def step_word(frequency: str) -> str:
    """The word for an alias: "monthly" for "MS", "weekly" for "W-SAT"; "" for multiples ("15min")."""
    match = re.fullmatch(r"([A-Za-z]+)(-.*)?", frequency)
    return _STEP_WORDS.get(match.group(1), "") if match else ""


def _date_format(frequency: str | None, times: pd.DatetimeIndex) -> str:
    word = step_word(frequency) if frequency else ""
    if word == "yearly":
        return "%Y"
    if word in ("monthly", "quarterly"):
        return "%Y-%m"
    return "%Y-%m-%d" if (times == times.normalize()).all() else "%Y-%m-%d %H:%M"


def chronological_split(
    series: TimeSeries, val_fraction: float, test_fraction: float
) -> SeriesSplits:
    """Train, then validation, then test, in time order: round(T * fraction) steps each, no shuffling;
    a series read with empty values (`fill=False`) has each split filled from itself and the
    splits before it."""
    steps = len(series)
    test_steps = round(steps * test_fraction)
    val_steps = round(steps * val_fraction)
    train_steps = steps - val_steps - test_steps
    if test_steps < 1 or train_steps < 1:
        raise TrainlabError(
            f"{series.name}: {steps} time steps are too few to split into train, val "
            f"({val_fraction}) and test ({test_fraction}); give a longer series or data.test=PATH"
        )
    train = series.part(0, train_steps)
    val = series.part(train_steps, train_steps + val_steps) if val_steps else None
    test = series.part(train_steps + val_steps, steps)
    return filled_in_time_order(SeriesSplits(
        series.name,
        train,
        val,
        test,
        val_history=train if val is not None else None,
        test_history=series.part(0, train_steps + val_steps),
    ))


def assemble_series_splits(
    series: TimeSeries,
    data: DataConfig,
    val: TimeSeries | None = None,
    test: TimeSeries | None = None,
) -> SeriesSplits:
    """Split off whatever was not given separately, check the parts follow each other, apply the limit.

    Without a separate test series, `data.test_fraction` and `data.val_fraction` are shares of
    all the steps; with one, `data.val_fraction` is a share of the training steps.
    """
    if val is not None and test is None:
        raise TrainlabError(
            "data.val needs data.test too: the validation steps must lie between the training "
            "and the test steps in time"
        )
    if test is None:
        return chronological_split(series, data.val_fraction, data.test_fraction).limited(
            data.limit
        )
    if val is None:
        train_steps = len(series) - round(len(series) * data.val_fraction)
        if train_steps < 1:
            raise TrainlabError(f"{series.name}: too few steps to split off a validation part")
        val = series.part(train_steps, len(series)) if train_steps < len(series) else None
        series = series.part(0, train_steps)
    else:
        _check_follows(series, val, "data.val")
    history = series if val is None else series.followed_by(val)
    _check_follows(history, test, "data.test")
    splits = SeriesSplits(
        series.name, series, val, test, series if val is not None else None, history
    )
    return filled_in_time_order(splits).limited(data.limit)


def _check_follows(earlier: TimeSeries, later: TimeSeries, option: str) -> None:
    end, start = earlier.times[-1], later.times[0]
    if start <= end:
        raise TrainlabError(
            f"{option} ({later.name}) starts at {start}, before the data it should follow ends "
            f"({end}); the splits must follow each other in time (train, val, test)"
        )
    if earlier.frequency and later.frequency and earlier.frequency != later.frequency:
        raise TrainlabError(
            f"{option} ({later.name}) has {later.frequency} steps but {earlier.name} has "
            f"{earlier.frequency} steps"
        )
    from pandas.tseries.frequencies import to_offset

    if earlier.frequency and start != end + to_offset(earlier.frequency):
        say(f"note: {option} ({later.name}) starts at {start}, not one step after {end}")
