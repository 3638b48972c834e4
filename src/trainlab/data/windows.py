"""From split series to model inputs: scalers fitted on the training part, then sliding windows.

A window is `window` consecutive steps of inputs (targets, then covariates) and the `horizon`
target steps that follow. Validation and test windows may take their inputs from the steps before
their split (its history), so the first steps of a split are forecast too; their targets always lie
inside the split, and the scalers only ever see training values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view

from trainlab.data.series import SeriesSplits, TimeSeries
from trainlab.errors import TrainlabError


class Scaler:
    """Per-column scaling of (..., n) arrays: `transform(x) = (x - offset) / scale`, float32 out.

    Subclasses say how `fit` finds `offset` and `scale` (one value per column).
    """

    kind: str

    def __init__(self) -> None:
        self.offset: np.ndarray | None = None
        self.scale: np.ndarray | None = None

    def fit(self, values: np.ndarray) -> Scaler:
        """Learn the statistics of each column of `values` (T, n); returns self."""
        self.offset, self.scale = self._statistics(np.asarray(values, dtype=np.float64))
        return self

    def _statistics(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def transform(self, values: np.ndarray) -> np.ndarray:
        offset, scale = self._fitted()
        return ((np.asarray(values, dtype=np.float64) - offset) / scale).astype(np.float32)

    def inverse_transform(self, values: np.ndarray) -> np.ndarray:
        offset, scale = self._fitted()
        return (np.asarray(values, dtype=np.float64) * scale + offset).astype(np.float32)

    def _fitted(self) -> tuple[np.ndarray, np.ndarray]:
        if self.offset is None or self.scale is None:
            raise ValueError(
                f"{type(self).__name__} is not fitted: call fit(training values) first"
            )
        return self.offset, self.scale

    def state_dict(self) -> dict[str, Any]:
        """JSON-able state: {"kind": ..., "offset": [...], "scale": [...]}."""
        offset, scale = self._fitted()
        return {"kind": self.kind, "offset": offset.tolist(), "scale": scale.tolist()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("kind") != self.kind:
            raise ValueError(
                f"a {state.get('kind')!r} scaler state cannot load into a {self.kind!r} one"
            )
        self.offset = np.asarray(state["offset"], dtype=np.float64)
        self.scale = np.asarray(state["scale"], dtype=np.float64)


class IdentityScaler(Scaler):
    """Leaves values as they are (data.scaler=none)."""

    kind = "none"

    def _statistics(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(values.shape[1]), np.ones(values.shape[1])


class StandardScaler(Scaler):
    """Zero mean, unit variance per column (population standard deviation, as scikit-learn's)."""

    kind = "standard"

    def _statistics(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        deviation = values.std(axis=0)
        # A constant column is only centred, as in scikit-learn, instead of divided by zero.
        return values.mean(axis=0), np.where(deviation > 0, deviation, 1.0)


class MinMaxScaler(Scaler):
    """Each column mapped to [0, 1] over the fitted range (values outside it land outside [0, 1])."""

    kind = "minmax"

    def _statistics(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        low, high = values.min(axis=0), values.max(axis=0)
        return low, np.where(high > low, high - low, 1.0)


SCALERS: dict[str, type[Scaler]] = {
    scaler.kind: scaler for scaler in (IdentityScaler, StandardScaler, MinMaxScaler)
}


def make_scaler(kind: str) -> Scaler:
    """An unfitted scaler by `data.scaler` name: "standard", "minmax" or "none"."""
    if kind not in SCALERS:
        raise TrainlabError(f"data.scaler={kind}: choose one of {', '.join(SCALERS)}")
    return SCALERS[kind]()


def scaler_from_state(state: dict[str, Any]) -> Scaler:
    """Rebuild a fitted scaler from its `state_dict()` (e.g. read back from a run directory)."""
    scaler = make_scaler(state["kind"])
    scaler.load_state_dict(state)
    return scaler


def make_windows(
    values: np.ndarray,
    window: int,
    horizon: int,
    stride: int = 1,
    covariates: np.ndarray | None = None,
    label: str = "the series",
) -> tuple[np.ndarray, np.ndarray]:
    """Every `stride`-th window of a series, without a Python loop over windows.

    Args:
        values: targets (T, n_targets); covariates: optional (T, n_covariates) inputs.
        label: how error messages name the series, e.g. "the training split".

    Returns:
        inputs (N, window, n_targets + n_covariates) and targets (N, horizon, n_targets), float32;
        window i reads steps [i * stride, i * stride + window) and predicts the `horizon` after them.
    """
    steps = len(values)
    if steps < window + horizon:
        raise TrainlabError(
            f"{label} has {steps} steps, fewer than data.window ({window}) + data.horizon "
            f"({horizon}); lower data.window or data.horizon"
        )
    features = values if covariates is None else np.concatenate([values, covariates], axis=1)
    # sliding_window_view puts the window axis last: (N, n_features, window) -> (N, window, n_features)
    inputs = sliding_window_view(features[: steps - horizon], window, axis=0)[::stride]
    targets = sliding_window_view(values[window:], horizon, axis=0)[::stride]
    return (
        np.ascontiguousarray(inputs.transpose(0, 2, 1), dtype=np.float32),
        np.ascontiguousarray(targets.transpose(0, 2, 1), dtype=np.float32),
    )


def make_windows_after(
    history: np.ndarray | None,
    values: np.ndarray,
    window: int,
    horizon: int,
    stride: int = 1,
    history_covariates: np.ndarray | None = None,
    covariates: np.ndarray | None = None,
    label: str = "the test split",
) -> tuple[np.ndarray, np.ndarray]:
    """The windows whose targets lie in `values` while their inputs may reach back into `history`.

    With at least `window` steps of history, the first window predicts the split's first step
    from the last `window` steps before it. Same shapes as `make_windows`.
    """
    if len(values) < horizon:
        raise TrainlabError(
            f"data.horizon ({horizon}) must be <= the length of {label} ({len(values)}); "
            f"lower data.horizon or make {label} longer"
        )
    # Every target sits at least `window` steps after the start of the joined series, so after
    # at most `window` steps of history: inside the split.
    context = 0 if history is None else min(window, len(history))
    joined = np.concatenate([history[len(history) - context :], values]) if context else values
    joined_covariates = covariates
    if context and covariates is not None:
        assert history_covariates is not None, "a history without the covariates of its split"
        joined_covariates = np.concatenate(
            [history_covariates[len(history_covariates) - context :], covariates]
        )
    return make_windows(joined, window, horizon, stride, joined_covariates, label)


Pair = tuple[
    torch.Tensor, torch.Tensor
]  # inputs (N, window, n_features), targets (N, horizon, n_targets)


@dataclass
class ForecastWindows:
    """Scaled windows of each split and the scalers that undo the scaling of predictions."""

    train: Pair
    val: Pair | None
    test: Pair
    target_scaler: Scaler
    covariate_scaler: Scaler | None


def window_splits(
    splits: SeriesSplits, window: int, horizon: int, stride: int = 1, scaler: str = "standard"
) -> ForecastWindows:
    """Fit the scalers on the training part only, then cut every split into windows.

    `stride` thins the training windows; validation and test keep every window (stride 1), so that
    their metrics do not depend on a setting chosen to train faster.
    """
    target_scaler = make_scaler(scaler).fit(splits.train.values)
    covariate_scaler = None
    if splits.train.covariates is not None:
        covariate_scaler = make_scaler(scaler).fit(splits.train.covariates)

    def scaled(series: TimeSeries) -> tuple[np.ndarray, np.ndarray | None]:
        covariates = None
        if covariate_scaler is not None and series.covariates is not None:
            covariates = covariate_scaler.transform(series.covariates)
        return target_scaler.transform(series.values), covariates

    def after(history: TimeSeries | None, part: TimeSeries, label: str) -> Pair:
        history_values, history_covariates = None, None
        if history is not None:  # only its last `window` steps can be inputs
            history_values, history_covariates = scaled(
                history.part(max(len(history) - window, 0), len(history))
            )
        values, covariates = scaled(part)
        pair = make_windows_after(
            history_values, values, window, horizon, 1, history_covariates, covariates, label
        )
        return _tensors(pair)

    train_values, train_covariates = scaled(splits.train)
    train = _tensors(
        make_windows(train_values, window, horizon, stride, train_covariates, "the training split")
    )
    val = None
    if splits.val is not None:
        val = after(splits.val_history, splits.val, "the validation split")
    test = after(splits.test_history, splits.test, "the test split")
    return ForecastWindows(train, val, test, target_scaler, covariate_scaler)


def _tensors(pair: tuple[np.ndarray, np.ndarray]) -> Pair:
    # Windows may be read-only views of the series (they overlap): batches get their own copy.
    return torch.from_numpy(np.array(pair[0])), torch.from_numpy(np.array(pair[1]))
