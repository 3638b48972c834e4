"""Baselines against hand-computed forecasts; ETS and ARIMA against statsmodels called directly."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.arima.model import ARIMA as StatsmodelsARIMA
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from trainlab.forecasting.baselines import (
    ARIMA,
    BASELINES,
    ETS,
    Drift,
    Mean,
    MovingAverage,
    Naive,
    SeasonalNaive,
    StatsmodelsBaseline,
    make_baseline,
)
from trainlab.forecasting.seasonality import autocorrelation, detect_period


def seasonal_series(steps: int, period: int, seed: int = 0) -> np.ndarray:
    """A trend, a sine season of `period` steps and a little noise."""
    time = np.arange(steps)
    noise = np.random.default_rng(seed).normal(scale=0.2, size=steps)
    return 10 + 0.05 * time + 2 * np.sin(2 * np.pi * time / period) + noise


def test_registry_names():
    assert list(BASELINES) == ["naive", "seasonal_naive", "drift", "mean", "moving_average", "ets", "arima"]


def test_naive_repeats_the_last_value_per_column():
    history = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 5.0]])
    np.testing.assert_array_equal(Naive().fit(history).predict(2), [[3.0, 5.0], [3.0, 5.0]])
    np.testing.assert_array_equal(Naive().fit([4.0, 7.0]).predict(1), [[7.0]])  # (T,) -> (H, 1)


def test_seasonal_naive_repeats_the_last_season():
    history = np.arange(1.0, 8.0)  # 1..7, period 3: last season 5, 6, 7
    forecast = SeasonalNaive(period=3).fit(history).predict(5)
    np.testing.assert_array_equal(forecast[:, 0], [5.0, 6.0, 7.0, 5.0, 6.0])


def test_seasonal_naive_detects_the_period_of_each_column():
    history = np.stack([seasonal_series(120, 7), seasonal_series(120, 12, seed=1)], axis=1)
    baseline = SeasonalNaive().fit(history)
    assert baseline.periods == [7, 12]
    forecast = baseline.predict(3)
    np.testing.assert_array_equal(forecast[:, 0], history[-7:-4, 0])
    np.testing.assert_array_equal(forecast[:, 1], history[-12:-9, 1])


def test_drift_extends_the_line_through_the_first_and_last_values():
    forecast = Drift().fit([1.0, 3.0, 2.0, 7.0]).predict(3)  # slope (7 - 1) / 3 = 2
    np.testing.assert_allclose(forecast[:, 0], [9.0, 11.0, 13.0])


def test_mean_and_moving_average():
    history = [1.0, 3.0, 2.0, 6.0]
    np.testing.assert_array_equal(Mean().fit(history).predict(2)[:, 0], [3.0, 3.0])
    np.testing.assert_array_equal(MovingAverage(window=2).fit(history).predict(2)[:, 0], [4.0, 4.0])


def test_update_keeps_the_estimated_parameters():
    drift = Drift().fit([1.0, 3.0, 2.0, 7.0]).update([1.0, 3.0, 2.0, 7.0, 0.0])  # slope stays 2
    np.testing.assert_allclose(drift.predict(2)[:, 0], [2.0, 4.0])
    mean = Mean().fit([1.0, 3.0]).update([1.0, 3.0, 20.0])
    np.testing.assert_array_equal(mean.predict(1), [[2.0]])
    naive = Naive().fit([1.0, 3.0]).update([1.0, 3.0, 20.0])  # no parameters: the new last value
    np.testing.assert_array_equal(naive.predict(1), [[20.0]])


def test_detect_period_finds_the_season_and_none_in_noise():
    assert detect_period(seasonal_series(200, 7)) == 7
    assert detect_period(seasonal_series(240, 12), max_period=48) == 12
    assert detect_period(np.random.default_rng(0).normal(size=500)) == 1
    assert detect_period(np.cumsum(np.random.default_rng(0).normal(size=500))) == 1  # random walk
    assert detect_period(np.arange(50.0)) == 1  # a straight line


def test_autocorrelation_matches_statsmodels():
    from statsmodels.tsa.stattools import acf

    values = seasonal_series(100, 7)
    np.testing.assert_allclose(autocorrelation(values, 30), acf(values, nlags=30, fft=False), atol=1e-12)


def test_detect_period_of_the_airline_passengers(shared_data):
    path = shared_data / "airline_passengers" / "airline-passengers.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    assert detect_period(pd.read_csv(path)["Passengers"].to_numpy(float)) == 12


def test_ets_is_holt_winters_with_two_seasons_and_holt_without():
    values = seasonal_series(60, 12)
    ours = ETS(period=12).fit(values).predict(10)[:, 0]
    direct = ExponentialSmoothing(values, trend="add", seasonal="add", seasonal_periods=12).fit().forecast(10)
    np.testing.assert_allclose(ours, direct, rtol=1e-10)

    short = values[:20]  # fewer than two seasons: Holt's linear trend
    ours = ETS(period=12).fit(short).predict(5)[:, 0]
    direct = ExponentialSmoothing(short, trend="add").fit().forecast(5)
    np.testing.assert_allclose(ours, direct, rtol=1e-10)


def _smoothed_from_the_start(values, options, params):
    """statsmodels smoothing the whole history with the first fit's every estimate (the reference)."""
    initial = {"initial_level": params["initial_level"]}
    if options.get("trend"):
        initial["initial_trend"] = params["initial_trend"]
    if options.get("seasonal"):
        initial["initial_seasonal"] = params["initial_seasons"]
    names = ("smoothing_level", "smoothing_trend", "smoothing_seasonal", "damping_trend")
    smoothing = {name: params[name] for name in names if params.get(name) is not None and np.isfinite(params[name])}
    model = ExponentialSmoothing(values, **options, initialization_method="known", **initial)
    return model.fit(**smoothing, optimized=False)


