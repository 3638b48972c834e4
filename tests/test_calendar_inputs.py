"""Calendar inputs (data.calendar): the sine and cosine of the hour of day, day of week, day of year
or month, which `auto` adds where the window does not hold their cycle twice; a run, its backtest and
`trainlab forecast` read the same features, computed from the times."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from trainlab import rundir
from trainlab.data.calendar import auto_attributes, calendar_features, input_covariates
from trainlab.data.windows import scaler_from_state
from trainlab.experiment import load_run_config, scored_checkpoint
from trainlab.forecasting.future import forecast_future
from trainlab.models import SeriesSpec, build_model
from trainlab.training.checkpoint import load_weights


def angle(position, cycle):
    return [np.sin(2 * np.pi * position / cycle), np.cos(2 * np.pi * position / cycle)]


def test_the_features_are_the_sine_and_cosine_of_the_position_on_each_cycle():
    # 2024-01-01 was a Monday; 2024 is a leap year, so 31 December is its 366th day.
    times = pd.DatetimeIndex(["2024-01-01 06:00", "2024-03-16 00:00", "2024-12-31 18:00"])
    features = calendar_features(times, ["hour", "dayofweek", "dayofyear", "month"])
    by_hand = np.array([
        angle(6, 24) + angle(0.25, 7) + angle(0.25, 365.25) + angle(0, 12),
        angle(0, 24) + angle(5, 7) + angle(31 + 29 + 15, 365.25) + angle(2 + 15 / 31, 12),
        angle(18, 24) + angle(1.75, 7) + angle(365.75, 365.25) + angle(11 + 30 / 31, 12),
    ])
    np.testing.assert_allclose(features, by_hand, atol=1e-6)
    assert features.dtype == np.float32


@pytest.mark.parametrize(("freq", "window", "expected"), [
    ("h", 24, ["hour", "dayofweek"]),  # a day fits in the window once, a week not at all
    ("h", 48, ["dayofweek"]),
    ("h", 400, []),
    ("D", 24, ["dayofyear"]),  # the window holds three weeks
    ("D", 13, ["dayofweek", "dayofyear"]),
    ("W-SUN", 24, ["dayofyear"]),
    ("MS", 24, []),
    ("MS", 23, ["month"]),
    ("YS", 2, []),
])
def test_auto_adds_the_cycles_the_window_does_not_hold_twice(freq, window, expected):
    assert auto_attributes(pd.date_range("2020-01-01", periods=50, freq=freq), window)[0] == expected


def test_steps_without_timestamps_get_no_calendar():
    assert auto_attributes(pd.RangeIndex(100), 24)[0] == []


def test_an_old_run_reads_no_calendar_inputs():
    assert input_covariates({"covariates": ["temp"]}) == ["temp"]
    assert input_covariates({"covariates": ["temp"], "calendar": ["hour"]}) == ["temp", "hour_sin", "hour_cos"]


def write_hourly_csv(folder):
    """Five weeks of hourly values with a daily cycle and higher weekends."""
    times = pd.date_range("2024-01-01", periods=24 * 35, freq="h")
    weekend = (times.day_of_week >= 5).astype(float)
    noise = np.random.default_rng(0).normal(0, 0.1, len(times))
    load = 10 + np.sin(2 * np.pi * times.hour / 24) + 3 * weekend + noise
    path = folder / "load.csv"
    pd.DataFrame({"time": times.strftime("%Y-%m-%d %H:%M"), "load": load.round(4)}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def hourly_run(tmp_path_factory):
    from trainlab.cli import main

    folder = tmp_path_factory.mktemp("calendar")
    csv = write_hourly_csv(folder)
    code = main(["train", "forecast", "--data", str(csv), "--out", str(folder / "run"), "--quiet",
                 "data.horizon=6", "train.epochs=1", "model.hidden_size=8"])
    assert code == 0
    return csv, folder / "run"


def network(run_dir):
    config = load_run_config(run_dir)
    model = build_model(config.model, SeriesSpec(5, 1, window=24, horizon=6), "forecast")
    load_weights(model, scored_checkpoint(run_dir, config))  # fails unless the run reads 5 inputs
    return model.eval()


def forecast_by_hand(model, info, values, times):
    """The network's forecast from the 24 steps before the end of `values`: the scaled load, then
    the scaled sine and cosine of the hour of day and the day of week of those steps."""
    targets = scaler_from_state(info["target_scaler"])
    covariates = scaler_from_state(info["covariate_scaler"])
    features = np.concatenate([targets.transform(values[-24:, None]),
                               covariates.transform(calendar_features(times[-24:], ["hour", "dayofweek"]))], axis=1)
    with torch.no_grad():
        scaled = model(torch.tensor(features, dtype=torch.float32)[None])[0].double().numpy()
    return targets.inverse_transform(scaled)[:, 0]


def test_an_hourly_run_reads_the_hour_and_day_of_week_and_its_backtest_forecasts_with_them(hourly_run):
    csv, run_dir = hourly_run
    info = rundir.read_json(run_dir / "data.json")
    assert info["calendar"] == ["hour", "dayofweek"] and info["covariates"] == []
    table = pd.read_csv(csv)
    values, times = table["load"].to_numpy(), pd.DatetimeIndex(table["time"])
    backtest = rundir.read_json(run_dir / "backtest.json")
    model = network(run_dir)
    for number, origin in enumerate(backtest["origins"][:3]):
        np.testing.assert_allclose(np.array(backtest["forecasts"]["model"][number])[:, 0],
                                   forecast_by_hand(model, info, values[:origin], times[:origin]), rtol=1e-5)


def test_forecasts_past_the_horizon_read_the_calendar_of_the_future_steps(hourly_run):
    csv, run_dir = hourly_run
    info = rundir.read_json(run_dir / "data.json")
    if rundir.read_json(run_dir / "metrics.json").get("chosen_model", "network") != "network":
        (run_dir / "metrics.json").write_text("{}")  # the network's forecast is what this test checks
    table = pd.read_csv(csv)
    values, times = table["load"].to_numpy(), pd.DatetimeIndex(table["time"])
    future = forecast_future(run_dir, horizon=9)
    model = network(run_dir)
    first = forecast_by_hand(model, info, values, times)
    later_times = times.append(pd.date_range(times[-1], periods=7, freq="h")[1:])
    then = forecast_by_hand(model, info, np.concatenate([values, first]), later_times)[:3]
    np.testing.assert_allclose(future["load"].to_numpy(), np.concatenate([first, then]), rtol=1e-5)


def test_evaluate_on_new_data_computes_the_calendar_from_its_times(trainlab, hourly_run, tmp_path):
    csv, run_dir = hourly_run
    table = pd.read_csv(csv).iloc[-(24 + 60) :]  # the last 84 hours, from 15:00 on a Monday
    path = tmp_path / "recent.csv"
    table.to_csv(path, index=False)
    code, out, err = trainlab("evaluate", run_dir, "--data", path)
    assert code == 0, err
    info = rundir.read_json(run_dir / "data.json")
    values, times = table["load"].to_numpy(np.float32).astype(np.float64), pd.DatetimeIndex(table["time"])
    model = network(run_dir)
    errors = [np.abs(forecast_by_hand(model, info, values[:origin], times[:origin]) - values[origin : origin + 6]).mean()
              for origin in range(24, len(values) - 6 + 1, 6)]
    assert json.loads(out)["test_mae"] == pytest.approx(np.mean(errors), rel=1e-5)


def test_the_summary_says_which_calendar_inputs_and_why(tmp_path):
    from trainlab.config import build_config
    from trainlab.pipelines import build_pipeline

    config = build_config({"task": "forecast", "data": {"source": str(write_hourly_csv(tmp_path)), "horizon": 6}})
    summary = build_pipeline(config).summary()
    assert ("calendar inputs: hour of day, day of week (sine and cosine of each) (hour of day: a cycle of 24 "
            "steps, which the window of 24 does not hold twice, day of week: a cycle of 168 steps, which the "
            "window of 24 does not hold twice; data.calendar=auto)") in summary


@pytest.mark.parametrize(("options", "message"), [
    (["data.calendar=[weekday]"], "data.calendar: unknown attribute 'weekday'; use auto, none or a list of hour"),
    (["data.time_column=none", "data.calendar=[hour]"], "the series has no timestamps (data.time_column=none)"),
])
def test_a_calendar_that_cannot_be_read_is_refused_in_one_line(trainlab, tmp_path, options, message):
    csv = write_hourly_csv(tmp_path)
    if "data.time_column=none" in options:
        pd.read_csv(csv)[["load"]].to_csv(csv, index=False)
    code, _, err = trainlab("train", "forecast", "--data", csv, "--out", tmp_path / "run", *options)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
