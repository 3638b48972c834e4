"""The forecast task end to end: training on scaled windows, a backtest in which the network and
every baseline forecast from the same origins, and `trainlab forecast` past the end of the data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from trainlab import rundir
from trainlab.cli import main
from trainlab.config import build_config
from trainlab.data.windows import StandardScaler
from trainlab.experiment import load_run_config, scored_checkpoint
from trainlab.models import SeriesSpec, build_model
from trainlab.pipelines import build_pipeline
from trainlab.training.checkpoint import load_weights
from trainlab.training.tasks import ForecastTask

BASELINES = ("naive", "seasonal_naive", "drift", "mean", "moving_average", "ets", "arima")


def write_monthly_csv(folder):
    """Ten years of a monthly series with a trend and a yearly season, plus noise."""
    months = pd.date_range("2010-01-01", periods=120, freq="MS")
    steps = np.arange(120)
    noise = np.random.default_rng(0).normal(0, 1, 120)
    sales = 100 + 0.5 * steps + 10 * np.sin(2 * np.pi * steps / 12) + noise
    path = folder / "sales.csv"
    pd.DataFrame({"month": months.strftime("%Y-%m"), "sales": sales.round(3)}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One run on the monthly series, shared by the tests that only read it (the ETS and ARIMA
    backtests make a run take seconds): (the series as the CSV holds it, the run directory)."""
    folder = tmp_path_factory.mktemp("forecast")
    csv = write_monthly_csv(folder)
    code = main(["train", "forecast", "--data", str(csv), "--out", str(folder / "run"), "--quiet",
                 "data.time_column=month", "data.window=24", "data.horizon=6", "train.epochs=3",
                 "model.hidden_size=8"])
    assert code == 0
    return pd.read_csv(csv)["sales"].to_numpy(), folder / "run"


def assert_scores_recomputed_from_the_forecasts(metrics: dict, backtest: dict) -> None:
    """MAE, RMSE and MASE of the network and of every baseline, from the saved forecasts and series
    (as the run read it): MASE divides each origin's errors by the in-sample seasonal-naive MAE of
    the steps before that origin, then averages over origins."""
    series, period = np.array(backtest["values"])[:, 0], backtest["period"]
    scales = np.array([np.abs(series[period:origin] - series[: origin - period]).mean()
                       for origin in backtest["origins"]])
    actuals = np.array(backtest["actuals"])[..., 0]  # (origins, horizon)
    np.testing.assert_array_equal(
        actuals, np.stack([series[origin : origin + backtest["horizon"]] for origin in backtest["origins"]]))
    for name in ("model", *BASELINES):
        errors = np.array(backtest["forecasts"][name])[..., 0] - actuals
        prefix = "test" if name == "model" else f"baseline_{name}"
        assert metrics[f"{prefix}_mae"] == pytest.approx(np.abs(errors).mean(), rel=1e-9), name
        assert metrics[f"{prefix}_rmse"] == pytest.approx(np.sqrt((errors**2).mean()), rel=1e-9), name
        mase = (np.abs(errors).mean(axis=1) / scales).mean()
        assert metrics[f"{prefix}_mase"] == pytest.approx(mase, rel=1e-9), name
    assert metrics["best_baseline"] == min(BASELINES, key=lambda name: metrics[f"baseline_{name}_mase"])


def trained_network(run_dir):
    """The network with the weights its metrics were computed with."""
    config = load_run_config(run_dir)
    model = build_model(config.model, SeriesSpec(1, 1, window=24, horizon=6), "forecast")
    load_weights(model, scored_checkpoint(run_dir, config))
    return model.eval()


def network_forecast(model, history: np.ndarray, mean: float, std: float) -> np.ndarray:
    """(6,) the network's forecast after `history` by hand: the last 24 values standardised with the
    training part's statistics, one call, then back to the original scale."""
    window = torch.tensor((history[-24:] - mean) / std, dtype=torch.float32).reshape(1, 24, 1)
    with torch.no_grad():
        return model(window)[0, :, 0].double().numpy() * std + mean


