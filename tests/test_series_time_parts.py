"""A timestamp spread over several columns: `data.time_column=[year,month,day,hour]` assembles it,
and the error for an unparsable single column suggests doing so."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainlab.config import build_config
from trainlab.data.series_csv import load_series_csv
from trainlab.errors import TrainlabError
from trainlab.pipelines import build_pipeline


def hourly_parts(path, steps: int = 96):
    times = pd.date_range("2021-12-31 20:00", periods=steps, freq="h")  # across a year's end
    load = 10 + np.sin(2 * np.pi * np.arange(steps) / 24) + np.random.default_rng(0).normal(0, 0.1, steps)
    frame = pd.DataFrame({"Year": times.year, "month": times.month, "day": times.day, "hour": times.hour,
                          "load": load.round(4)})
    frame.to_csv(path, index=False)
    return times, load


def test_parts_assemble_into_the_timestamps_they_spell(tmp_path):
    times, load = hourly_parts(tmp_path / "parts.csv")
    series = load_series_csv(tmp_path / "parts.csv", ["Year", "month", "day", "hour"])
    pd.testing.assert_index_equal(series.times, pd.DatetimeIndex(times), check_names=False, check_freq=False)
    assert series.frequency == "h" and series.target_names == ["load"]  # the parts are not targets
    np.testing.assert_allclose(series.values[:, 0], load.round(4), rtol=1e-6)


def test_a_run_reads_the_option_from_the_config(tmp_path):
    hourly_parts(tmp_path / "parts.csv", steps=200)
    config = build_config({"task": "forecast", "data": {"source": str(tmp_path / "parts.csv"),
                                                        "time_column": ["Year", "month", "day", "hour"]}})
    assert build_pipeline(config).period == 24  # hourly steps: the calendar's daily season


def test_monthly_data_needs_no_day(tmp_path):
    pd.DataFrame({"year": [2020, 2020, 2020], "month": [1, 2, 3], "sales": [1.0, 2.0, 3.0]}).to_csv(
        tmp_path / "monthly.csv", index=False)
    series = load_series_csv(tmp_path / "monthly.csv", ["year", "month"])
    assert list(series.times) == list(pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01"]))


def test_the_errors_say_what_to_write(tmp_path):
    hourly_parts(tmp_path / "parts.csv")
    # The first column alone is no timestamp: the error suggests assembling it from the parts.
    frame = pd.read_csv(tmp_path / "parts.csv")
    frame["Year"] = frame["Year"].astype(str) + "y"
    frame.to_csv(tmp_path / "odd.csv", index=False)
    with pytest.raises(TrainlabError, match=r"assemble it from its parts with data.time_column=\[Year,month,day,hour\]"):
        load_series_csv(tmp_path / "odd.csv", None, "load")
    with pytest.raises(TrainlabError, match=r"if Year, month, day, hour spell the time, assemble it with "
                                            r"data.time_column=\[Year,month,day,hour\]"):
        load_series_csv(tmp_path / "parts.csv")  # a new user's first try: no options
    with pytest.raises(TrainlabError, match=r"must name columns called year, month, day, hour, minute, second"):
        load_series_csv(tmp_path / "parts.csv", ["Year", "load"], "hour")
    broken = pd.read_csv(tmp_path / "parts.csv")
    broken.loc[5, "month"] = 13
    broken.to_csv(tmp_path / "broken.csv", index=False)
    with pytest.raises(TrainlabError, match=r"row 6 \(Year=2022, month=13, day=1, hour=1\) is not a date/time"):
        load_series_csv(tmp_path / "broken.csv", ["Year", "month", "day", "hour"])


def no_time_column(path, steps: int = 240, period: int = 12):
    """A seasonal series with no time column at all: a header and one value per row."""
    rng = np.random.default_rng(1)
    values = 50 + 10 * np.sin(2 * np.pi * np.arange(steps) / period) + rng.normal(0, 1, steps)
    pd.DataFrame({"value": values.round(3)}).to_csv(path, index=False)
    return values


def test_without_a_time_column_rows_are_steps_and_the_season_comes_from_the_autocorrelation(tmp_path):
    values = no_time_column(tmp_path / "plain.csv")
    series = load_series_csv(tmp_path / "plain.csv", "none")
    assert list(series.times[:3]) == [0, 1, 2] and series.frequency is None
    np.testing.assert_allclose(series.values[:, 0], values.round(3), rtol=1e-6)
    config = build_config({"task": "forecast", "data": {"source": str(tmp_path / "plain.csv"), "time_column": "none"}})
    pipeline = build_pipeline(config)
    assert pipeline.period == 12  # detected: no calendar to ask
    assert "train 168, val 24, test 48 steps 0..239 (no time column); target value" in pipeline.summary()


def test_a_run_without_a_time_column_trains_forecasts_and_evaluates(tmp_path, trainlab):
    no_time_column(tmp_path / "plain.csv")
    run_dir = tmp_path / "run"
    code, _, err = trainlab("train", "forecast", "--data", tmp_path / "plain.csv", "--out", run_dir, "--quiet",
                            "data.time_column=none", "train.epochs=1", "model.hidden_size=8")
    assert code == 0, err
    code, out, err = trainlab("forecast", run_dir, "--horizon", "3", "--out", tmp_path / "next.csv")
    assert code == 0, err
    future = pd.read_csv(tmp_path / "next.csv")
    assert list(future.iloc[:, 0]) == [1, 2, 3]  # steps after the last row
    code, out, err = trainlab("evaluate", run_dir, "--data", tmp_path / "plain.csv")
    assert code == 0, err
    assert "test_mase" in out  # the file's own test part, backtested as the run did


def test_gaps_in_a_series_without_time_are_filled_along_the_steps(tmp_path):
    pd.DataFrame({"value": [1.0, None, 3.0, 4.0, None, None, 7.0]}).to_csv(tmp_path / "gaps.csv", index=False)
    with pytest.raises(TrainlabError, match="has 3 missing values, the first at step 1; set data.missing=interpolate"):
        load_series_csv(tmp_path / "gaps.csv", "none")
    filled = load_series_csv(tmp_path / "gaps.csv", "none", missing="interpolate")
    np.testing.assert_allclose(filled.values[:, 0], [1, 2, 3, 4, 5, 6, 7])
