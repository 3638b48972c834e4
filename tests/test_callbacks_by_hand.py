"""Callbacks driven by hand with scripted logs, no training (as Keras tests its callbacks)."""

from __future__ import annotations

import csv

import pytest
import torch
from torch import nn

from trainlab.config import ScheduleConfig
from trainlab.training.callbacks import (
    EarlyStopping,
    GradientClipping,
    HistoryCSV,
    LearningRateScheduler,
    MonitorCallback,
    NaNGuard,
)
from trainlab.training.state import TrainState


def make_state() -> TrainState:
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    return TrainState(model, torch.optim.SGD(model.parameters(), lr=1.0), max_epochs=50, steps_per_epoch=1)


def end_epoch(callback, state: TrainState, **logs) -> None:
    state.epoch += 1
    state.logs = {"epoch": state.epoch, **logs}
    callback.on_epoch_end(state)


def test_early_stopping_waits_patience_epochs_then_stops():
    state, callback = make_state(), EarlyStopping("val_loss", "min", patience=2, min_delta=0.05)
    callback.on_fit_start(state)
    for loss in (1.0, 0.9, 0.87, 0.86):  # 0.87 and 0.86 are within min_delta of 0.9
        end_epoch(callback, state, val_loss=loss)
    assert state.should_stop and callback.stopped_epoch == 4
    assert (callback.best, callback.best_epoch) == (0.9, 2)


def test_early_stopping_max_mode_and_restore_when_it_never_fired():
    state, callback = make_state(), EarlyStopping("val_accuracy", "max", patience=None)
    callback.on_fit_start(state)
    end_epoch(callback, state, val_accuracy=0.5)
    best = {name: tensor.clone() for name, tensor in state.model.state_dict().items()}
    with torch.no_grad():
        state.model.weight.add_(1.0)
    end_epoch(callback, state, val_accuracy=0.4)
    callback.on_fit_end(state)
    assert not state.should_stop
    assert all(torch.equal(state.model.state_dict()[name], tensor) for name, tensor in best.items())


def test_early_stopping_resets_at_fit_start_and_round_trips_its_state():
    state, callback = make_state(), EarlyStopping("val_loss", "min", patience=3)
    callback.on_fit_start(state)
    end_epoch(callback, state, val_loss=0.3)
    end_epoch(callback, state, val_loss=0.4)
    other = EarlyStopping("val_loss", "min", patience=3)
    other.load_state_dict(callback.state_dict())
    assert (other.best, other.best_epoch, other.wait) == (0.3, 1, 1)
    callback.on_fit_start(state)
    assert (callback.best, callback.wait, callback.best_weights) == (float("inf"), 0, None)


def test_missing_monitor_warns_with_the_keys_there_are():
    state, callback = make_state(), EarlyStopping("val_auc", "max")
    callback.on_fit_start(state)
    with pytest.warns(UserWarning, match="'val_auc' is not in the logs; available: epoch, val_loss"):
        end_epoch(callback, state, val_loss=1.0)


def test_monitor_validates_its_arguments():
    with pytest.raises(ValueError, match="mode must be 'min' or 'max', got 'bigger'"):
        MonitorCallback("val_loss", "bigger")
    with pytest.raises(ValueError, match="min_delta must be >= 0, got -1"):
        MonitorCallback("val_loss", "min", min_delta=-1)


def test_plateau_matches_reduce_lr_on_plateau():
    losses = [1.0, 0.9, 0.9, 0.95, 0.91, 0.8, 0.85, 0.85, 0.85, 0.7, 0.9, 0.9, 0.9, 0.9]
    reference_parameter = nn.Parameter(torch.zeros(1))
    reference_optimizer = torch.optim.SGD([reference_parameter], lr=1.0)
    reference = torch.optim.lr_scheduler.ReduceLROnPlateau(
        reference_optimizer, mode="min", factor=0.5, patience=1, threshold=0, threshold_mode="abs")
    state = make_state()
    callback = LearningRateScheduler(ScheduleConfig(name="plateau", factor=0.5, patience=1), "val_loss", "min")
    callback.on_fit_start(state)
    for loss in losses:
        callback.on_batch_start(state)
        assert state.optimizer.param_groups[0]["lr"] == pytest.approx(reference_optimizer.param_groups[0]["lr"])
        end_epoch(callback, state, val_loss=loss)
        reference.step(loss)


def test_nan_guard_flags_only_non_finite_losses():
    state, guard = make_state(), NaNGuard()
    state.loss = torch.tensor(0.5)
    guard.on_batch_end(state)
    assert not state.should_stop and not state.diverged
    state.loss = torch.tensor(float("inf"))
    guard.on_batch_end(state)
    assert state.should_stop and state.diverged and "became inf" in state.stop_reason


def test_gradient_clipping_matches_torch():
    state = make_state()
    gradients = [torch.tensor([[3.0, -4.0, 0.5], [1.0, 2.0, -2.0]]), torch.tensor([10.0, -0.1])]
    for parameter, gradient in zip(state.model.parameters(), gradients):
        parameter.grad = gradient.clone()
    reference = [torch.nn.Parameter(torch.zeros_like(g)) for g in gradients]
    for parameter, gradient in zip(reference, gradients):
        parameter.grad = gradient.clone()
    torch.nn.utils.clip_grad_norm_(reference, 1.5)
    GradientClipping(max_norm=1.5).after_backward(state)
    for parameter, expected_parameter in zip(state.model.parameters(), reference):
        assert torch.allclose(parameter.grad, expected_parameter.grad)
    GradientClipping(max_value=0.2).after_backward(state)
    assert all(parameter.grad.abs().max() <= 0.2 for parameter in state.model.parameters())


def test_history_csv_has_one_row_per_epoch_with_every_column(tmp_path):
    state, callback = make_state(), HistoryCSV(tmp_path / "history.csv")
    state.history = [{"epoch": 1, "lr": 0.1, "train_loss": 0.5}, {"epoch": 2, "lr": 0.1, "train_loss": 0.4, "val_loss": 0.6}]
    callback.on_epoch_end(state)
    with (tmp_path / "history.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["epoch", "lr", "train_loss", "val_loss"]
    assert [row["train_loss"] for row in rows] == ["0.5", "0.4"] and rows[0]["val_loss"] == ""


def test_progress_prints_an_epoch_line_off_a_terminal_and_nothing_when_quiet():
    import io

    from trainlab.training.callbacks import ProgressDisplay

    for quiet, expected in ((False, "epoch 1/50  lr 0.1  train_loss 0.5  val_accuracy 0.75  (1.2s)\n"), (True, "")):
        stream = io.StringIO()
        display, state = ProgressDisplay(quiet=quiet, stream=stream), make_state()
        display.on_epoch_start(state)
        end_epoch(display, state, lr=0.1, train_loss=0.5, val_accuracy=0.75, val_macro_f1=0.7, seconds=1.25)
        assert stream.getvalue() == expected
