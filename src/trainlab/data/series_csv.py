"""Reading a time series from a CSV file or a data frame, with the checks users need.

The time column must parse as dates (integer years count), timestamps must be unique, rows are put
in time order, the frequency is detected, and missing values follow a policy: `error` (default),
`interpolate` (linear in time) or `ffill`, with the count filled reported. A series that will be
split is read with `fill=False`: its gaps stay empty until each split is filled from itself and the
splits before it (`TimeSeries.filled`), so no training value is ever filled from validation.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from trainlab.data.series import TimeSeries, fill_gaps, filling_note, step_word
from trainlab.errors import TrainlabError
from trainlab.runs import say

MissingPolicy = Literal["error", "interpolate", "ffill"]


def _grid_name(frequency: str) -> str:
    """The grid's name in messages: "daily grid (D)", "grid of 15min steps"."""
    word = step_word(frequency)
    return f"{word} grid ({frequency})" if word else f"grid of {frequency} steps"


def _when(time: pd.Timestamp) -> str:
    """A timestamp as people write it: the date alone at midnight; a step number as such."""
    if not isinstance(time, pd.Timestamp):
        return f"step {time}"
    return str(time.date()) if time == time.normalize() else str(time)


def load_series_csv(
    path: str | Path,
    time_column: str | Sequence[str] | None = None,
    target: str | Sequence[str] | None = None,
    covariates: Sequence[str] = (),
    missing: MissingPolicy = "error",
    encoding: str = "utf-8",
    fill: bool = True,
) -> TimeSeries:
    """Read a CSV (or .tsv) time series: one time column, one or more target columns, covariates.

    Args:
        time_column: the column of dates/times; None: the first column; a list of columns holding
            a timestamp's parts (year, month, day, hour, minute, second) assembles it; "none": no
            time column, the rows are consecutive steps numbered from 0.
        target: the column(s) to forecast; None: the only numeric column besides time and covariates.
        covariates: extra numeric input columns (past values only are fed to a model).
        missing: what to do with empty values: "error", "interpolate" (linear in time) or "ffill";
            with the last two, time steps absent from a regular grid are inserted and filled too.
        fill: False: leave the empty values (NaN) for the split to fill part by part.
    """
    path = Path(path)
    if not path.is_file():
        raise TrainlabError(
            f"{path}: no such file; give a CSV with a time column and value columns"
        )
    separator = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        frame = pd.read_csv(path, sep=separator, encoding=encoding)
    except pd.errors.EmptyDataError:
        raise TrainlabError(
            f"{path}: the file is empty; expected a header row, then one row per time step"
        )
    except UnicodeDecodeError:
        raise TrainlabError(
            f"{path}: not {encoding} text; set data.encoding= (e.g. latin-1)"
        ) from None
    except pd.errors.ParserError as error:
        reason = str(error).strip().splitlines()[-1]
        raise TrainlabError(f"{path}: not a valid CSV ({reason})") from None
    return series_from_frame(frame, path.name, str(path), time_column, target, covariates, missing, fill)


def series_from_frame(
    frame: pd.DataFrame,
    name: str,
    source: str,
    time_column: str | Sequence[str] | None = None,
    target: str | Sequence[str] | None = None,
    covariates: Sequence[str] = (),
    missing: MissingPolicy = "error",
    fill: bool = True,
) -> TimeSeries:
    """Validate a table with a time column into a TimeSeries; `source` names it in messages.
    With `fill=False` empty values stay NaN, and the series remembers the policy that fills them."""
    if frame.empty:
        raise TrainlabError(f"{source}: no rows under the header; expected one row per time step")
    time_column = frame.columns[0] if time_column is None else time_column
    no_time = time_column == "none"  # rows are consecutive steps, numbered from 0
    assembled = isinstance(time_column, (list, tuple))
    time_columns = [] if no_time else list(time_column) if assembled else [time_column]
    target_names = _target_names(frame, source, time_columns, target, list(covariates))
    covariate_names = list(covariates)
    for column in [*time_columns, *target_names, *covariate_names]:
        if column not in frame.columns:
            raise TrainlabError(
                f"{source}: no column '{column}'; columns are {', '.join(map(str, frame.columns))}"
                f" (set {_option_of(column, time_columns, target_names)}=)"
            )
    used_for_time = next((column for column in time_columns if column in target_names + covariate_names), None)
    if used_for_time is not None:
        raise TrainlabError(
            f"{source}: column '{used_for_time}' is a time column; it cannot be a value"
        )
    overlap = set(target_names) & set(covariate_names)
    if overlap:
        raise TrainlabError(f"{source}: column '{min(overlap)}' is both a target and a covariate")
    if no_time:
        times = pd.RangeIndex(len(frame), name="step")
    elif assembled:
        times = assemble_times(frame[time_columns], source)
    else:
        times = _parse_times(frame[time_column], source, time_column, frame.columns)
    time_column = "+".join(time_columns)  # how messages name it
    table = pd.DataFrame(
        {
            column: _numeric(frame[column], source, column, times)
            for column in target_names + covariate_names
        }
    )
    if no_time:
        table.index, frequency, grid = times, None, None
    else:
        table.index = pd.DatetimeIndex(times)
        table = _in_time_order(table, source, time_column)
        frequency, grid = _detect_frequency(table.index, source)
    table, empty = _apply_missing_policy(table, source, missing, frequency, grid)
    if empty and fill:
        table = fill_gaps(table, missing)
        say(f"{source}: {filling_note(empty, missing)}")
    targets = table[target_names].to_numpy(np.float32)
    covariate_values = table[covariate_names].to_numpy(np.float32) if covariate_names else None
    return TimeSeries(
        name,
        table.index,
        targets,
        covariate_values,
        target_names,
        covariate_names,
        frequency,
        empty,
        missing if empty and not fill else None,
    )


