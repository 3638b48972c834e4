"""Time series loading: the real CSVs, bad input, missing values, chronological splits, builtins."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trainlab
from trainlab.config import SeriesDataConfig
from trainlab.data.series import SeriesSplits, TimeSeries, chronological_split
from trainlab.data.series_csv import load_series_csv
from trainlab.data.series_sources import load_series_source
from trainlab.errors import TrainlabError


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def daily_series(steps: int) -> TimeSeries:
    times = pd.date_range("2020-01-01", periods=steps, freq="D")
    values = np.arange(steps, dtype=np.float32)[:, None]
    return TimeSeries("ramp", times, values, None, ["y"], [], "D")


# The real files: each loads with column options only, its frequency found.
SHARED_CSVS = [
    ("airline_passengers/airline-passengers.csv", {}, ["Passengers"], "MS"),
    ("sunspots_monthly/monthly-sunspots.csv", {}, ["Sunspots"], "MS"),
    ("melbourne_daily_min_temp/daily-min-temperatures.csv", {}, ["Temp"], "D"),
    ("etth1/ETTh1.csv", {"target": "OT"}, ["OT"], "h"),
]


@pytest.mark.parametrize(("relative", "options", "targets", "frequency"), SHARED_CSVS)
def test_shared_csvs_load_with_column_options_only(
    shared_data, relative, options, targets, frequency
):
    path = shared_data / relative
    series = load_series_csv(path, **options)
    table = pd.read_csv(path)
    assert series.name == path.name
    assert series.frequency == frequency
    assert series.target_names == targets and series.covariates is None
    assert len(series) == len(table) and series.values.shape == (len(table), 1)
    assert series.values.dtype == np.float32
    np.testing.assert_array_equal(series.values[:, 0], table[targets[0]].to_numpy(np.float32))
    np.testing.assert_array_equal(series.times, pd.to_datetime(table.iloc[:, 0]))
    assert series.missing_filled == 0


def test_melbourne_temperatures_skip_two_new_years_eves(shared_data, capsys):
    path = shared_data / "melbourne_daily_min_temp" / "daily-min-temperatures.csv"
    table = pd.read_csv(path, parse_dates=["Date"], index_col="Date")
    absent = pd.date_range(table.index[0], table.index[-1], freq="D").difference(table.index)
    assert list(absent.strftime("%Y-%m-%d")) == ["1984-12-31", "1988-12-31"]  # why pandas says None

    series = load_series_csv(path)
    assert series.frequency == "D" and len(series) == 3650
    assert (
        "2 time steps absent from the daily grid (D) (first 1984-12-31)" in capsys.readouterr().err
    )

    filled = load_series_csv(path, missing="interpolate")
    assert len(filled) == 3652 and filled.missing_filled == 2
    for day in absent:
        neighbours = table["Temp"][[day - pd.Timedelta(days=1), day + pd.Timedelta(days=1)]]
        assert filled.values[filled.times.get_loc(day), 0] == pytest.approx(neighbours.mean())


def test_etth1_with_several_targets_and_covariates(shared_data):
    path = shared_data / "etth1" / "ETTh1.csv"
    series = load_series_csv(path, target=["HUFL", "OT"], covariates=["MUFL", "LUFL"])
    table = pd.read_csv(path)
    assert series.frequency == "h"
    assert series.target_names == ["HUFL", "OT"] and series.covariate_names == ["MUFL", "LUFL"]
    np.testing.assert_array_equal(series.values, table[["HUFL", "OT"]].to_numpy(np.float32))
    np.testing.assert_array_equal(series.covariates, table[["MUFL", "LUFL"]].to_numpy(np.float32))


def test_airline_summary_line(shared_data):
    source = shared_data / "airline_passengers" / "airline-passengers.csv"
    splits = load_series_source(SeriesDataConfig(source=str(source)))
    assert splits.summary() == (
        "airline-passengers.csv: train 101, val 14, test 29 monthly steps (MS) 1949-01..1960-12; "
        "target Passengers"
    )


def test_chronological_split_is_contiguous_and_in_time_order():
    series = daily_series(144)
    splits = chronological_split(series, val_fraction=0.1, test_fraction=0.2)
    # round(144 * 0.2) = 29 test steps, round(144 * 0.1) = 14 validation steps, the rest trains.
    assert (len(splits.train), len(splits.val), len(splits.test)) == (101, 14, 29)
    joined = np.concatenate([splits.train.values, splits.val.values, splits.test.values])
    np.testing.assert_array_equal(joined, series.values)
    assert (
        splits.train.times[-1] < splits.val.times[0] and splits.val.times[-1] < splits.test.times[0]
    )
    np.testing.assert_array_equal(splits.val_history.values, series.values[:101])
    np.testing.assert_array_equal(splits.test_history.values, series.values[:115])

    no_val = chronological_split(series, val_fraction=0.0, test_fraction=0.25)
    assert no_val.val is None and no_val.val_history is None
    assert (len(no_val.train), len(no_val.test)) == (108, 36)


def test_limit_keeps_the_first_steps_of_each_split_and_whole_histories():
    splits = chronological_split(daily_series(100), val_fraction=0.2, test_fraction=0.2).limited(5)
    assert [part.values[:, 0].tolist() for part in (splits.train, splits.val, splits.test)] == [
        [0, 1, 2, 3, 4], [60, 61, 62, 63, 64], [80, 81, 82, 83, 84]
    ]  # fmt: skip
    assert len(splits.test_history) == 80  # the real steps before the test split, untouched


def test_too_short_a_series_to_split():
    with pytest.raises(TrainlabError) as error:
        chronological_split(daily_series(2), val_fraction=0.1, test_fraction=0.2)
    assert str(error.value) == (
        "ramp: 2 time steps are too few to split into train, val (0.1) and test (0.2); "
        "give a longer series or data.test=PATH"
    )


def monthly_csv(folder: Path, name: str, start: str, values: list[float]) -> Path:
    months = pd.date_range(start, periods=len(values), freq="MS").strftime("%Y-%m")
    lines = ["Month,Passengers"] + [f"{month},{value}" for month, value in zip(months, values)]
    return write(folder, name, "\n".join(lines) + "\n")


def test_a_separate_test_file_follows_the_training_file(tmp_path):
    train = monthly_csv(tmp_path, "train.csv", "2000-01", list(range(40)))
    test = monthly_csv(tmp_path, "test.csv", "2003-05", list(range(40, 52)))
    splits = load_series_source(SeriesDataConfig(source=str(train), test=str(test), val_fraction=0.1))
    assert (len(splits.train), len(splits.val), len(splits.test)) == (36, 4, 12)
    assert splits.test.values[:, 0].tolist() == list(range(40, 52))
    np.testing.assert_array_equal(splits.test_history.values[:, 0], np.arange(40))
    np.testing.assert_array_equal(splits.val_history.values[:, 0], np.arange(36))


def test_a_test_file_that_overlaps_the_training_file_is_refused(tmp_path):
    train = monthly_csv(tmp_path, "train.csv", "2000-01", list(range(40)))
    test = monthly_csv(tmp_path, "test.csv", "2003-01", list(range(12)))
    with pytest.raises(TrainlabError) as error:
        load_series_source(SeriesDataConfig(source=str(train), test=str(test)))
    assert str(error.value) == (
        "data.test (test.csv) starts at 2003-01-01 00:00:00, before the data it should follow ends "
        "(2003-04-01 00:00:00); the splits must follow each other in time (train, val, test)"
    )


def test_a_validation_file_needs_a_test_file(tmp_path):
    train = monthly_csv(tmp_path, "train.csv", "2000-01", list(range(40)))
    val = monthly_csv(tmp_path, "val.csv", "2003-05", list(range(6)))
    with pytest.raises(TrainlabError, match="data.val needs data.test too"):
        load_series_source(SeriesDataConfig(source=str(train), val=str(val)))


# Bad input: one line naming the file and what to do.


def error_of(path: Path, **options) -> str:
    with pytest.raises(TrainlabError) as error:
        load_series_csv(path, **options)
    return str(error.value)


def test_empty_file(tmp_path):
    path = write(tmp_path, "empty.csv", "")
    assert error_of(path) == (
        f"{path}: the file is empty; expected a header row, then one row per time step"
    )
    header_only = write(tmp_path, "header.csv", "date,value\n")
    assert error_of(header_only) == (
        f"{header_only}: no rows under the header; expected one row per time step"
    )


def test_missing_column_lists_the_columns(tmp_path):
    path = write(tmp_path, "s.csv", "date,load,temp\n2020-01-01,1,2\n2020-01-02,3,4\n")
    assert error_of(path, target="lod") == (
        f"{path}: no column 'lod'; columns are date, load, temp (set data.target=)"
    )
    assert error_of(path, time_column="time", target="load") == (
        f"{path}: no column 'time'; columns are date, load, temp (set data.time_column=)"
    )
    assert error_of(path, target="load", covariates=["tmp"]) == (
        f"{path}: no column 'tmp'; columns are date, load, temp (set data.covariates=)"
    )


def test_several_numeric_columns_need_a_target(tmp_path):
    path = write(tmp_path, "s.csv", "date,load,temp\n2020-01-01,1,2\n2020-01-02,3,4\n")
    assert error_of(path) == (
        f"{path}: several numeric columns (load, temp); "
        f"choose the target(s) with data.target= (e.g. data.target=temp)"
    )
    # A covariate is not a candidate target.
    assert load_series_csv(path, covariates=["temp"]).target_names == ["load"]


def test_time_column_that_does_not_parse(tmp_path):
    path = write(tmp_path, "s.csv", "date,value\n2020-01-01,1\n2020-01-02,2\nsoon,3\n")
    assert error_of(path) == (
        f"{path}: time column 'date' has 'soon' at row 3, not a date/time; "
        f"fix the value, or name the time column with data.time_column="
    )


def test_a_time_column_of_words_gives_the_error_and_no_library_warning(tmp_path):
    # pandas warns "Could not infer format" before the real message, unless that is kept in.
    path = write(tmp_path, "s.csv", "when,value\nmonday,1\ntuesday,2\nsoon,3\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        message = error_of(path)
    assert [str(warning.message) for warning in caught] == []
    assert message.startswith(f"{path}: time column 'when' has 'monday' at row 1")


def test_a_bad_year_is_shown_as_written(tmp_path):
    path = write(tmp_path, "s.csv", "year,flow\n1871,1120\n1872,1160\n99999999,963\n")
    assert error_of(path) == (
        f"{path}: time column 'year' has '99999999' at row 3, not a date/time; "
        f"fix the value, or name the time column with data.time_column="
    )


def test_integer_years_are_years(tmp_path):
    path = write(tmp_path, "s.csv", "year,flow\n1871,1120\n1872,1160\n1873,963\n")
    series = load_series_csv(path)
    assert list(series.times.year) == [1871, 1872, 1873] and series.frequency.startswith("YS")


def test_non_numeric_target(tmp_path):
    path = write(tmp_path, "s.csv", "date,value\n2020-01-01,1\n2020-01-02,high\n2020-01-03,2\n")
    assert error_of(path, target="value") == (
        f"{path}: column 'value' is not numeric ('high' at 2020-01-02); "
        f"choose numeric columns with data.target= / data.covariates="
    )


def test_duplicate_timestamps(tmp_path):
    path = write(tmp_path, "s.csv", "date,value\n2020-01-01,1\n2020-01-02,2\n2020-01-02,3\n")
    assert error_of(path) == (
        f"{path}: duplicate timestamp 2020-01-02 in 'date' (1 repeated row); "
        f"each time step must appear once (aggregate them first)"
    )


def test_unsorted_rows_are_sorted(tmp_path, capsys):
    path = write(tmp_path, "s.csv", "date,value\n2020-01-03,3\n2020-01-01,1\n2020-01-02,2\n")
    series = load_series_csv(path)
    assert series.values[:, 0].tolist() == [1, 2, 3] and series.frequency == "D"
    assert f"{path}: rows were not in time order; sorted them by 'date'" in capsys.readouterr().err


GAPPY = (
    "date,value\n2020-01-01,\n2020-01-02,1\n2020-01-03,\n2020-01-04,\n2020-01-05,7\n2020-01-06,\n"
)


def test_missing_values_are_an_error_by_default(tmp_path):
    path = write(tmp_path, "s.csv", GAPPY)
    assert error_of(path) == (
        f"{path}: column 'value' has 4 missing values, the first at 2020-01-01; "
        f"set data.missing=interpolate or data.missing=ffill to fill them"
    )


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        # Linear between observations, the first observation held before it, the last after it.
        ("interpolate", [1, 1, 3, 5, 7, 7]),
        ("ffill", [1, 1, 1, 1, 7, 7]),  # a leading gap takes the first value: nothing comes before
    ],
)
def test_missing_value_policies(tmp_path, policy, expected):
    path = write(tmp_path, "s.csv", GAPPY)
    series = load_series_csv(path, missing=policy)
    assert series.values[:, 0].tolist() == expected and series.missing_filled == 4
    values = pd.read_csv(path, parse_dates=["date"], index_col="date")["value"]
    reference = values.interpolate(method="time") if policy == "interpolate" else values.ffill()
    # pandas leaves the leading gap empty; everything after it must agree.
    np.testing.assert_allclose(series.values[1:, 0], reference.to_numpy()[1:])


def test_interpolation_is_linear_in_time_not_in_rows(tmp_path):
    # 01:00 is a quarter of the way from 00:00 to 04:00: 0 + (40 - 0) / 4 = 10, not the midpoint 20.
    text = "t,v\n2020-01-01 00:00,0\n2020-01-01 01:00,\n2020-01-01 04:00,40\n2020-01-01 05:00,50\n"
    series = load_series_csv(write(tmp_path, "s.csv", text), missing="interpolate")
    assert series.values[:, 0].tolist() == [0, 10, 40, 50] and series.frequency is None


# 20 daily steps split 14 / 3 / 3: train 0-13, validation 14-16, test 17-19. Gaps: the last two
# training steps (12, 13), the first validation step (14), the last validation step (16), and
# test step 18.
SPLIT_GAPS = {12, 13, 14, 16, 18}


def gappy_ramp(tmp_path, value_at=lambda step: float(step * step)) -> Path:
    rows = [f"2020-01-{step + 1:02d},{'' if step in SPLIT_GAPS else value_at(step)}" for step in range(20)]
    return write(tmp_path, "gappy.csv", "date,value\n" + "\n".join(rows) + "\n")


def split_gappy(path: Path, policy: str) -> SeriesSplits:
    config = SeriesDataConfig(source=str(path), missing=policy, val_fraction=0.15, test_fraction=0.15)
    return load_series_source(config)


@pytest.mark.parametrize("policy", ["interpolate", "ffill"])
def test_filling_a_gap_never_reads_a_later_split(tmp_path, policy):
    """The issue's test: no value of a split (nor of the history before it) changes when a value of
    a later split does; gaps are filled after the split, each part from itself and earlier parts."""
    splits = split_gappy(gappy_ramp(tmp_path), policy)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (14, 3, 3)
    changed_val = split_gappy(gappy_ramp(tmp_path, lambda step: 1000.0 if step == 15 else step * step), policy)
    changed_test = split_gappy(gappy_ramp(tmp_path, lambda step: -5.0 if step >= 17 else step * step), policy)
    np.testing.assert_array_equal(changed_val.train.values, splits.train.values)
    np.testing.assert_array_equal(changed_test.train.values, splits.train.values)
    np.testing.assert_array_equal(changed_test.val.values, splits.val.values)
    np.testing.assert_array_equal(changed_test.test_history.values, splits.test_history.values)
    assert not np.isnan(splits.test_history.values).any()
    # By hand. The training part ends in a gap: its last value (11^2 = 121) is carried on, under
    # either policy. Validation step 14 lies between the filled 121 (step 13) and 225 (step 15);
    # validation ends in a gap too, so 225 is carried to step 16.
    train, val, test = (part.values[:, 0].tolist() for part in (splits.train, splits.val, splits.test))
    assert train[11:] == [121, 121, 121]
    if policy == "interpolate":
        assert val == [173, 225, 225] and test == [289, 325, 361]
    else:
        assert val == [121, 225, 225] and test == [289, 289, 361]


# Builtins: statsmodels' bundled series, offline; airline passengers from the download cache.


def test_sunspots_and_nile_builtins_match_statsmodels():
    from statsmodels.datasets import nile, sunspots

    for name, dataset, column in (("sunspots", sunspots, "SUNACTIVITY"), ("nile", nile, "volume")):
        reference = dataset.load_pandas().data
        splits = load_series_source(SeriesDataConfig(source=name, val_fraction=0.0, test_fraction=0.25))
        values = np.concatenate([splits.train.values, splits.test.values])[:, 0]
        np.testing.assert_array_equal(values, reference[column].to_numpy(np.float32))
        assert splits.train.frequency == "YS-JAN" and splits.train.target_names == [column]
        assert splits.train.times[0].year == int(reference.iloc[0, 0])


def test_co2_builtin_is_monthly_means_with_empty_months_interpolated(capsys):
    from statsmodels.datasets import co2

    weekly = co2.load_pandas().data["co2"]
    monthly = weekly.resample("MS").mean()
    assert monthly.isna().sum() == 5

    splits = load_series_source(SeriesDataConfig(source="co2", val_fraction=0.0, test_fraction=0.1))
    assert splits.train.frequency == "MS" and splits.train.missing_filled == 5
    assert "co2: filled 5 missing values by time interpolation" in capsys.readouterr().err
    values = np.concatenate([splits.train.values, splits.test.values])[:, 0]
    np.testing.assert_allclose(values, monthly.interpolate(method="time").to_numpy(), rtol=1e-6)

    carried = load_series_source(SeriesDataConfig(source="co2", missing="ffill", test_fraction=0.1))
    june_1958 = carried.train.times.get_loc(pd.Timestamp("1958-06-01"))
    assert carried.train.values[june_1958, 0] == np.float32(monthly["1958-05-01"])


def test_a_builtin_of_another_task_is_refused():
    with pytest.raises(TrainlabError) as error:
        load_series_source(SeriesDataConfig(source="digits"))
    assert str(error.value) == "--data digits is a image-classification dataset, not a forecast one"


@pytest.mark.skipif(
    not (Path(trainlab.__file__).parent / "data" / "download.py").is_file(),
    reason="trainlab.data.download is not written yet",
)
def test_airline_builtin_reads_the_cached_download(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINLAB_CACHE", str(tmp_path))
    original = shared_data / "airline_passengers" / "airline-passengers.csv"
    (tmp_path / "airline-passengers").mkdir()
    shutil.copy(original, tmp_path / "airline-passengers" / "airline-passengers.csv")
    splits = load_series_source(SeriesDataConfig(source="airline-passengers", limit=10))
    assert isinstance(splits, SeriesSplits) and splits.name == "airline-passengers"
    passengers = pd.read_csv(original)["Passengers"].to_numpy(np.float32)
    np.testing.assert_array_equal(splits.train.values[:, 0], passengers[:10])
    np.testing.assert_array_equal(splits.test.values[:, 0], passengers[115:125])
