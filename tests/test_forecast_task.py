"""The forecast task end to end: training on scaled windows, a backtest in which the network and
every baseline forecast from the same origins, and `trainlab forecast` past the end of the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from trainlab import runs
from trainlab.data.windows import StandardScaler
from trainlab.training.tasks import ForecastTask

BASELINES = ("naive", "seasonal_naive", "drift", "mean", "moving_average", "ets", "arima")


@pytest.fixture
def monthly_csv(tmp_path):
    """Ten years of a monthly series with a trend and a yearly season, plus noise."""
    months = pd.date_range("2010-01-01", periods=120, freq="MS")
    steps = np.arange(120)
    noise = np.random.default_rng(0).normal(0, 1, 120)
    sales = 100 + 0.5 * steps + 10 * np.sin(2 * np.pi * steps / 12) + noise
    path = tmp_path / "sales.csv"
    pd.DataFrame({"month": months.strftime("%Y-%m"), "sales": sales.round(3)}).to_csv(path, index=False)
    return path


def train(trainlab, csv, run_dir, *extra):
    code, _, err = trainlab(
        "train", "forecast", "--data", csv, "--out", run_dir, "--quiet", "data.time_column=month",
        "data.window=24", "data.horizon=6", "train.epochs=3", "model.hidden_size=8", *extra,
    )
    assert code == 0, err
    return runs.read_json(run_dir / "metrics.json")


def test_model_and_baselines_are_scored_on_the_same_origins(trainlab, monthly_csv, tmp_path):
    metrics = train(trainlab, monthly_csv, tmp_path / "run")
    assert metrics["season_period"] == 12  # detected on the training part
    for name in BASELINES:
        assert metrics[f"baseline_{name}_mase"] > 0, name
    backtest = runs.read_json(tmp_path / "run" / "backtest.json")
    # Test part: the last 20% (24 months); origins every horizon (6) steps: 4 forecasts.
    assert backtest["origins"] == [96, 102, 108, 114] and metrics["backtest_origins"] == 4
    assert set(backtest["forecasts"]) == {"model", *BASELINES}
    # The naive forecast repeats the last value before each origin: score it independently.
    sales = pd.read_csv(monthly_csv)["sales"].to_numpy()
    errors = [np.abs(sales[origin : origin + 6] - sales[origin - 1]).mean() for origin in backtest["origins"]]
    assert metrics["baseline_naive_mae"] == pytest.approx(np.mean(errors))
    model_forecasts = np.array(backtest["forecasts"]["model"])[..., 0]
    actuals = np.stack([sales[origin : origin + 6] for origin in backtest["origins"]])
    assert metrics["test_mae"] == pytest.approx(np.abs(model_forecasts - actuals).mean())


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


def test_forecast_writes_the_future_steps(trainlab, monthly_csv, tmp_path):
    train(trainlab, monthly_csv, tmp_path / "run")
    code, _, err = trainlab("forecast", tmp_path / "run", "--horizon", 9, "--out", tmp_path / "next.csv")
    assert code == 0, err
    table = pd.read_csv(tmp_path / "next.csv")
    assert list(table.columns) == ["time", "sales"]
    assert table["time"].tolist() == [f"2020-{month:02d}-01" for month in range(1, 10)]
    assert np.isfinite(table["sales"]).all()
    code, _, err = trainlab("forecast", tmp_path / "run", "--horizon", 0)
    assert code == 2 and "--horizon 0: forecast at least one step" in err


@pytest.mark.slow  # horizon 1 by default: 730 backtest origins, ETS and ARIMA updated at each (~70 s)
def test_melbourne_temperatures_train_with_defaults(trainlab, shared_data, tmp_path):
    csv = shared_data / "melbourne_daily_min_temp" / "daily-min-temperatures.csv"
    code, _, err = trainlab("train", "forecast", "--data", csv, "data.target=Temp", "data.time_column=Date",
                            "--out", tmp_path / "run", "--quiet", "train.epochs=1")
    assert code == 0, err
    metrics = runs.read_json(tmp_path / "run" / "metrics.json")
    assert metrics["test_mase"] > 0
    assert all(metrics[f"baseline_{name}_mase"] > 0 for name in BASELINES)