def _option_of(column: str, time_columns: list[str], target_names: list[str]) -> str:
    if column in time_columns:
        return "data.time_column"
    return "data.target" if column in target_names else "data.covariates"


def _target_names(
    frame: pd.DataFrame,
    source: str,
    time_columns: list[str],
    target: str | Sequence[str] | None,
    covariates: list,
) -> list[str]:
    if isinstance(target, str):
        return [target]
    if target is not None:
        return list(target)
    numeric = [
        str(column) for column in frame.columns
        if column not in time_columns and pd.api.types.is_numeric_dtype(frame[column])
    ]  # fmt: skip
    candidates = [column for column in numeric if column not in covariates]
    if len(candidates) == 1:
        return candidates
    if not candidates:
        besides = "', '".join(map(str, time_columns))
        raise TrainlabError(
            f"{source}: no numeric column to forecast besides '{besides}'"
            f"{' and the covariates' if covariates else ''}; name the target with data.target="
        )
    parts = [str(column) for column in frame.columns if str(column).strip().lower() in TIME_PARTS]
    assemble = (f"; if {', '.join(parts)} spell the time, assemble it with data.time_column=[{','.join(parts)}]"
                if {"year", "month"} <= {part.strip().lower() for part in parts} else "")
    raise TrainlabError(
        f"{source}: several numeric columns ({', '.join(candidates)}); "
        f"choose the target(s) with data.target= (e.g. data.target={candidates[-1]}){assemble}"
    )


# The parts a timestamp can be assembled from (pandas' names), as `data.time_column=[...]` lists them.
TIME_PARTS = ("year", "month", "day", "hour", "minute", "second")


def assemble_times(parts: pd.DataFrame, source: str) -> pd.DatetimeIndex:
    """Timestamps from columns holding their parts (year, month, day, hour, ...; names matched
    without regard to case); a missing day or month counts as the first."""
    names = {column: str(column).strip().lower() for column in parts.columns}
    unknown = [column for column, name in names.items() if name not in TIME_PARTS]
    if unknown or "year" not in names.values():
        raise TrainlabError(
            f"{source}: data.time_column={list(parts.columns)} must name columns called {', '.join(TIME_PARTS)} "
            f"(year at least){'; not ' + ', '.join(map(str, unknown)) if unknown else ''}"
        )
    values = parts.rename(columns=names).apply(pd.to_numeric, errors="coerce")
    for part in ("month", "day"):
        if part not in values:
            values[part] = 1
    times = pd.to_datetime(values[[part for part in TIME_PARTS if part in values]], errors="coerce")
    failed = np.flatnonzero(times.isna().to_numpy())
    if len(failed):
        row = failed[0]
        shown = ", ".join(f"{column}={parts.iloc[row][column]}" for column in parts.columns)
        raise TrainlabError(f"{source}: row {row + 1} ({shown}) is not a date/time; fix or remove the row")
    return pd.DatetimeIndex(times)


