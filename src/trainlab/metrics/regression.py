"""Point-forecast metrics on the original scale: MAE, RMSE, MAPE, sMAPE and MASE.

Every function takes `actual` and `predicted` of the same shape (N, horizon) or (N, horizon,
targets): N forecasts of `horizon` steps (a single forecast may be passed as (horizon,)). The
functions return the average over every element; `forecast_metrics` adds the same metrics per
horizon step. Percentages are in percent: MAPE in [0, inf), sMAPE in [0, 200].
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _pair(actual: Any, predicted: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as float64 (N, horizon, targets), after checking that their shapes agree."""
    actual = np.asarray(actual, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    if actual.shape != predicted.shape:
        raise ValueError(
            f"actual {actual.shape} and predicted {predicted.shape} must have the same shape "
            f"(N, horizon) or (N, horizon, targets)"
        )
    if actual.ndim == 1:  # one forecast
        actual, predicted = actual[None], predicted[None]
    if actual.ndim == 2:  # one target
        actual, predicted = actual[..., None], predicted[..., None]
    if actual.ndim != 3 or actual.size == 0:
        raise ValueError(
            f"actual and predicted must be non-empty (N, horizon) or (N, horizon, targets) arrays "
            f"(got shape {actual.shape})"
        )
    return actual, predicted


def _by_step(values: np.ndarray) -> np.ndarray:
    """Mean over forecasts and targets of (N, horizon, targets) values: (horizon,)."""
    return values.mean(axis=(0, 2))


def absolute_errors(actual: Any, predicted: Any) -> np.ndarray:
    actual, predicted = _pair(actual, predicted)
    return np.abs(actual - predicted)  # (N, horizon, targets)


def mae(actual: Any, predicted: Any) -> float:
    """Mean absolute error."""
    return float(absolute_errors(actual, predicted).mean())


def rmse(actual: Any, predicted: Any) -> float:
    """Root of the mean squared error over every element."""
    actual, predicted = _pair(actual, predicted)
    return float(np.sqrt(((actual - predicted) ** 2).mean()))


def _percentage_errors(actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    zeros = int((actual == 0).sum())
    if zeros:
        raise ValueError(
            f"MAPE is undefined: the actuals hold {zeros} zero{'s' if zeros > 1 else ''} "
            f"(of {actual.size} values); use smape or mase instead"
        )
    return 100 * np.abs((actual - predicted) / actual)


def mape(actual: Any, predicted: Any) -> float:
    """Mean absolute percentage error, 100 * mean(|a - p| / |a|); raises on zeros in the actuals."""
    return float(_percentage_errors(*_pair(actual, predicted)).mean())


def _symmetric_percentage_errors(actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    denominator = np.abs(actual) + np.abs(predicted)
    # a = p = 0 is a perfect forecast: the 0/0 term counts as 0, not NaN.
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, 200 * np.abs(actual - predicted) / safe, 0.0)


def smape(actual: Any, predicted: Any) -> float:
    """Symmetric MAPE in [0, 200]: mean of 200 * |a - p| / (|a| + |p|), 0/0 terms counting as 0.

    This is the M3/M4 definition (the denominator is the mean of |a| and |p|).
    """
    return float(_symmetric_percentage_errors(*_pair(actual, predicted)).mean())


def seasonal_naive_scale(train_history: Any, period: int = 1) -> np.ndarray:
    """The in-sample MAE of the seasonal-naive forecast y[t] = y[t - period], per target column.

    Args:
        train_history: the training part (T,) or (T, targets).
    Returns:
        (targets,) mean of |y[t] - y[t - period]| over t = period .. T-1.
    """
    history = np.asarray(train_history, dtype=np.float64)
    if history.ndim == 1:
        history = history[:, None]
    if history.ndim != 2:
        raise ValueError(f"train_history must be (T,) or (T, targets) (got shape {history.shape})")
    if period < 1:
        raise ValueError(f"the MASE period must be >= 1 (got {period})")
    if len(history) < period + 1:
        raise ValueError(
            f"MASE needs a training part longer than the period: {len(history)} steps for period "
            f"{period}; give a longer history or a smaller period"
        )
    scale = np.abs(history[period:] - history[:-period]).mean(axis=0)
    flat = np.flatnonzero(scale == 0)
    if flat.size:
        raise ValueError(
            f"MASE is undefined: the in-sample seasonal-naive MAE (period {period}) of target "
            f"column(s) {flat.tolist()} is 0 (the training part repeats exactly); use mae instead"
        )
    return scale


def _scaled_errors(
    actual: np.ndarray, predicted: np.ndarray, train_history: Any, period: int
) -> np.ndarray:
    scale = seasonal_naive_scale(train_history, period)
    if scale.shape[0] != actual.shape[2]:
        raise ValueError(
            f"train_history has {scale.shape[0]} target column(s) but the forecasts have "
            f"{actual.shape[2]}"
        )
    return np.abs(actual - predicted) / scale  # (N, horizon, targets)


def mase(actual: Any, predicted: Any, train_history: Any, period: int = 1) -> float:
    """Mean absolute scaled error: MAE / the in-sample seasonal-naive MAE of `train_history`.

    Each target column is scaled by its own in-sample MAE (period `period`; 1 is the naive
    forecast), then the scaled errors are averaged. Below 1: better than the in-sample
    seasonal-naive forecast.
    """
    actual, predicted = _pair(actual, predicted)
    return float(_scaled_errors(actual, predicted, train_history, period).mean())


def forecast_metrics(
    actual: Any, predicted: Any, train_history: Any = None, period: int = 1
) -> dict[str, Any]:
    """Every metric, averaged and per horizon step, as a JSON-able dict.

    Returns:
        {"mae", "rmse", "mape", "smape", "mase": float or None, "mae_by_step", ...: lists of
        `horizon` floats}. A metric that is undefined for these data (MAPE with zeros in the
        actuals, MASE without a training history or with a zero scale) is None, and
        "<metric>_undefined" holds the reason.
    """
    actual, predicted = _pair(actual, predicted)
    errors = actual - predicted
    squared_by_step = _by_step(errors**2)
    per_element = {
        "mae": np.abs(errors),
        "smape": _symmetric_percentage_errors(actual, predicted),
    }
    reasons: dict[str, str] = {}
    try:
        per_element["mape"] = _percentage_errors(actual, predicted)
    except ValueError as error:
        reasons["mape"] = str(error)
    if train_history is None:
        reasons["mase"] = "MASE needs the training part of the series (train_history)"
    else:
        try:
            per_element["mase"] = _scaled_errors(actual, predicted, train_history, period)
        except ValueError as error:
            reasons["mase"] = str(error)

    metrics: dict[str, Any] = {}
    by_step: dict[str, Any] = {
        "rmse_by_step": np.sqrt(squared_by_step).tolist(),
    }
    for name in ("mae", "rmse", "mape", "smape", "mase"):
        if name == "rmse":
            metrics["rmse"] = float(np.sqrt((errors**2).mean()))
        elif name in per_element:
            metrics[name] = float(per_element[name].mean())
            by_step[f"{name}_by_step"] = _by_step(per_element[name]).tolist()
        else:
            metrics[name] = None
            by_step[f"{name}_by_step"] = None
            metrics[f"{name}_undefined"] = reasons[name]
    return {**metrics, **by_step}
