"""data.window=auto: one full detected season plus the horizon, bounded, and said in the summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainlab.config import build_config
from trainlab.pipelines import build_pipeline
from trainlab.pipelines.forecast import AUTO_WINDOW_CAP, forecast_window


@pytest.mark.parametrize("period, horizon, train_steps, expected", [
    (24, 24, 10_000, 48),      # hourly data, a day ahead: the last day of every forecast step
    (12, 1, 10_000, 24),       # shorter than the minimum: the minimum
    (288, 12, 100_000, 300),   # 5-minute data: a whole day, which a fixed 24 would not see
    (1000, 7, 100_000, AUTO_WINDOW_CAP),  # capped
    (100, 10, 200, 50),        # a short series: at most a quarter of the training part
])
def test_the_automatic_window_covers_a_season_and_the_horizon_within_bounds(period, horizon, train_steps, expected):
    window, reason = forecast_window("auto", period, horizon, train_steps)
    assert window == expected and reason.startswith(f"data.window=auto: window {expected}")
    assert forecast_window(36, period, horizon, train_steps) == (36, None)  # a number is kept as given


def test_a_run_with_window_auto_builds_its_windows_and_says_why(tmp_path):
    steps = 5 * 24 * 30  # 5-minute steps would be long; hourly with a daily season keeps the test quick
    times = pd.date_range("2023-01-01", periods=steps, freq="h")
    values = 10 + np.sin(2 * np.pi * np.arange(steps) / 24) + np.random.default_rng(0).normal(0, 0.1, steps)
    pd.DataFrame({"time": times, "load": values.round(3)}).to_csv(tmp_path / "load.csv", index=False)
    config = build_config({"task": "forecast", "data": {"source": str(tmp_path / "load.csv"), "window": "auto",
                                                        "horizon": 24}})
    pipeline = build_pipeline(config)
    inputs, _ = pipeline.windows.train
    assert inputs.shape[1] == 48 and pipeline.spec.window == 48 and pipeline.info["window"] == 48
    assert "data.window=auto: window 48 = the season 24 + the horizon 24" in pipeline.summary().splitlines()