def _parse_times(column: pd.Series, source: str, name: str, columns: Sequence = ()) -> pd.DatetimeIndex:
    # Years such as 1949 arrive as integers, which pandas would read as nanoseconds since 1970.
    text = (
        column.astype(str).where(column.notna())
        if pd.api.types.is_numeric_dtype(column)
        else column
    )
    try:
        with warnings.catch_warnings():
            # "Could not infer format": pandas parses each value alone then, which is what we want;
            # a value that fails gets our own one-line message below, not a warning before it.
            warnings.simplefilter("ignore", UserWarning)
            times = pd.to_datetime(text, errors="coerce")
    except (ValueError, TypeError) as error:  # e.g. mixed time zones
        raise TrainlabError(
            f"{source}: time column '{name}' does not parse as dates ({error})"
        ) from None
    failed = np.flatnonzero(times.isna().to_numpy())
    if len(failed):
        row = failed[0]
        parts = [str(other) for other in columns if str(other).strip().lower() in TIME_PARTS]
        hint = (f", or assemble it from its parts with data.time_column=[{','.join(parts)}]"
                if {"year", "month"} <= {part.strip().lower() for part in parts} else "")
        raise TrainlabError(
            f"{source}: time column '{name}' has '{column.iloc[row]}' at row {row + 1}, not a date/time; "
            f"fix the value, or name the time column with data.time_column={hint}"
        )
    return pd.DatetimeIndex(times)


def _numeric(column: pd.Series, source: str, name: str, times: pd.DatetimeIndex) -> pd.Series:
    numbers = pd.to_numeric(column, errors="coerce")
    failed = np.flatnonzero((numbers.isna() & column.notna()).to_numpy())
    if len(failed):
        row = failed[0]
        raise TrainlabError(
            f"{source}: column '{name}' is not numeric ({column.iloc[row]!r} at {_when(times[row])}); "
            f"choose numeric columns with data.target= / data.covariates="
        )
    return numbers.astype(np.float64).reset_index(drop=True)


def _in_time_order(table: pd.DataFrame, source: str, time_column: str) -> pd.DataFrame:
    if not table.index.is_monotonic_increasing:
        say(f"{source}: rows were not in time order; sorted them by '{time_column}'")
        table = table.sort_index(kind="stable")
    duplicated = table.index.duplicated()
    if duplicated.any():
        repeats = int(duplicated.sum())
        raise TrainlabError(
            f"{source}: duplicate timestamp {_when(table.index[duplicated][0])} in '{time_column}' "
            f"({repeats} repeated row{'s' if repeats > 1 else ''}); each time step must appear once "
            f"(aggregate them first)"
        )
    return table


def _detect_frequency(
    times: pd.DatetimeIndex, source: str
) -> tuple[str | None, pd.DatetimeIndex | None]:
    """The offset alias of the times' regular grid and that grid, or (None, None) when irregular.

    pandas infers no frequency when a single step is absent (the daily Melbourne temperatures skip
    two New Year's Eves), so stretches of 25 steps are tried too, and their frequency is accepted
    when every time lies on its grid.
    """
    if len(times) < 3:
        return None, None
    exact = pd.DatetimeIndex(times, freq="infer").freq
    if exact is not None:
        return exact.freqstr, times
    for start in (0, len(times) // 2, max(len(times) - 25, 0)):
        stretch = times[start : start + 25]
        offset = pd.DatetimeIndex(stretch, freq="infer").freq if len(stretch) >= 3 else None
        if offset is None:
            continue
        grid = pd.date_range(times[0], times[-1], freq=offset)
        if times.isin(grid).all():
            return offset.freqstr, grid
    say(
        f"{source}: irregular time steps, no frequency detected; "
        f"consecutive rows are taken as consecutive steps"
    )
    return None, None


def _apply_missing_policy(
    table: pd.DataFrame,
    source: str,
    missing: MissingPolicy,
    frequency: str | None,
    grid: pd.DatetimeIndex | None,
) -> tuple[pd.DataFrame, int]:
    """Refuse empty values (policy "error"), or insert the time steps absent from the grid as
    empty rows; returns the table and its count of empty values, which the policy fills."""
    empty = table.isna()
    for column in table.columns:
        if empty[column].all():
            raise TrainlabError(f"{source}: column '{column}' has no values")
    absent = 0 if grid is None else len(grid) - len(table)
    if missing == "error":
        if empty.to_numpy().any():
            column = next(column for column in table.columns if empty[column].any())
            others = [
                str(other) for other in table.columns if other != column and empty[other].any()
            ]
            also = f" (and in {', '.join(others)})" if others else ""
            raise TrainlabError(
                f"{source}: column '{column}' has {int(empty[column].sum())} missing values{also}, the "
                f"first at {_when(table.index[empty[column].to_numpy()][0])}; "
                f"set data.missing=interpolate or data.missing=ffill to fill them"
            )
        if absent:
            first = grid.difference(table.index)[0]
            say(
                f"{source}: {absent} time steps absent from the {_grid_name(frequency)} "
                f"(first {_when(first)}); "
                f"kept as they are (data.missing=interpolate or ffill inserts and fills them)"
            )
        return table, 0
    if absent:
        table = table.reindex(grid)
        say(f"{source}: {absent} time steps absent from the {_grid_name(frequency)} inserted, to be filled")
    return table, int(table.isna().to_numpy().sum())
