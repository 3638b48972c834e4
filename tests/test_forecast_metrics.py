"""Forecast metrics against hand-computed values, scikit-learn, and the airline passengers series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mean_absolute_error, mean_absolute_percentage_error, mean_squared_error

from trainlab.data.series_csv import load_series_csv
from trainlab.forecasting.baselines import SeasonalNaive
from trainlab.metrics.regression import forecast_metrics, mae, mape, mase, rmse, smape

# Two forecasts of three steps. Errors (actual - predicted): [[-1, 0, 2], [0, -2, 2]].
ACTUAL = np.array([[2.0, 4.0, 5.0], [1.0, 3.0, 8.0]])
PREDICTED = np.array([[3.0, 4.0, 3.0], [1.0, 5.0, 6.0]])


def test_mae_rmse_mape_smape_by_hand():
    assert mae(ACTUAL, PREDICTED) == pytest.approx((1 + 0 + 2 + 0 + 2 + 2) / 6)
    assert rmse(ACTUAL, PREDICTED) == pytest.approx(np.sqrt((1 + 0 + 4 + 0 + 4 + 4) / 6))
    assert mape(ACTUAL, PREDICTED) == pytest.approx(100 * (1 / 2 + 0 + 2 / 5 + 0 + 2 / 3 + 2 / 8) / 6)
    # 200 |a - p| / (|a| + |p|) per element
    assert smape(ACTUAL, PREDICTED) == pytest.approx((200 / 5 + 0 + 400 / 8 + 0 + 400 / 8 + 400 / 14) / 6)


def test_mae_rmse_mape_agree_with_scikit_learn():
    actual, predicted = ACTUAL.ravel(), PREDICTED.ravel()
    assert mae(ACTUAL, PREDICTED) == pytest.approx(mean_absolute_error(actual, predicted))
    assert rmse(ACTUAL, PREDICTED) == pytest.approx(np.sqrt(mean_squared_error(actual, predicted)))
    # scikit-learn's MAPE is a fraction; ours is in percent
    assert mape(ACTUAL, PREDICTED) == pytest.approx(100 * mean_absolute_percentage_error(actual, predicted))


def test_mase_with_period_1_scales_by_the_naive_in_sample_mae():
    history = np.array([1.0, 3.0, 2.0, 5.0])  # |steps| 2, 1, 3: scale 2
    assert mase(ACTUAL, PREDICTED, history, period=1) == pytest.approx((7 / 6) / 2)


def test_mase_with_period_12_scales_by_the_seasonal_naive_in_sample_mae():
    history = np.concatenate([np.arange(12.0), [3.0, 5.0, 0.0]])  # y[t] - y[t-12]: 3, 4, -2: scale 3
    assert mase(ACTUAL, PREDICTED, history, period=12) == pytest.approx((7 / 6) / 3)


def test_mase_scales_each_target_column_by_its_own_history():
    history = np.array([1.0, 3.0, 2.0, 5.0])
    # A second target ten times larger, with a history ten times larger: the same scaled errors.
    actual = np.stack([ACTUAL, 10 * ACTUAL], axis=-1)  # (2, 3, 2)
    predicted = np.stack([PREDICTED, 10 * PREDICTED], axis=-1)
    assert mase(actual, predicted, np.stack([history, 10 * history], axis=1)) == pytest.approx(7 / 12)


def test_smape_counts_zero_over_zero_as_zero_and_stays_within_200():
    assert smape([[0.0, 1.0]], [[0.0, 1.0]]) == 0.0
    assert smape([[0.0, 0.0]], [[2.0, -3.0]]) == 200.0


def test_mape_refuses_zeros_in_the_actuals():
    with pytest.raises(
        ValueError,
        match=r"^MAPE is undefined: the actuals hold 2 zeros \(of 4 values\); use smape or mase instead$",
    ):
        mape([[0.0, 1.0], [0.0, 2.0]], [[1.0, 1.0], [1.0, 1.0]])


def test_mase_refuses_a_short_history_and_a_zero_scale():
    with pytest.raises(
        ValueError,
        match=r"MASE needs a training part longer than the period: 12 steps for period 12",
    ):
        mase(ACTUAL, PREDICTED, np.arange(12.0), period=12)
    with pytest.raises(ValueError, match=r"MASE is undefined: .*period 1.* column\(s\) \[0\] is 0"):
        mase(ACTUAL, PREDICTED, np.full(5, 3.0), period=1)


def test_shapes_must_agree():
    with pytest.raises(ValueError, match=r"actual \(2, 3\) and predicted \(3, 2\) must have the same shape"):
        mae(ACTUAL, PREDICTED.T)


def test_forecast_metrics_averages_and_per_step_values():
    history = np.array([1.0, 3.0, 2.0, 5.0])
    metrics = forecast_metrics(ACTUAL, PREDICTED, history, period=1)
    assert metrics["mae"] == pytest.approx(mae(ACTUAL, PREDICTED))
    assert metrics["rmse"] == pytest.approx(rmse(ACTUAL, PREDICTED))
    assert metrics["mape"] == pytest.approx(mape(ACTUAL, PREDICTED))
    assert metrics["smape"] == pytest.approx(smape(ACTUAL, PREDICTED))
    assert metrics["mase"] == pytest.approx(7 / 12)
    # per step: absolute errors [[1, 0, 2], [0, 2, 2]] averaged over the two forecasts
    assert metrics["mae_by_step"] == pytest.approx([0.5, 1.0, 2.0])
    assert metrics["rmse_by_step"] == pytest.approx([np.sqrt(0.5), np.sqrt(2.0), 2.0])
    assert metrics["mase_by_step"] == pytest.approx([0.25, 0.5, 1.0])
    assert metrics["mape_by_step"] == pytest.approx(
        [100 * (1 / 2 + 0) / 2, 100 * (0 + 2 / 3) / 2, 100 * (2 / 5 + 2 / 8) / 2]
    )
    assert len(metrics["smape_by_step"]) == 3
    assert "mape_undefined" not in metrics and "mase_undefined" not in metrics


def test_forecast_metrics_says_why_a_metric_is_undefined():
    actual = ACTUAL.copy()
    actual[0, 0] = 0.0
    metrics = forecast_metrics(actual, PREDICTED)
    assert metrics["mape"] is None and metrics["mape_by_step"] is None
    assert metrics["mape_undefined"].startswith("MAPE is undefined: the actuals hold 1 zero ")
    assert metrics["mase"] is None
    assert metrics["mase_undefined"] == "MASE needs the training part of the series (train_history)"
    assert metrics["smape"] == pytest.approx(smape(actual, PREDICTED))


def test_airline_seasonal_naive_mape_with_36_months_held_out(shared_data):
    path = shared_data / "airline_passengers" / "airline-passengers.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    series = load_series_csv(path)
    train, test = series.values[:-36, 0], series.values[-36:, 0]
    forecast = SeasonalNaive(period=12).fit(train).predict(36)[:, 0]
    ours = mape(test[None], forecast[None])

    # Independently, in plain pandas: each test month is forecast by the same calendar month of
    # the last training year.
    table = pd.read_csv(path, parse_dates=["Month"])
    held_out, training = table.iloc[-36:], table.iloc[:-36]
    last_year = training.iloc[-12:].set_index(training.iloc[-12:]["Month"].dt.month)["Passengers"]
    guesses = held_out["Month"].dt.month.map(last_year).astype(float)
    actual = held_out["Passengers"].astype(float)
    independent = float(((actual - guesses).abs() / actual).mean() * 100)

    print(f"airline passengers, last 36 months held out: seasonal-naive (m=12) MAPE {ours:.4f}%")
    assert ours == pytest.approx(independent, rel=1e-12)