def test_model_and_baselines_are_scored_on_the_same_origins(trained):
    sales, run_dir = trained
    metrics = rundir.read_json(run_dir / "metrics.json")
    assert metrics["season_period"] == 12  # detected on the training part
    backtest = rundir.read_json(run_dir / "backtest.json")
    # Test part: the last 20% (24 months); origins every horizon (6) steps: 4 forecasts.
    origins = backtest["origins"]
    assert origins == [96, 102, 108, 114] and metrics["backtest_origins"] == 4
    assert set(backtest["forecasts"]) == {"model", *BASELINES}
    actuals = np.stack([sales[origin : origin + 6] for origin in origins])  # (origins, horizon)
    np.testing.assert_allclose(np.array(backtest["actuals"])[..., 0], actuals)

    # Scaling: the training part only (the first 70%, 84 months), population standard deviation.
    scaler = rundir.read_json(run_dir / "data.json")["target_scaler"]
    mean, std = sales[:84].mean(), sales[:84].std()
    assert scaler["offset"] == pytest.approx([mean], rel=1e-6)  # the series is read as float32
    assert scaler["scale"] == pytest.approx([std], rel=1e-6)

    # Each forecast recomputed from the series: the baselines are fitted at the first origin and
    # then only updated (drift keeps its slope, mean its mean); the network reads the 24 months
    # before the origin and not the origin itself.
    ahead = np.arange(1, 7)
    slope = (sales[95] - sales[0]) / 95
    by_hand = {
        "naive": [np.full(6, sales[origin - 1]) for origin in origins],
        "seasonal_naive": [sales[origin - 12 : origin - 6] for origin in origins],
        "drift": [sales[origin - 1] + ahead * slope for origin in origins],
        "mean": [np.full(6, sales[:96].mean()) for _ in origins],
        "moving_average": [np.full(6, sales[origin - 3 : origin].mean()) for origin in origins],
        "model": [network_forecast(trained_network(run_dir), sales[:origin], mean, std) for origin in origins],
    }
    for name, forecasts in by_hand.items():
        np.testing.assert_allclose(np.array(backtest["forecasts"][name])[..., 0], np.stack(forecasts),
                                   rtol=1e-5, err_msg=name)

    np.testing.assert_allclose(np.array(backtest["values"])[:, 0], sales, rtol=1e-7)  # read as float32
    assert_scores_recomputed_from_the_forecasts(metrics, backtest)


def test_evaluation_metrics_are_on_the_original_scale():
    scaler = StandardScaler().fit(np.array([[10.0], [20.0], [30.0]]))
    task = ForecastTask(scaler.inverse_transform, mase_scale=[2.0])
    meter = task.eval_meter()
    targets = torch.tensor(scaler.transform(np.array([[20.0], [30.0]])), dtype=torch.float32).reshape(1, 2, 1)
    predictions = torch.tensor(scaler.transform(np.array([[22.0], [27.0]])), dtype=torch.float32).reshape(1, 2, 1)
    meter.update(torch.tensor(0.0), predictions, targets)
    scores = meter.compute()
    assert scores["mae"] == pytest.approx(2.5, rel=1e-5)  # |22-20| and |27-30|
    assert scores["rmse"] == pytest.approx(np.sqrt((4 + 9) / 2), rel=1e-5)
    assert scores["mase"] == pytest.approx(2.5 / 2.0, rel=1e-5)


def test_forecast_writes_the_future_steps(trainlab, trained, tmp_path):
    sales, run_dir = trained
    # A run that chose no model on validation (as runs did before the choice) forecasts with its
    # network; tests/test_forecast_choice.py covers a run that chose a baseline.
    run_dir = Path(shutil.copytree(run_dir, tmp_path / "run"))
    metrics = rundir.read_json(run_dir / rundir.METRICS_FILE)
    (run_dir / rundir.METRICS_FILE).write_text(json.dumps({key: value for key, value in metrics.items()
                                                           if key != "chosen_model"}))
    code, _, err = trainlab("forecast", run_dir, "--horizon", 9, "--out", tmp_path / "next.csv")
    assert code == 0, err
    table = pd.read_csv(tmp_path / "next.csv")
    assert list(table.columns) == ["time", "sales"]
    assert table["time"].tolist() == [f"2020-{month:02d}-01" for month in range(1, 10)]
    # By hand: six steps from the last 24 months, then three more from a history that ends with them.
    model, mean, std = trained_network(run_dir), sales[:84].mean(), sales[:84].std()
    first = network_forecast(model, sales, mean, std)
    then = network_forecast(model, np.concatenate([sales, first]), mean, std)[:3]
    np.testing.assert_allclose(table["sales"].to_numpy(), np.concatenate([first, then]), rtol=1e-5)
    code, _, err = trainlab("forecast", run_dir, "--horizon", 0)
    assert code == 2 and "--horizon 0: forecast at least one step" in err


@pytest.mark.slow  # horizon 1 by default: 730 backtest origins, ETS and ARIMA updated at each (~70 s)
def test_melbourne_temperatures_train_with_defaults(trainlab, shared_data, tmp_path):
    csv = shared_data / "melbourne_daily_min_temp" / "daily-min-temperatures.csv"
    code, _, err = trainlab("train", "forecast", "--data", csv, "data.target=Temp", "data.time_column=Date",
                            "--out", tmp_path / "run", "--quiet", "train.epochs=1")
    assert code == 0, err
    metrics = rundir.read_json(tmp_path / "run" / "metrics.json")
    backtest = rundir.read_json(tmp_path / "run" / "backtest.json")
    assert backtest["horizon"] == 1 and metrics["backtest_origins"] == len(backtest["origins"])
    assert_scores_recomputed_from_the_forecasts(metrics, backtest)


def test_the_summary_says_how_the_test_part_is_backtested(tmp_path):
    csv = write_monthly_csv(tmp_path)
    config = build_config({"task": "forecast", "data": {"source": str(csv), "time_column": "month", "horizon": 6}})
    backtest_line = next(line for line in build_pipeline(config).summary().splitlines() if line.startswith("backtest"))
    # 120 months: the test part is the last 24, forecast from origins 96, 102, 108 and 114.
    assert backtest_line == ("backtest: 4 origins 6 steps apart over the test part; ets and arima are fitted once "
                             "on the 96 steps before the first, then run on over each origin's new steps with "
                             "their estimates kept")
