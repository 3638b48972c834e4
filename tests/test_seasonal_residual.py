"""model.normalization=seasonal: the network reads the window relative to its last value and
forecasts the residual to the seasonal naive forecast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from trainlab.models.forecast import RecurrentForecaster


def seasonal_forecaster(period: int, horizon: int, targets: int = 1, covariates: int = 0) -> RecurrentForecaster:
    torch.manual_seed(0)
    return RecurrentForecaster("lstm", targets + covariates, targets, horizon, hidden_size=8,
                               normalization="seasonal", period=period)


def test_a_network_that_outputs_zero_forecasts_the_seasonal_naive_forecast():
    model = seasonal_forecaster(period=3, horizon=5, targets=2, covariates=1)
    torch.nn.init.zeros_(model.head.weight)
    torch.nn.init.zeros_(model.head.bias)
    window = torch.randn(4, 7, 3)
    forecast = model(window)
    # Steps 1..5 after a 7-step window repeat its steps 4, 5, 6, 4, 5 (0-based), one season back.
    by_hand = window[:, [4, 5, 6, 4, 5], :2]
    torch.testing.assert_close(forecast, by_hand, rtol=0, atol=0)


def test_the_network_reads_the_window_relative_to_its_last_value():
    model = seasonal_forecaster(period=4, horizon=2)
    window = torch.randn(3, 8, 1)
    shifted = window + 100.0  # the same shape at another level
    # The residual to seasonal naive is the same, so the forecast moves with the level.
    torch.testing.assert_close(model(shifted), model(window) + 100.0, rtol=0, atol=1e-4)


def test_a_window_shorter_than_the_season_is_refused():
    with pytest.raises(ValueError, match="a window of 5 steps holds no full season of 12"):
        seasonal_forecaster(period=12, horizon=1)(torch.zeros(1, 5, 1))


def test_the_option_is_refused_in_one_line_where_it_cannot_work(trainlab, tmp_path):
    months = pd.date_range("2010-01-01", periods=120, freq="MS")  # a season of 12, detected
    sales = 100 + 0.5 * np.arange(120) + 10 * np.sin(2 * np.pi * np.arange(120) / 12)
    csv = tmp_path / "sales.csv"
    pd.DataFrame({"month": months.strftime("%Y-%m"), "sales": sales}).to_csv(csv, index=False)
    base = ("train", "forecast", "--data", csv, "data.time_column=month", "--out", tmp_path / "run")
    code, _, err = trainlab(*base, "model.normalization=seasonal", "model.strategy=recursive")
    assert code == 2 and "model.normalization=seasonal forecasts with model.strategy=direct only" in err
    code, _, err = trainlab(*base, "model.normalization=seasonal", "data.window=6")
    assert code == 2 and ("model.normalization=seasonal needs a window of at least one season: the window is 6 "
                          "steps, the season 12; set data.window=auto or data.window=12 or more") in err
    assert len(err.strip().splitlines()) == 1
    assert not np.any([path.name == "metrics.json" for path in tmp_path.rglob("*")])
