"""Time series for `--data`: a CSV path (with `data.val` / `data.test` files) or a builtin series."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from trainlab import registry
from trainlab.config import DataConfig
from trainlab.data.download import fetch, resources_of
from trainlab.data.series import SeriesSplits, TimeSeries, assemble_series_splits
from trainlab.data.sources import builtin_splits

# Every dataset lookup registers these builtins, an image run's too, so pandas (which the CSV reader
# needs) is imported only where a series is read.
if TYPE_CHECKING:
    import pandas as pd

    from trainlab.data.series_csv import MissingPolicy


def load_series_source(data: DataConfig) -> SeriesSplits:
    """A builtin forecasting dataset by name, or `data.source` as a CSV (with data.val / data.test)."""
    from trainlab.data.series_csv import load_series_csv

    builtin = builtin_splits("forecast", data, f"CSV files; {data.source} is split in time order")
    if builtin is not None:
        return builtin

    def read(path: str, target: str | list[str] | None) -> TimeSeries:
        return load_series_csv(
            path, data.time_column, target, data.covariates, data.missing, data.encoding, fill=False
        )

    series = read(data.source, data.target)
    # The other files must have the target columns found in the first one.
    val = read(data.val, series.target_names) if data.val is not None else None
    test = read(data.test, series.target_names) if data.test is not None else None
    return assemble_series_splits(series, data, val, test)


def _builtin(
    frame: pd.DataFrame, name: str, data: DataConfig, missing: MissingPolicy | None = None
) -> SeriesSplits:
    from trainlab.data.series_csv import series_from_frame

    series = series_from_frame(
        frame, name, name, frame.columns[0], data.target, data.covariates, missing or data.missing,
        fill=False,
    )
    return assemble_series_splits(series, data)


def _yearly(frame: pd.DataFrame, year_column: str) -> pd.DataFrame:
    """statsmodels stores years as floats (1700.0); make them dates."""
    import pandas as pd

    years = frame[year_column].astype(int).astype(str)
    return frame.assign(**{year_column: pd.to_datetime(years, format="%Y")})


@registry.datasets.register(
    "sunspots",
    "yearly sunspot activity, 1700-2008, 309 steps (statsmodels, offline)",
    task="forecast",
)
def sunspots(data: DataConfig) -> SeriesSplits:
    from statsmodels.datasets import sunspots as dataset  # slow to import: only when asked for

    return _builtin(_yearly(dataset.load_pandas().data, "YEAR"), "sunspots", data)


@registry.datasets.register(
    "nile",
    "yearly Nile flow at Aswan, 1871-1970, 100 steps (statsmodels, offline)",
    task="forecast",
)
def nile(data: DataConfig) -> SeriesSplits:
    from statsmodels.datasets import nile as dataset

    return _builtin(_yearly(dataset.load_pandas().data, "year"), "nile", data)


@registry.datasets.register(
    "co2",
    "monthly mean CO2 at Mauna Loa, 1958-2001, 526 steps (statsmodels, offline)",
    task="forecast",
)
def co2(data: DataConfig) -> SeriesSplits:
    """statsmodels' weekly readings as monthly means, as its documentation does.

    Five months have no reading at all; they are interpolated in time (after the split, each split
    from itself and the ones before it) even under the default data.missing=error, since the gaps
    are known and the builtin should just work (data.missing=ffill carries the previous month
    instead).
    """
    from statsmodels.datasets import co2 as dataset

    monthly = dataset.load_pandas().data["co2"].resample("MS").mean()
    frame = monthly.rename_axis("month").reset_index()
    return _builtin(frame, "co2", data, "interpolate" if data.missing == "error" else data.missing)


@registry.datasets.register(
    "airline-passengers",
    "monthly airline passengers, 1949-1960, 144 steps (downloaded once)",
    task="forecast",
)
def airline_passengers(data: DataConfig) -> SeriesSplits:
    from trainlab.data.series_csv import load_series_csv

    path = fetch(resources_of("airline-passengers")[0])
    series = load_series_csv(
        path, "Month", data.target, data.covariates, data.missing, data.encoding, fill=False
    )
    return assemble_series_splits(dataclasses.replace(series, name="airline-passengers"), data)
