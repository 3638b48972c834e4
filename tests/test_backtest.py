"""Rolling-origin backtests: origins by hand, scores against hand computations, identical origins."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab.forecasting.backtest import backtest, origins
from trainlab.forecasting.baselines import Mean, Naive, SeasonalNaive


def random_walk(steps: int = 60, seed: int = 0) -> np.ndarray:
    return 50 + np.cumsum(np.random.default_rng(seed).normal(size=steps))


def test_origins_by_hand():
    # Origin t forecasts t .. t + horizon - 1, which must lie inside the 10 steps (t <= 7).
    assert origins(10, initial=4, horizon=3, stride=1) == [4, 5, 6, 7]
    assert origins(10, initial=4, horizon=3, stride=2) == [4, 6]
    assert origins(10, initial=7, horizon=3, stride=5) == [7]
    with pytest.raises(
        ValueError,
        match=r"no forecast origin fits: `initial` \(8\) \+ `horizon` \(3\) must be <= the series length "
        r"\(10\)",
    ):
        origins(10, initial=8, horizon=3)


def test_a_perfect_forecaster_scores_zero():
    series = random_walk()
    horizon = 4

    def oracle(history):  # knows the future: with an expanding window, the origin is len(history)
        return series[len(history) : len(history) + horizon, None]

    result = backtest({"oracle": oracle}, series, horizon=horizon, initial=30, stride=3)
    for metric in ("mae", "rmse", "mape", "smape", "mase"):
        assert result.summary["oracle"][metric] == 0.0
    assert result.summary["oracle"]["mae_by_step"] == [0.0] * horizon


def test_naive_on_a_random_walk_matches_a_hand_computation():
    series = random_walk()
    horizon, initial, stride = 3, 20, 2
    result = backtest({"naive": Naive()}, series, horizon=horizon, initial=initial, stride=stride)
    starts = list(range(initial, len(series) - horizon + 1, stride))
    assert result.origins == starts
    errors = [np.abs(series[t : t + horizon] - series[t - 1]) for t in starts]  # naive: y[t - 1]
    scales = [np.abs(np.diff(series[:t])).mean() for t in starts]  # in-sample naive MAE before t
    assert result.summary["naive"]["mae"] == pytest.approx(np.mean(errors))
    scaled = [error.mean() / scale for error, scale in zip(errors, scales)]
    assert result.summary["naive"]["mase"] == pytest.approx(np.mean(scaled))
    assert result.summary["naive"]["mae_by_step"] == pytest.approx(np.mean(errors, axis=0))
    per_origin_mae = [row["mae"] for row in result.per_origin["naive"]]
    assert per_origin_mae == pytest.approx([e.mean() for e in errors])
    naive_forecasts = [[series[t - 1]] * horizon for t in starts]
    np.testing.assert_array_equal(result.forecasts["naive"][:, :, 0], naive_forecasts)


class Recorder:
    """A forecaster that remembers the histories it was given and forecasts their last value."""

    def __init__(self, horizon: int):
        self.horizon = horizon
        self.seen: list[tuple[int, float]] = []
        self.covariate_lengths: list[int | None] = []

    def __call__(self, history, covariates=None):
        self.seen.append((len(history), float(history[-1, 0])))
        self.covariate_lengths.append(None if covariates is None else len(covariates))
        return np.repeat(history[-1:], self.horizon, axis=0)


class RecordingNaive(Naive):
    def __init__(self):
        super().__init__()
        self.seen: list[tuple[int, float]] = []

    def fit(self, history):
        self.seen.append((len(history), float(np.asarray(history)[-1, 0])))
        return super().fit(history)


def test_every_forecaster_sees_the_same_origins():
    series = random_walk(50)[:, None]
    first, second, baseline = Recorder(5), Recorder(5), RecordingNaive()
    backtest({"a": first, "b": second, "naive": baseline}, series, horizon=5, initial=20, stride=4)
    expected = [(t, float(series[t - 1, 0])) for t in range(20, 46, 4)]
    assert first.seen == second.seen == baseline.seen == expected


def test_sliding_window_histories_have_the_window_length():
    series = random_walk(50)[:, None]
    recorder = Recorder(2)
    backtest({"last": recorder}, series, horizon=2, initial=20, stride=5, window_length=12)
    assert recorder.seen == [(12, float(series[t - 1, 0])) for t in range(20, 49, 5)]
    with pytest.raises(ValueError, match=r"`window_length` \(25\) must be <= `initial` \(20\)"):
        backtest({"last": recorder}, series, horizon=2, initial=20, window_length=25)


def test_without_refit_a_baseline_keeps_its_first_estimates():
    series = np.arange(30.0)
    refitted = backtest({"mean": Mean()}, series, horizon=1, initial=10, stride=10, refit=True)
    kept = backtest({"mean": Mean()}, series, horizon=1, initial=10, stride=10, refit=False)
    np.testing.assert_array_equal(refitted.forecasts["mean"][:, 0, 0], [4.5, 9.5])  # means of 0..9, 0..19
    np.testing.assert_array_equal(kept.forecasts["mean"][:, 0, 0], [4.5, 4.5])


def test_covariates_of_the_history_reach_the_callables():
    series = random_walk(40)
    recorder = Recorder(3)
    covariates = np.arange(40.0)[:, None]
    backtest({"last": recorder}, series, horizon=3, initial=30, stride=3, covariates=covariates)
    assert recorder.covariate_lengths == [30, 33, 36]


def test_table_best_and_undefined_mape():
    series = np.tile([0.0, 1.0, 2.0, 3.0], 10)  # zeros in the actuals, period 4
    result = backtest(
        {"naive": Naive(), "seasonal": SeasonalNaive(period=4)},
        series,
        horizon=4,
        initial=20,
        stride=4,
        period=4,
    )
    table = result.table()
    assert list(table.index) == ["naive", "seasonal"]
    assert list(table.columns) == ["mae", "rmse", "mape", "smape", "mase"]
    assert table.loc["seasonal", "mae"] == 0.0 and table.loc["naive", "mae"] > 0
    assert result.best("mae") == "seasonal"
    assert result.summary["naive"]["mape"] is None
    reason = result.summary["naive"]["mape_undefined"]
    assert reason.startswith("undefined at 5 of 5 origins: MAPE is undefined")
    assert len(result.per_origin_table()) == 2 * len(result.origins)


def test_a_forecast_of_the_wrong_shape_is_named():
    with pytest.raises(ValueError, match=r"forecaster 'bad' returned shape \(2, 1\) at origin 10; expected"):
        backtest({"bad": lambda history: np.zeros((2, 1))}, np.arange(20.0), horizon=3, initial=10)


@pytest.mark.parametrize("horizon", [1, 4])
def test_every_metric_pools_errors_over_origins_and_steps(horizon):
    # A forecaster whose errors differ from origin to origin and from step to step: RMSE pooled
    # over all of them is not the mean of per-origin RMSEs (nor, at horizon 1, the MAE).
    series = np.array([10.0, 12, 11, 14, 13, 15, 18, 16, 17, 20, 19, 22])
    misses = {4: 1.0, 5: -3.0, 6: 0.5, 7: 2.0, 8: -1.0}  # origin -> error of step 1 (step h: h times it)

    def off_by(history):
        origin = len(history)
        return np.array([series[origin + step] + misses[origin] * (step + 1) for step in range(horizon)])

    starts = list(misses)
    result = backtest({"off": off_by}, series[: starts[-1] + horizon], horizon=horizon, initial=4)
    assert result.origins == starts
    errors = np.array([[misses[t] * (step + 1) for step in range(horizon)] for t in starts])  # (N, h)
    actual = np.array([series[t : t + horizon] for t in starts])
    scales = np.array([np.abs(np.diff(series[:t])).mean() for t in starts])  # naive MAE before t
    scores = result.summary["off"]
    assert scores["rmse"] == pytest.approx(np.sqrt((errors**2).mean()))
    assert scores["rmse_by_step"] == pytest.approx(np.sqrt((errors**2).mean(axis=0)))
    assert scores["mae"] == pytest.approx(np.abs(errors).mean())
    assert scores["mae_by_step"] == pytest.approx(np.abs(errors).mean(axis=0))
    # MAPE and sMAPE: every element weighs the same; MASE: each origin's errors over its own scale.
    assert scores["mape"] == pytest.approx(100 * (np.abs(errors) / actual).mean())
    forecast = actual + errors
    assert scores["smape"] == pytest.approx((200 * np.abs(errors) / (actual + forecast)).mean())
    assert scores["mase"] == pytest.approx((np.abs(errors) / scales[:, None]).mean())
    # Per origin, RMSE is that origin's own.
    per_origin = [row["rmse"] for row in result.per_origin["off"]]
    assert per_origin == pytest.approx(np.sqrt((errors**2).mean(axis=1)))
    if horizon == 1:
        assert scores["rmse"] > scores["mae"] * 1.1  # errors of unequal size
