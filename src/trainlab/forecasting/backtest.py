"""Rolling-origin backtests: every forecaster forecasts from the same origins and is scored alike.

An origin t splits the series into the history (the steps before t) and the `horizon` steps from t
on that are forecast. Origins start at `initial` and advance by `stride`. The history is every step
before t (expanding window) or only the last `window_length` of them (sliding window).

A forecaster is either a baseline (`trainlab.forecasting.baselines`: fitted at every origin, or
fitted at the first origin and then only updated with `refit=False`) or any callable
`forecaster(history (T, k)) -> (horizon, k)`, e.g. a trained network wrapped so that it reads the
last window of the history; with `covariates`, callables are called as
`forecaster(history, covariates=past_covariates (T, c))`, the covariates of the history steps only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from trainlab.forecasting.baselines import Baseline, as_history
from trainlab.metrics.regression import forecast_metrics

if TYPE_CHECKING:
    import pandas as pd

Forecaster = Baseline | Callable[..., Any]
SCALAR_METRICS = ("mae", "rmse", "mape", "smape", "mase")


def origins(series_length: int, initial: int, horizon: int, stride: int = 1) -> list[int]:
    """Forecast origins initial, initial + stride, ... whose `horizon` steps all lie in the series.

    An origin t forecasts steps t .. t + horizon - 1 from the steps before t.
    """
    if initial < 1:
        raise ValueError(f"`initial` ({initial}) must be >= 1: the first forecast needs a history")
    if horizon < 1 or stride < 1:
        raise ValueError(f"`horizon` ({horizon}) and `stride` ({stride}) must be >= 1")
    last = series_length - horizon
    if initial > last:
        raise ValueError(
            f"no forecast origin fits: `initial` ({initial}) + `horizon` ({horizon}) must be <= the "
            f"series length ({series_length})"
        )
    return list(range(initial, last + 1, stride))


@dataclass
class BacktestResult:
    """Scores of every forecaster on the same origins.

    `summary[name]` holds each metric pooled over every origin and step (None when some origin
    leaves it undefined, with the reason under "<metric>_undefined") and per horizon step, pooled
    over origins ("mae_by_step", ...); `per_origin[name]` one dict of scalar metrics per origin.
    Every origin has `horizon` steps, so MAE, MAPE, sMAPE and MASE (each origin's errors over its
    own in-sample scale) pooled are the means of the per-origin values; RMSE is the root of the
    pooled mean squared error, which the mean of per-origin RMSEs is not.
    """

    origins: list[int]
    horizon: int
    period: int
    actuals: np.ndarray  # (n_origins, horizon, k)
    forecasts: dict[str, np.ndarray]  # name -> (n_origins, horizon, k)
    per_origin: dict[str, list[dict[str, Any]]]
    summary: dict[str, dict[str, Any]] = field(default_factory=dict)

    def table(self, metrics: tuple[str, ...] = SCALAR_METRICS) -> pd.DataFrame:
        """One row per forecaster, one column per metric (pooled over origins)."""
        import pandas as pd  # a table for notebooks; the backtest itself needs no pandas

        rows = {name: {metric: scores[metric] for metric in metrics} for name, scores in self.summary.items()}
        return pd.DataFrame.from_dict(rows, orient="index")

    def per_origin_table(self) -> pd.DataFrame:
        """Long format: forecaster, origin, then the metrics of that forecast."""
        import pandas as pd

        rows = [
            {"forecaster": name, **scores}
            for name, per_origin in self.per_origin.items()
            for scores in per_origin
        ]
        return pd.DataFrame(rows)

    def best(self, metric: str = "mase", among: list[str] | None = None) -> str:
        """The forecaster with the lowest pooled `metric` (among some names, e.g. the baselines)."""
        names = among if among is not None else list(self.summary)
        scored = [name for name in names if self.summary[name][metric] is not None]
        if not scored:
            raise ValueError(f"no forecaster among {names} has a defined {metric}")
        return min(scored, key=lambda name: self.summary[name][metric])

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: the setup, the summary and the per-origin scores (not the forecasts)."""
        return {
            "origins": self.origins,
            "horizon": self.horizon,
            "period": self.period,
            "summary": self.summary,
            "per_origin": self.per_origin,
        }


