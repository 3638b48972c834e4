"""A loss that turns NaN stops the run with a clear error and keeps the last good checkpoint."""

from __future__ import annotations

import json

import torch
from safetensors.torch import load_file
from torch import nn

from trainlab.data import TensorBatches
from trainlab.training import ClassificationTask, Trainer
from trainlab.training.callbacks import Callback, Checkpointing, NaNGuard


class PoisonWeightsAtEpoch(Callback):
    """Sets the first weight to NaN when the given (0-based) epoch starts."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_epoch_start(self, state):
        if state.epoch == self.epoch:
            with torch.no_grad():
                next(state.model.parameters()).view(-1)[0] = float("nan")


def test_nan_loss_stops_and_the_last_checkpoint_stays_good(tmp_path):
    torch.manual_seed(0)
    inputs, targets = torch.randn(64, 4), torch.randint(0, 3, (64,))
    model = nn.Linear(4, 3)
    trainer = Trainer(
        model, ClassificationTask(3), torch.optim.SGD(model.parameters(), lr=0.1), max_epochs=5,
        callbacks=[NaNGuard(), PoisonWeightsAtEpoch(2), Checkpointing(tmp_path, "train_loss", "min")],
    )
    state = trainer.fit(TensorBatches(inputs, targets, batch_size=16))
    assert state.diverged and state.should_stop
    assert state.stop_reason == (
        "the training loss became nan at epoch 3, batch 1; lower optim.lr or set train.grad_clip_norm"
    )
    assert state.epoch == 2  # two epochs completed, the third was abandoned
    saved = json.loads((tmp_path / "last" / "state.json").read_text())
    assert saved["epoch"] == 2
    weights = load_file(str(tmp_path / "last" / "model.safetensors"))
    assert all(torch.isfinite(tensor).all() for tensor in weights.values())


def test_cli_divergence_exits_1_and_leaves_the_run_incomplete(trainlab, tmp_path):
    run_dir = tmp_path / "run"
    code, out, err = trainlab("train", "image-classification", "--data", "digits", "--out", run_dir,
                              "model=mlp", "optim=sgd", "optim.lr=1e4", "train.epochs=3")
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("trainlab: error: the training loss became nan at epoch 1")
    assert err.strip().endswith("no epoch completed")
    assert out == ""
    assert not (run_dir / "metrics.json").exists()


def test_losses_read_in_groups_still_stop_in_the_epoch_that_went_bad(tmp_path):
    """What a GPU does (a read every few batches): the first bad batch is named and the epoch is
    abandoned, even when it went bad after the last full group."""
    torch.manual_seed(0)
    inputs, targets = torch.randn(80, 4), torch.randint(0, 3, (80,))
    model = nn.Linear(4, 3)
    trainer = Trainer(
        model, ClassificationTask(3), torch.optim.SGD(model.parameters(), lr=0.1), max_epochs=5,
        callbacks=[NaNGuard(check_every=3), PoisonWeightsAtEpoch(1), Checkpointing(tmp_path, "train_loss", "min")],
    )
    state = trainer.fit(TensorBatches(inputs, targets, batch_size=16))  # 5 batches: read after 3 and 5
    assert state.diverged
    assert state.stop_reason == (
        "the training loss became nan at epoch 2, batch 1; lower optim.lr or set train.grad_clip_norm"
    )
    assert state.epoch == 1
    assert json.loads((tmp_path / "last" / "state.json").read_text())["epoch"] == 1