@pytest.mark.parametrize("trend, damped, period", [(None, False, None), ("add", False, None), ("add", True, 12),
                                                   ("add", False, 12)])
def test_ets_updates_step_by_step_equal_smoothing_the_whole_history_again(trend, damped, period, monkeypatch):
    """An expanding backtest updates ETS at every origin; each update smooths only the new steps (and
    the one before), yet forecasts exactly what smoothing the whole longer history would."""
    values = seasonal_series(110, 12)
    ets = ETS(period=period, trend=trend, damped_trend=damped).fit(values[:60])
    options, params = ets.fitted_options, ets.results[0].params
    smoothed_lengths = []
    original = ExponentialSmoothing.__init__

    def recording(self, endog, *args, **kwargs):
        smoothed_lengths.append(len(endog))
        original(self, endog, *args, **kwargs)

    monkeypatch.setattr(ExponentialSmoothing, "__init__", recording)
    end = 60
    for stride in (1, 1, 5, 1, 12, 2, 1, 27):
        end += stride
        forecast = ets.update(values[:end]).predict(6)[:, 0]
        assert smoothed_lengths[-1] == stride + 1  # the new steps and the one before them, not `end`
        expected = _smoothed_from_the_start(values[:end], options, params).forecast(6)
        np.testing.assert_allclose(forecast, expected, rtol=1e-9, err_msg=f"after {end} steps")
    assert ets.results[0].params["smoothing_level"] == params["smoothing_level"]


def test_ets_sliding_window_update_estimates_the_initial_states_again():
    values = seasonal_series(72, 12)
    ets = ETS(period=12).fit(values[:60])
    first_forecast, params = ets.predict(4), ets.results[0].params
    np.testing.assert_allclose(ets.update(values[:60]).predict(4), first_forecast, rtol=1e-12)
    # A sliding window starts elsewhere: the initial states are estimated again, the smoothing
    # parameters stay.
    ets.update(values[12:])
    direct = ExponentialSmoothing(values[12:], trend="add", seasonal="add", seasonal_periods=12).fit(
        smoothing_level=params["smoothing_level"],
        smoothing_trend=params["smoothing_trend"],
        smoothing_seasonal=params["smoothing_seasonal"],
    )
    assert ets.results[0].params["smoothing_level"] == params["smoothing_level"]
    np.testing.assert_allclose(ets.predict(4)[:, 0], direct.forecast(4), rtol=1e-10)


def test_arima_updates_step_by_step_equal_applying_the_coefficients_to_the_whole_history():
    values = np.cumsum(np.random.default_rng(4).normal(size=120)) + 0.3 * np.arange(120)
    arima = ARIMA(order=(1, 1, 1)).fit(values[:70])
    first = arima.results[0]
    end = 70
    for stride in (1, 1, 4, 1, 9, 2):
        end += stride
        forecast = arima.update(values[:end]).predict(5)[:, 0]
        np.testing.assert_allclose(forecast, first.apply(values[:end]).forecast(5), rtol=1e-8)
        assert arima.results[0].nobs == stride  # the filter ran over the new steps only


def test_arima_matches_statsmodels_and_update_applies_the_same_coefficients():
    values = np.cumsum(np.random.default_rng(3).normal(size=80)) + 0.3 * np.arange(80)
    arima = ARIMA(order=(1, 1, 1)).fit(values[:70])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = StatsmodelsARIMA(values[:70], order=(1, 1, 1)).fit()
    np.testing.assert_allclose(arima.predict(5)[:, 0], direct.forecast(5), rtol=1e-8)
    arima.update(values)
    np.testing.assert_allclose(arima.predict(3)[:, 0], direct.apply(values).forecast(3), rtol=1e-8)


def test_statsmodels_warnings_are_counted_not_shown():
    class Warns(StatsmodelsBaseline):
        name = "warns"

        def _fit_column(self, values):
            warnings.warn("did not converge", ConvergenceWarning)

    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        baseline = Warns().fit(np.ones((5, 2)))
    assert shown == []
    assert baseline.convergence_warnings == 2  # one per column


def test_make_baseline_passes_the_period_to_those_that_use_one():
    assert make_baseline("seasonal_naive", period=12).period == 12
    assert make_baseline("ets", period=4).period == 4
    assert make_baseline("moving_average", period=12, window=5).window == 5
    assert isinstance(make_baseline("naive", period=12), Naive)
    with pytest.raises(ValueError, match=r"unknown baseline 'naiv'; choices: naive, seasonal_naive"):
        make_baseline("naiv")
    with pytest.raises(ValueError, match=r"baseline 'mean': .*unexpected keyword argument 'window'"):
        make_baseline("mean", window=3)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"^naive is not fitted: call fit\(history\) first$"):
        Naive().predict(3)
    with pytest.raises(ValueError, match=r"^`horizon` must be >= 1 \(got 0\)$"):
        Naive().fit([1.0]).predict(0)
    with pytest.raises(ValueError, match=r"^seasonal_naive needs a history of at least 12 steps \(got 5\)$"):
        SeasonalNaive(period=12).fit(np.arange(5.0))
    with pytest.raises(ValueError, match=r"the history holds NaN or infinite values"):
        Mean().fit([1.0, np.nan])
    with pytest.raises(ValueError, match=r"arima `seasonal_order` \(0, 1, 1\) needs a `period` >= 2"):
        ARIMA(seasonal_order=(0, 1, 1))
