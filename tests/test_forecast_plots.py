"""Forecast figures of a run, and the diagnostics the forecast pipeline saves for them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from statsmodels.tsa.stattools import acf

from trainlab import rundir
from trainlab.config import build_config
from trainlab.data.windows import scaler_from_state
from trainlab.experiment import load_run_config, scored_checkpoint, train_run
from trainlab.models import SeriesSpec, build_model
from trainlab.models.forecast import window_forecaster
from trainlab.reports.forecast_plots import autocorrelation, best_baseline, plot_forecast_run
from trainlab.training.checkpoint import load_weights

WINDOW, HORIZON = 24, 6
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny LSTMs train ~30x faster on one thread than on the two shared cores (OpenMP contention)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def monthly_csv(tmp_path_factory):
    """Ten years of a monthly series with a trend and a yearly season, plus noise."""
    months = pd.date_range("2010-01-01", periods=120, freq="MS")
    steps = np.arange(120)
    noise = np.random.default_rng(0).normal(0, 1, 120)
    sales = 100 + 0.5 * steps + 10 * np.sin(2 * np.pi * steps / 12) + noise
    path = tmp_path_factory.mktemp("data") / "sales.csv"
    pd.DataFrame({"month": months.strftime("%Y-%m"), "sales": sales.round(3)}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def forecast_runs(monthly_csv, tmp_path_factory):
    """One tiny run per strategy (1 epoch, hidden size 8), strategy -> run directory."""
    root = tmp_path_factory.mktemp("runs")
    directories = {}
    for strategy in ("direct", "recursive", "seq2seq"):
        config = build_config({
            "task": "forecast",
            "data": {"source": str(monthly_csv), "time_column": "month", "window": WINDOW, "horizon": HORIZON},
            "model": {"name": "lstm", "hidden_size": 8, "strategy": strategy},
            "train": {"epochs": 1},
        })
        train_run(config, root / strategy, quiet=True)
        directories[strategy] = root / strategy
    return directories


def trained_model(run_dir):
    """The run's network with the weights its backtest was computed with."""
    config = load_run_config(run_dir)
    model = build_model(config.model, SeriesSpec(1, 1, WINDOW, HORIZON), "forecast")
    load_weights(model, scored_checkpoint(run_dir, config))
    return model


@pytest.mark.parametrize(("strategy", "expected"), [
    ("direct", ["forecast_vs_actual.png", "error_by_step.png", "residuals.png"]),
    ("seq2seq", ["forecast_vs_actual.png", "error_by_step.png", "residuals.png", "teacher_forcing.png"]),
])
def test_every_figure_is_written_and_non_empty(forecast_runs, strategy, expected):
    written = plot_forecast_run(forecast_runs[strategy])
    assert [path.name for path in written] == expected
    for path in written:
        assert path.parent == forecast_runs[strategy] / "plots"
        assert path.read_bytes()[:8] == PNG_SIGNATURE and path.stat().st_size > 10_000, path.name


def test_a_run_without_a_backtest_gets_no_figures(tmp_path):
    assert plot_forecast_run(tmp_path) == []
    assert not (tmp_path / "plots").exists()


def test_one_step_forecasts_are_the_backtest_first_steps_from_every_test_step(forecast_runs):
    run_dir = forecast_runs["direct"]
    backtest = rundir.read_json(run_dir / "backtest.json")
    values = np.asarray(backtest["values"])
    one_step = backtest["one_step"]
    assert one_step["origins"] == list(range(96, 120))  # every step of the test part (the last 24)
    np.testing.assert_allclose(one_step["actuals"], values[96:])
    # Batched in the pipeline; here one origin at a time through the backtest's own forecaster.
    info = rundir.read_json(run_dir / "data.json")
    forecaster = window_forecaster(trained_model(run_dir), WINDOW, scaler_from_state(info["target_scaler"]))
    for index in (0, 5, 23):
        origin = one_step["origins"][index]
        assert one_step["forecasts"][index][0] == pytest.approx(forecaster(values[:origin])[0, 0], rel=1e-5)
    model_forecasts = np.asarray(backtest["forecasts"]["model"])
    for number, origin in enumerate(backtest["origins"]):
        assert one_step["forecasts"][origin - 96][0] == pytest.approx(model_forecasts[number, 0, 0], rel=1e-5)


def test_teacher_forced_predictions_continue_the_window_with_the_true_values(forecast_runs):
    # A recursive model fed the true values is the same RNN reading a longer window: its prediction
    # for step h is the one-step forecast from the window extended by the first h - 1 true values.
    run_dir = forecast_runs["recursive"]
    backtest = rundir.read_json(run_dir / "backtest.json")
    values = np.asarray(backtest["values"])
    forced = np.asarray(backtest["teacher_forced"])  # (origins, horizon, 1)
    free = np.asarray(backtest["forecasts"]["model"])
    assert forced.shape == free.shape == (len(backtest["origins"]), HORIZON, 1)
    scaler = scaler_from_state(rundir.read_json(run_dir / "data.json")["target_scaler"])
    model = trained_model(run_dir)
    for number, origin in enumerate(backtest["origins"]):
        for step in range(HORIZON):
            longer = window_forecaster(model, WINDOW + step, scaler)
            expected = longer(values[: origin + step])[0, 0]
            assert forced[number, step, 0] == pytest.approx(expected, rel=1e-4), (origin, step)
    np.testing.assert_allclose(forced[:, 0], free[:, 0], rtol=1e-5)  # step 1 sees no fed-back value
    assert not np.allclose(forced[:, 1:], free[:, 1:])
    assert "teacher_forced" not in rundir.read_json(forecast_runs["direct"] / "backtest.json")


def test_autocorrelation_matches_statsmodels():
    values = np.random.default_rng(1).normal(size=200).cumsum()
    np.testing.assert_allclose(autocorrelation(values, 30), acf(values, nlags=30, fft=False), atol=1e-12)
    np.testing.assert_array_equal(autocorrelation(np.full(10, 3.0), 3), [1.0, 0.0, 0.0, 0.0])


def test_the_best_baseline_has_the_lowest_mase_and_falls_back_to_mae():
    summary = {"model": {"mase": 0.1, "mae": 1.0}, "naive": {"mase": 0.9, "mae": 3.0},
               "drift": {"mase": 0.7, "mae": 4.0}, "mean": {"mase": None, "mae": 0.5}}
    assert best_baseline({"summary": summary}) == "drift"
    for scores in summary.values():
        scores["mase"] = None
    assert best_baseline({"summary": summary}) == "mean"
