"""Sliding windows against hand-written loops; scalers against scikit-learn, fitted on train only."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.preprocessing import MinMaxScaler as SklearnMinMaxScaler
from sklearn.preprocessing import StandardScaler as SklearnStandardScaler

from trainlab.data.series import TimeSeries, chronological_split
from trainlab.data.windows import (
    make_scaler,
    make_windows,
    make_windows_after,
    scaler_from_state,
    window_splits,
)
from trainlab.errors import TrainlabError


def windows_by_hand(values, window, horizon, stride, covariates=None):
    features = values if covariates is None else np.concatenate([values, covariates], axis=1)
    inputs, targets = [], []
    start = 0
    while start + window + horizon <= len(values):
        inputs.append(features[start : start + window])
        targets.append(values[start + window : start + window + horizon])
        start += stride
    return np.stack(inputs), np.stack(targets)


@pytest.mark.parametrize(
    ("steps", "window", "horizon", "stride"),
    [(20, 4, 1, 1), (23, 5, 3, 2), (30, 6, 4, 5), (7, 4, 3, 1)],
)
def test_windows_match_a_hand_written_loop(steps, window, horizon, stride):
    generator = np.random.default_rng(steps)
    values = generator.normal(size=(steps, 2)).astype(np.float32)
    covariates = generator.normal(size=(steps, 3)).astype(np.float32)
    inputs, targets = make_windows(values, window, horizon, stride, covariates)
    expected_inputs, expected_targets = windows_by_hand(values, window, horizon, stride, covariates)
    assert inputs.shape == (len(expected_inputs), window, 5) and targets.shape[1:] == (horizon, 2)
    np.testing.assert_array_equal(inputs, expected_inputs)
    np.testing.assert_array_equal(targets, expected_targets)
    assert inputs.flags.c_contiguous and inputs.dtype == np.float32


def test_window_and_horizon_longer_than_the_series():
    with pytest.raises(TrainlabError) as error:
        make_windows(np.zeros((10, 1)), window=8, horizon=3, label="the training split")
    assert str(error.value) == (
        "the training split has 10 steps, fewer than data.window (8) + data.horizon (3); "
        "lower data.window or data.horizon"
    )


def test_split_windows_reach_back_for_inputs_but_keep_targets_inside():
    history = np.arange(0, 50, dtype=np.float32)[:, None]
    split = np.arange(50, 62, dtype=np.float32)[:, None]
    inputs, targets = make_windows_after(history, split, window=6, horizon=2)
    # Windows over history[-6:] + split, by hand: the first predicts the split's first two steps.
    expected_inputs, expected_targets = windows_by_hand(
        np.concatenate([history[-6:], split]), 6, 2, 1
    )
    np.testing.assert_array_equal(inputs, expected_inputs)
    np.testing.assert_array_equal(targets, expected_targets)
    assert targets[0, :, 0].tolist() == [50, 51] and inputs[0, :, 0].tolist() == [
        44,
        45,
        46,
        47,
        48,
        49,
    ]
    assert targets.min() >= 50 and targets.max() <= 61  # every target inside the split
    assert len(targets) == len(split) - 2 + 1  # every start in the split is forecast


def test_split_windows_with_a_short_history_and_covariates():
    history, split = np.arange(3.0)[:, None], np.arange(3.0, 13.0)[:, None]
    history_covariates, covariates = -history, -split
    inputs, targets = make_windows_after(history, split, 5, 1, 1, history_covariates, covariates)
    joined, joined_covariates = np.arange(13.0)[:, None], -np.arange(13.0)[:, None]
    expected_inputs, expected_targets = windows_by_hand(joined, 5, 1, 1, joined_covariates)
    np.testing.assert_array_equal(inputs, expected_inputs)
    np.testing.assert_array_equal(targets, expected_targets)
    assert targets.min() >= 3  # the 3 history steps are inputs only


def test_horizon_longer_than_the_test_split():
    with pytest.raises(TrainlabError) as error:
        make_windows_after(np.zeros((50, 1)), np.zeros((4, 1)), window=12, horizon=6)
    assert str(error.value) == (
        "data.horizon (6) must be <= the length of the test split (4); "
        "lower data.horizon or make the test split longer"
    )


@pytest.mark.parametrize(
    ("kind", "reference"), [("standard", SklearnStandardScaler), ("minmax", SklearnMinMaxScaler)]
)
def test_scalers_match_scikit_learn(kind, reference):
    generator = np.random.default_rng(0)
    train = generator.normal(5.0, 3.0, size=(200, 3))
    train[:, 2] = 4.0  # a constant column must not divide by zero
    test = generator.normal(9.0, 1.0, size=(50, 3))
    ours = make_scaler(kind).fit(train)
    theirs = reference().fit(train)
    np.testing.assert_allclose(ours.transform(test), theirs.transform(test), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        ours.inverse_transform(ours.transform(test)), test, rtol=1e-5, atol=1e-5
    )
    # Predictions (N, horizon, n) invert column-wise too.
    batch = test.reshape(5, 10, 3)
    np.testing.assert_allclose(
        ours.inverse_transform(batch),
        theirs.inverse_transform(batch.reshape(-1, 3)).reshape(5, 10, 3),
        rtol=1e-5,
    )

    restored = scaler_from_state(json.loads(json.dumps(ours.state_dict())))
    np.testing.assert_array_equal(restored.transform(test), ours.transform(test))


def test_identity_scaler_and_unknown_or_unfitted_scalers():
    values = np.array([[1.5, -2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(make_scaler("none").fit(values).transform(values), values)
    with pytest.raises(
        TrainlabError, match="data.scaler=robust: choose one of none, standard, minmax"
    ):
        make_scaler("robust")
    with pytest.raises(ValueError, match="StandardScaler is not fitted"):
        make_scaler("standard").transform(values)


def trending_series(steps: int = 120) -> TimeSeries:
    """A trend plus noise: the test part's mean is far from the training part's."""
    generator = np.random.default_rng(1)
    time = np.arange(steps, dtype=np.float64)
    values = np.stack([time + generator.normal(size=steps), 2 * time], axis=1).astype(np.float32)
    covariates = (time**2)[:, None].astype(np.float32)
    times = pd.date_range("2000-01-01", periods=steps, freq="D")
    return TimeSeries("trend", times, values, covariates, ["a", "b"], ["c"], "D")


def test_scaling_never_sees_validation_or_test_values():
    series = trending_series()
    splits = chronological_split(series, val_fraction=0.1, test_fraction=0.2)
    windows = window_splits(splits, window=10, horizon=3, stride=1, scaler="standard")

    train_steps = len(splits.train)
    targets_only_train = SklearnStandardScaler().fit(series.values[:train_steps])
    covariates_only_train = SklearnStandardScaler().fit(series.covariates[:train_steps])
    np.testing.assert_allclose(
        windows.target_scaler.offset, series.values[:train_steps].mean(axis=0), rtol=1e-6
    )
    assert not np.allclose(windows.target_scaler.offset, series.values.mean(axis=0))

    # Test windows by hand: the whole series scaled with train-only statistics, then windows whose
    # targets start at the test split's first step.
    scaled = np.concatenate(
        [
            targets_only_train.transform(series.values),
            covariates_only_train.transform(series.covariates),
        ],
        axis=1,
    )
    test_start = train_steps + len(splits.val)
    inputs, targets = windows_by_hand(scaled[test_start - 10 :], 10, 3, 1)
    np.testing.assert_allclose(windows.test[0].numpy(), inputs, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(windows.test[1].numpy(), targets[:, :, :2], rtol=1e-5, atol=1e-5)
    assert len(windows.test[0]) == len(splits.test) - 3 + 1


def test_stride_thins_training_windows_only():
    splits = chronological_split(trending_series(), val_fraction=0.1, test_fraction=0.2)
    windows = window_splits(splits, window=10, horizon=3, stride=4, scaler="none")
    train_inputs, train_targets = windows_by_hand(
        np.concatenate([splits.train.values, splits.train.covariates], axis=1), 10, 3, 4
    )
    np.testing.assert_array_equal(windows.train[0].numpy(), train_inputs)
    np.testing.assert_array_equal(windows.train[1].numpy(), train_targets[:, :, :2])
    assert len(windows.val[0]) == len(splits.val) - 3 + 1
    assert windows.train[0].dtype == windows.test[1].dtype == torch.float32
