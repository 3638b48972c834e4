"""`log.tensorboard=true`: RUN_DIR/tensorboard/ holds scalar event files equal to the run's history."""

from __future__ import annotations

import csv
import sys

import pytest
import torch
from torch import nn

pytest.importorskip("tensorboard", reason="the tensorboard package is not installed (pip install tensorboard)")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from trainlab.config import apply_overrides, build_config, parse_overrides
from trainlab.experiment import default_callbacks, train_run
from trainlab.training.callbacks import TensorBoardLogger
from trainlab.training.callbacks.tensorboard import scalar_tag
from trainlab.training.state import TrainState

# 60 training digits in batches of 20: three equal batches, so three optimizer steps per epoch.
TINY_SETTINGS = ["train.epochs=3", "data.source=digits", "data.limit=60", "data.batch_size=20",
                 "model.channels=[4]", "model.hidden_size=8"]
TINY_RUN = ["train", "image-classification", "--quiet", *TINY_SETTINGS]
STEPS_PER_EPOCH = 3


def read_scalars(directory) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(str(directory))
    events.Reload()
    return {tag: [(event.step, event.value) for event in events.Scalars(tag)]
            for tag in events.Tags()["scalars"]}


def read_history(run_dir) -> list[dict[str, float]]:
    with open(run_dir / "history.csv", newline="") as file:
        return [{key: float(value) for key, value in row.items()} for row in csv.DictReader(file)]


def tiny_config(*settings: str):
    raw = apply_overrides({"task": "image-classification"}, parse_overrides([*TINY_SETTINGS, *settings]))
    return build_config(raw)


def test_event_files_hold_the_history_of_every_epoch_and_the_loss_of_every_step(tmp_path):
    run_dir = tmp_path / "run"
    train_run(tiny_config("log.tensorboard=true", "log.tensorboard_every_steps=1"), run_dir, quiet=True)
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    scalars = read_scalars(run_dir / "tensorboard")
    history = read_history(run_dir)
    assert len(history) == 3
    epoch_steps = [STEPS_PER_EPOCH * epoch for epoch in (1, 2, 3)]
    for key in history[0]:
        tag = scalar_tag(key)
        assert [step for step, _ in scalars[tag]] == epoch_steps, tag
        # Event files store float32: equal to history.csv up to that rounding.
        assert [value for _, value in scalars[tag]] == pytest.approx([row[key] for row in history], rel=1e-6), tag
    assert {"train/loss", "val/loss", "train/accuracy", "val/accuracy", "lr", "epoch"} <= set(scalars)

    step_losses = scalars["train/loss_step"]
    assert [step for step, _ in step_losses] == list(range(1, 3 * STEPS_PER_EPOCH + 1))
    # Equal batches: an epoch's training loss is the mean of its steps' losses.
    for epoch, row in enumerate(history):
        losses = [value for _, value in step_losses[epoch * STEPS_PER_EPOCH:(epoch + 1) * STEPS_PER_EPOCH]]
        assert sum(losses) / STEPS_PER_EPOCH == pytest.approx(row["train_loss"], rel=1e-5)
    assert [value for _, value in scalars["train/lr_step"]] == pytest.approx([1e-3] * 9)


def test_tensorboard_is_off_by_default(tmp_path):
    callbacks = default_callbacks(tiny_config(), tmp_path, quiet=True)
    assert not any(isinstance(callback, TensorBoardLogger) for callback in callbacks)
    callbacks = default_callbacks(tiny_config("log.tensorboard=true"), tmp_path, quiet=True)
    assert [callback.directory for callback in callbacks if isinstance(callback, TensorBoardLogger)] == [
        tmp_path / "tensorboard"]


def test_without_the_package_the_run_stops_before_writing_anything(trainlab, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as if not installed
    run_dir = tmp_path / "run"
    code, _, err = trainlab(*TINY_RUN, "--out", run_dir, "log.tensorboard=true")
    assert code == 2
    assert err.strip() == ("trainlab: error: log.tensorboard=true needs the tensorboard package: "
                           "pip install tensorboard (or pip install 'trainlab[tensorboard]')")
    assert not run_dir.exists()


def make_state(steps_per_epoch: int) -> TrainState:
    model = nn.Linear(3, 2)
    return TrainState(model, torch.optim.SGD(model.parameters(), lr=0.5), max_epochs=10,
                      steps_per_epoch=steps_per_epoch)


def end_epoch(logger: TensorBoardLogger, state: TrainState, loss: float) -> None:
    state.step += state.steps_per_epoch
    state.epoch += 1
    state.logs = {"epoch": state.epoch, "lr": 0.5, "train_loss": loss}
    state.history.append(dict(state.logs))
    logger.on_epoch_end(state)


def test_a_resumed_run_replaces_what_the_killed_run_wrote_after_its_checkpoint(tmp_path):
    """Killed after epoch 3 with its checkpoint at epoch 2: the resumed run's epoch 3 replaces the
    killed run's, and TensorBoard shows each epoch once."""
    killed_state, killed = make_state(steps_per_epoch=4), TensorBoardLogger(tmp_path)
    killed.on_fit_start(killed_state)
    for loss in (3.0, 2.0, 1.5):
        end_epoch(killed, killed_state, loss)
    killed.writer.flush()  # a SIGKILL: no on_fit_end

    resumed_state = make_state(steps_per_epoch=4)
    resumed_state.epoch, resumed_state.step = 2, 8  # as restored from the epoch-2 checkpoint
    resumed = TensorBoardLogger(tmp_path)
    resumed.on_fit_start(resumed_state)
    for loss in (1.25, 1.0):
        end_epoch(resumed, resumed_state, loss)
    resumed.on_fit_end(resumed_state)

    scalars = read_scalars(tmp_path)
    assert scalars["train/loss"] == [(4, 3.0), (8, 2.0), (12, 1.25), (16, 1.0)]
    assert [value for _, value in scalars["epoch"]] == [1, 2, 3, 4]


def test_scalar_tags_group_train_and_val():
    assert [scalar_tag(key) for key in ("train_loss", "val_macro_f1", "lr", "epoch", "trainable")] == [
        "train/loss", "val/macro_f1", "lr", "epoch", "trainable"]