def backtest(
    forecasters: Mapping[str, Forecaster],
    series: Any,
    horizon: int,
    initial: int,
    stride: int = 1,
    window_length: int | None = None,
    refit: bool = True,
    period: int = 1,
    covariates: Any = None,
) -> BacktestResult:
    """Forecast from every origin with every forecaster and score the forecasts.

    Args:
        forecasters: name -> baseline or callable (see the module docstring).
        series: the targets (T,) or (T, k), on the scale the metrics should use.
        horizon, initial, stride: see `origins`.
        window_length: None: expanding window (all earlier steps); else the history is the last
            `window_length` steps (`initial` must be >= window_length).
        refit: baselines are fitted at every origin; False: fitted at the first origin, later only
            updated with the new steps (their estimated parameters are kept). Callables decide for
            themselves.
        period: the seasonal period of MASE's scale, which is the in-sample seasonal-naive MAE of
            all the steps before the origin (whatever the window), so that expanding and sliding
            backtests share one yardstick.
        covariates: optional (T, c) values passed to callables for the history steps.
    """
    values = as_history(series)
    if covariates is not None:
        covariates = np.asarray(covariates, dtype=np.float64)
        if covariates.ndim == 1:
            covariates = covariates[:, None]
        if len(covariates) != len(values):
            raise ValueError(f"covariates have {len(covariates)} steps, the series {len(values)}")
    if window_length is not None and window_length > initial:
        raise ValueError(
            f"`window_length` ({window_length}) must be <= `initial` ({initial}): every sliding "
            f"window must be full"
        )
    starts = origins(len(values), initial, horizon, stride)
    actuals = np.stack([values[origin : origin + horizon] for origin in starts])
    forecasts: dict[str, np.ndarray] = {}
    per_origin: dict[str, list[dict[str, Any]]] = {}
    summary: dict[str, dict[str, Any]] = {}
    for name, forecaster in forecasters.items():
        predictions = []
        for number, origin in enumerate(starts):
            first = 0 if window_length is None else origin - window_length
            history = values[first:origin]
            if isinstance(forecaster, Baseline):
                fitted = forecaster.fit(history) if refit or number == 0 else forecaster.update(history)
                prediction = fitted.predict(horizon)
            elif covariates is None:
                prediction = forecaster(history)
            else:
                prediction = forecaster(history, covariates=covariates[first:origin])
            predictions.append(_checked(prediction, name, origin, (horizon, values.shape[1])))
        forecasts[name] = np.stack(predictions)
        scores = [
            forecast_metrics(actual[None], prediction[None], values[:origin], period)
            for actual, prediction, origin in zip(actuals, forecasts[name], starts)
        ]
        per_origin[name] = [
            {"origin": origin, **{metric: score[metric] for metric in SCALAR_METRICS}}
            for origin, score in zip(starts, scores)
        ]
        summary[name] = _pooled_over_origins(scores, actuals - forecasts[name])
    return BacktestResult(starts, horizon, period, actuals, forecasts, per_origin, summary)


def _checked(prediction: Any, name: str, origin: int, shape: tuple[int, int]) -> np.ndarray:
    prediction = np.asarray(prediction, dtype=np.float64)
    if prediction.ndim == 1 and shape[1] == 1:
        prediction = prediction[:, None]
    if prediction.shape != shape:
        raise ValueError(
            f"forecaster {name!r} returned shape {prediction.shape} at origin {origin}; "
            f"expected (horizon, k) = {shape}"
        )
    return prediction


def _pooled_over_origins(scores: list[dict[str, Any]], errors: np.ndarray) -> dict[str, Any]:
    """Every metric pooled over origins, from the per-origin scores and errors (n_origins, horizon,
    k); None where any origin has None.

    Each origin holds horizon * k errors, so a mean of errors pooled over origins is the mean of the
    per-origin means. A root is not: RMSE is computed from the squared errors themselves.
    """
    summary: dict[str, Any] = {"origins": len(scores)}
    for metric in SCALAR_METRICS:
        undefined = [score[f"{metric}_undefined"] for score in scores if score[metric] is None]
        if undefined:
            summary[metric] = None
            summary[f"{metric}_undefined"] = (
                f"undefined at {len(undefined)} of {len(scores)} origins: {undefined[0]}"
            )
            summary[f"{metric}_by_step"] = None
            continue
        if metric == "rmse":
            summary["rmse"] = float(np.sqrt((errors**2).mean()))
            summary["rmse_by_step"] = np.sqrt((errors**2).mean(axis=(0, 2))).tolist()
            continue
        summary[metric] = float(np.mean([score[metric] for score in scores]))
        steps = np.array([score[f"{metric}_by_step"] for score in scores])
        summary[f"{metric}_by_step"] = steps.mean(axis=0).tolist()
    return summary
