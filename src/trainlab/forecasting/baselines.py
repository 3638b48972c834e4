"""Baseline forecasters that a network must beat: naive, seasonal naive, drift, mean, moving
average, and statsmodels' exponential smoothing (ETS / Holt-Winters) and ARIMA.

Each is a tiny class: `fit(history)` returns self, `predict(horizon)` returns (horizon, k). The
history is (T,) or (T, k); k target columns are forecast independently. `update(history)` gives a
fitted baseline newer data but keeps the parameters it estimated (a backtest without refitting);
for the baselines without parameters it is `fit`.
"""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Any

import numpy as np

from trainlab.forecasting.seasonality import detect_period


def as_history(history: Any) -> np.ndarray:
    """(T,) or (T, k) finite values as a float64 (T, k) array."""
    values = np.asarray(history, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2 or len(values) == 0:
        raise ValueError(f"a history must be a non-empty (T,) or (T, k) array (got {values.shape})")
    if not np.isfinite(values).all():
        raise ValueError("the history holds NaN or infinite values; fill them before forecasting")
    return values


class Baseline:
    """Shared checks: fitted before predicting, a positive horizon, a long enough history."""

    name = "baseline"
    uses_period = False  # make_baseline passes the series' period to those that use one

    def __init__(self) -> None:
        self.history: np.ndarray | None = None  # (T, k) the data of the last fit / update

    def fit(self, history: Any) -> Baseline:
        """Estimate from `history` (T,) or (T, k); returns self."""
        self.history = as_history(history)
        self._check_length(len(self.history))
        self._fit(self.history)
        return self

    def update(self, history: Any) -> Baseline:
        """Forecast from `history` with the parameters of the first fit (fits when not fitted yet)."""
        if self.history is None:
            return self.fit(history)
        values = as_history(history)
        if values.shape[1] != self.history.shape[1]:
            raise ValueError(
                f"{self.name} was fitted on {self.history.shape[1]} column(s), not {values.shape[1]}"
            )
        self._check_length(len(values))
        self._update(values)  # self.history is still the previous one here
        self.history = values
        return self

    def predict(self, horizon: int) -> np.ndarray:
        """(horizon, k) forecasts of the steps after the history."""
        if self.history is None:
            raise ValueError(f"{self.name} is not fitted: call fit(history) first")
        if horizon < 1:
            raise ValueError(f"`horizon` must be >= 1 (got {horizon})")
        return self._predict(horizon)

    def _check_length(self, steps: int) -> None:
        needed = self.min_history()
        if steps < needed:
            raise ValueError(f"{self.name} needs a history of at least {needed} steps (got {steps})")

    def min_history(self) -> int:
        return 1

    def _fit(self, history: np.ndarray) -> None:
        pass

    def _update(self, history: np.ndarray) -> None:
        self._fit(history)  # nothing estimated: updating is fitting

    def _predict(self, horizon: int) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Naive(Baseline):
    """Every future step is the last observed value."""

    name = "naive"

    def _predict(self, horizon: int) -> np.ndarray:
        return np.repeat(self.history[-1:], horizon, axis=0)


class SeasonalNaive(Baseline):
    """Step h is the value one season earlier: y[T - m + (h - 1) mod m] for period m.

    Without a `period`, each column's period is detected on the first fit (`detect_period`, up to
    `max_period`); a column without a detected season falls back to the naive forecast (m = 1).
    """

    name = "seasonal_naive"
    uses_period = True

    def __init__(self, period: int | None = None, max_period: int | None = None):
        super().__init__()
        if period is not None and period < 1:
            raise ValueError(f"`period` must be >= 1 (got {period})")
        self.period = period
        self.max_period = max_period
        self.periods: list[int] = []  # per column, after fit

    def min_history(self) -> int:
        return self.period or 1

    def _fit(self, history: np.ndarray) -> None:
        if self.period is not None:
            self.periods = [self.period] * history.shape[1]
        else:
            self.periods = [detect_period(column, self.max_period) for column in history.T]

    def _update(self, history: np.ndarray) -> None:
        pass  # the periods are the parameters

    def _predict(self, horizon: int) -> np.ndarray:
        steps = len(self.history)
        forecast = np.empty((horizon, self.history.shape[1]))
        for column, period in enumerate(self.periods):
            if steps < period:
                raise ValueError(f"seasonal_naive needs {period} steps of history (got {steps})")
            last_season = self.history[steps - period :, column]
            forecast[:, column] = last_season[np.arange(horizon) % period]
        return forecast

    def __repr__(self) -> str:
        return f"SeasonalNaive(period={self.period})"


class Drift(Baseline):
    """The line through the first and last observations, extended: y[T] + h * (y[T] - y[1]) / (T - 1)."""

    name = "drift"

    def min_history(self) -> int:
        return 2

    def _fit(self, history: np.ndarray) -> None:
        self.slope = (history[-1] - history[0]) / (len(history) - 1)  # (k,)

    def _update(self, history: np.ndarray) -> None:
        pass  # keep the slope, start from the new last value

    def _predict(self, horizon: int) -> np.ndarray:
        steps_ahead = np.arange(1, horizon + 1)[:, None]
        return self.history[-1] + steps_ahead * self.slope


class Mean(Baseline):
    """Every future step is the mean of the history (of the first fit, when updated)."""

    name = "mean"

    def _fit(self, history: np.ndarray) -> None:
        self.mean = history.mean(axis=0)

    def _update(self, history: np.ndarray) -> None:
        pass

    def _predict(self, horizon: int) -> np.ndarray:
        return np.repeat(self.mean[None], horizon, axis=0)


class MovingAverage(Baseline):
    """Every future step is the mean of the last `window` observations (a flat forecast)."""

    name = "moving_average"

    def __init__(self, window: int = 3):
        super().__init__()
        if window < 1:
            raise ValueError(f"`window` must be >= 1 (got {window})")
        self.window = window

    def min_history(self) -> int:
        return self.window

    def _predict(self, horizon: int) -> np.ndarray:
        return np.repeat(self.history[-self.window :].mean(axis=0, keepdims=True), horizon, axis=0)

    def __repr__(self) -> str:
        return f"MovingAverage(window={self.window})"


class StatsmodelsBaseline(Baseline):
    """One statsmodels model per column; warnings raised while fitting are silenced but counted.

    A backtest refits hundreds of times, and statsmodels warns about convergence on many of those
    fits; `warning_counts` (by warning class) lets a report say how often instead.

    `update` with a history that extends the previous one (an expanding window) runs the fitted
    model over the new steps only, from the state it had reached: each backtest origin costs its
    own few steps, not the whole history again (300 origins of a 50,000-step series took minutes).
    """

    def __init__(self) -> None:
        super().__init__()
        self.results: list[Any] = []  # one statsmodels results object per column
        self.warning_counts: Counter[str] = Counter()

    @property
    def convergence_warnings(self) -> int:
        return self.warning_counts["ConvergenceWarning"]

    def _quietly(self, fit: Any) -> Any:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = fit()
        self.warning_counts.update(warning.category.__name__ for warning in caught)
        return result

    def _fit(self, history: np.ndarray) -> None:
        self.results = [self._quietly(lambda c=column: self._fit_column(c)) for column in history.T]

    def _update(self, history: np.ndarray) -> None:
        seen = self.history
        if len(history) >= len(seen) and np.array_equal(history[: len(seen)], seen):
            if len(history) == len(seen):
                return  # nothing new
            # The last step already seen, then the new ones (ETS restarts from the state before it).
            columns, update = history[len(seen) - 1 :].T, self._extend_column
        else:
            columns, update = history.T, self._update_column
        self.results = [
            self._quietly(lambda c=column, r=result: update(c, r)) for column, result in zip(columns, self.results)
        ]

    def _predict(self, horizon: int) -> np.ndarray:
        return np.stack([np.asarray(result.forecast(horizon)) for result in self.results], axis=1)

    def _fit_column(self, values: np.ndarray) -> Any:
        raise NotImplementedError

    def _extend_column(self, segment: np.ndarray, result: Any) -> Any:
        """`result` run on over the new steps: `segment` is the last step `result` saw, then those."""
        raise NotImplementedError

    def _update_column(self, values: np.ndarray, result: Any) -> Any:
        """`result`'s estimates applied to a history that does not extend the last one."""
        raise NotImplementedError


class ETS(StatsmodelsBaseline):
    """Exponential smoothing (statsmodels `ExponentialSmoothing`), additive components.

    Holt-Winters (additive trend and seasonality) when a period > 1 is known and the history holds
    at least two full seasons; otherwise Holt's linear trend (3 steps or more), or simple
    exponential smoothing. `trend=None` drops the trend. Parameters and initial states are
    estimated by statsmodels' defaults. `update` keeps the smoothing parameters: a longer history
    continues the smoothing from the states reached; one that starts elsewhere (a sliding window)
    has its initial states estimated again.
    """

    name = "ets"
    uses_period = True

    def __init__(self, period: int | None = None, trend: str | None = "add", damped_trend: bool = False):
        super().__init__()
        if trend not in ("add", None):
            raise ValueError(f"ets `trend` must be 'add' or None (got {trend!r})")
        self.period = period
        self.trend = trend
        self.damped_trend = damped_trend

    def model_options(self, steps: int) -> dict[str, Any]:
        """The ExponentialSmoothing arguments used for a history of `steps` steps."""
        trend = self.trend if steps >= 3 else None
        options: dict[str, Any] = {"trend": trend, "damped_trend": self.damped_trend and trend is not None}
        if self.period is not None and self.period > 1 and steps >= 2 * self.period:
            options.update(seasonal="add", seasonal_periods=self.period)
        return options

    def _fit(self, history: np.ndarray) -> None:
        self.fitted_options = self.model_options(len(history))
        super()._fit(history)

    def _fit_column(self, values: np.ndarray) -> Any:
        from statsmodels.tsa.holtwinters import ExponentialSmoothing  # slow import: on first use

        return ExponentialSmoothing(values, **self.fitted_options).fit()

    def _update(self, history: np.ndarray) -> None:
        if self.model_options(len(history)) != self.fitted_options:
            self._fit(history)  # a different model (e.g. seasonal now): nothing to keep
        else:
            super()._update(history)

    @staticmethod
    def _smoothing(result: Any) -> dict[str, float]:
        params = result.params
        return {
            name: params[name]
            for name in ("smoothing_level", "smoothing_trend", "smoothing_seasonal", "damping_trend")
            if params.get(name) is not None and np.isfinite(params[name])
        }

    def _extend_column(self, segment: np.ndarray, result: Any) -> Any:
        from statsmodels.tsa.holtwinters import ExponentialSmoothing

        # statsmodels smooths no fewer than two steps, so the smoothing restarts one step back: from
        # the states before the last step `result` saw (its initial states, then one per step).
        params = result.params
        initial = {"initial_level": np.append(params["initial_level"], result.level)[-2]}
        if self.fitted_options["trend"] is not None:
            initial["initial_trend"] = np.append(params["initial_trend"], result.trend)[-2]
        if "seasonal" in self.fitted_options:
            seasons = np.append(params["initial_seasons"], result.season)
            initial["initial_seasonal"] = seasons[-self.period - 1 : -1]
        model = ExponentialSmoothing(segment, **self.fitted_options, initialization_method="known", **initial)
        return model.fit(**self._smoothing(result), optimized=False)

    def _update_column(self, values: np.ndarray, result: Any) -> Any:
        from statsmodels.tsa.holtwinters import ExponentialSmoothing

        # A history that starts elsewhere: the initial states are estimated again, the smoothing
        # parameters given to fit() are held fixed.
        return ExponentialSmoothing(values, **self.fitted_options).fit(**self._smoothing(result))

    def __repr__(self) -> str:
        return f"ETS(period={self.period}, trend={self.trend!r}, damped_trend={self.damped_trend})"


class ARIMA(StatsmodelsBaseline):
    """statsmodels ARIMA(p, d, q), seasonal (P, D, Q, period) only when `seasonal_order` is given.

    The default (1, 1, 1) is a small, usually stable choice; seasonal ARIMA is opt-in because its
    state grows with the period (hourly data with period 24 or 168 fits slowly). `update` applies the
    fitted coefficients to the new history without re-estimating them: a longer history continues
    the filter from its last state.
    """

    name = "arima"
    uses_period = True

    def __init__(
        self,
        order: tuple[int, int, int] = (1, 1, 1),
        seasonal_order: tuple[int, int, int] | None = None,
        period: int | None = None,
    ):
        super().__init__()
        if seasonal_order is not None and (period is None or period < 2):
            raise ValueError(f"arima `seasonal_order` {seasonal_order} needs a `period` >= 2 (got {period})")
        self.order = tuple(order)
        self.seasonal_order = None if seasonal_order is None else tuple(seasonal_order)
        self.period = period

    def model_options(self) -> dict[str, Any]:
        """The statsmodels ARIMA arguments."""
        seasonal = (0, 0, 0, 0) if self.seasonal_order is None else (*self.seasonal_order, self.period)
        return {"order": self.order, "seasonal_order": seasonal}

    def min_history(self) -> int:
        p, d, q = self.order
        seasonal = 0
        if self.seasonal_order is not None:
            big_p, big_d, big_q = self.seasonal_order
            seasonal = (big_d + max(big_p, big_q)) * self.period
        return d + max(p, q) + seasonal + 2

    def _fit_column(self, values: np.ndarray) -> Any:
        from statsmodels.tsa.arima.model import ARIMA as StatsmodelsARIMA

        return StatsmodelsARIMA(values, **self.model_options()).fit()

    def _extend_column(self, segment: np.ndarray, result: Any) -> Any:
        return result.extend(segment[1:])  # the Kalman filter goes on from its last state

    def _update_column(self, values: np.ndarray, result: Any) -> Any:
        return result.apply(values)

    def __repr__(self) -> str:
        return f"ARIMA(order={self.order}, seasonal_order={self.seasonal_order}, period={self.period})"


BASELINES: dict[str, type[Baseline]] = {
    baseline.name: baseline
    for baseline in (Naive, SeasonalNaive, Drift, Mean, MovingAverage, ETS, ARIMA)
}


def make_baseline(name: str, period: int | None = None, **options: Any) -> Baseline:
    """An unfitted baseline by name; `period` reaches those that use one (seasonal_naive, ets, arima).

    E.g. make_baseline("seasonal_naive", period=12), make_baseline("moving_average", window=7).
    """
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; choices: {', '.join(BASELINES)}")
    factory = BASELINES[name]
    if factory.uses_period:
        options = {"period": period, **options}
    try:
        return factory(**options)
    except TypeError as error:
        raise ValueError(f"baseline {name!r}: {error}") from error
