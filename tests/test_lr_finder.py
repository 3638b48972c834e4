"""The learning-rate range test: an exponential sweep, a documented suggestion, nothing left changed."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from trainlab.training.lr_finder import lr_range_test, suggest_lr
from trainlab.training.tasks import ClassificationTask


def blobs(count: int = 256, seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Three Gaussian blobs in 4-D, in batches of 32: a problem a linear model learns."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (count,), generator=generator)
    inputs = torch.randn(count, 4, generator=generator) + 3 * nn.functional.one_hot(labels, 4).float()
    return list(zip(inputs.split(32), labels.split(32)))


def test_model_optimizer_rng_and_mode_are_restored_after_the_sweep():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))
    optimizer = torch.optim.Adam(
        [{"params": model[0].parameters(), "lr": 1e-3}, {"params": model[3].parameters(), "lr": 5e-4}]
    )
    task = ClassificationTask(3)
    batches = blobs()
    loss, _, _ = task.forward(model, batches[0], training=True)  # give Adam moments to restore
    loss.backward()
    optimizer.step()
    model.eval()
    weights = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    optimizer_state = optimizer.state_dict()
    moments = {key: {name: value.clone() for name, value in state.items()}
               for key, state in optimizer_state["state"].items()}
    rng = torch.get_rng_state()

    result = lr_range_test(model, task, optimizer, batches, num_steps=40, end_lr=1.0)

    assert len(result.lrs) > 10
    for name, tensor in model.state_dict().items():  # BatchNorm's running statistics included
        assert torch.equal(tensor, weights[name]), name
    restored = optimizer.state_dict()
    assert [group["lr"] for group in restored["param_groups"]] == [1e-3, 5e-4]
    for key, state in restored["state"].items():
        for name, value in state.items():
            assert torch.equal(value, moments[key][name]), (key, name)
    assert torch.equal(torch.get_rng_state(), rng)
    assert not model.training


def test_the_sweep_is_exponential_keeps_group_ratios_and_stops_when_the_loss_diverges():
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    seen = []

    class Recording(ClassificationTask):
        def forward(self, model, batch, training):
            seen.append(optimizer.param_groups[0]["lr"])
            return super().forward(model, batch, training)

    result = lr_range_test(model, Recording(3), optimizer, blobs(), start_lr=1e-5, end_lr=1e5, num_steps=60)
    expected = 1e-5 * (1e10) ** (np.arange(60) / 59)
    assert np.allclose(result.lrs, expected[: len(result.lrs)], rtol=1e-9)
    assert seen == result.lrs  # the rate recorded is the one each step used
    assert result.diverged and len(result.lrs) < 60  # SGD at 1e5 blows up well before the end
    # The batches (8 of them) were cycled to reach the steps taken.
    assert len(result.lrs) > 8


def test_suggestions_follow_the_documented_rules_on_a_known_curve():
    lrs = np.logspace(-6, 0, 121)
    log_lr = np.log10(lrs)
    # A smooth drop centred at 1e-3 (steepest there), a minimum near 1e-1.5, then a rise.
    losses = 2 - np.tanh(2 * (log_lr + 3)) + np.where(log_lr > -1.5, 8 * (log_lr + 1.5) ** 2, 0)
    assert suggest_lr(lrs, losses, "steepest") == pytest.approx(1e-3, rel=0.13)  # within one grid step
    lowest = lrs[np.argmin(losses)]
    assert suggest_lr(lrs, losses, "minimum") == pytest.approx(lowest / 10)
    assert suggest_lr(lrs, np.linspace(1, 2, 121), "steepest") is None  # a loss that only rises


def test_the_command_writes_the_sweep_and_its_figure(trainlab, tmp_path):
    out = tmp_path / "lr"
    code, stdout, _ = trainlab("lr-find", "image-classification", "--data", "digits", "--model", "mlp",
                               "--steps", "20", "--out", out, "data.limit=64", "data.batch_size=16")
    assert code == 0 and stdout.strip() == str(out)
    result = json.loads((out / "lr_find.json").read_text())
    assert result["rule"] == "steepest" and len(result["lrs"]) == len(result["smoothed_losses"]) <= 20
    assert result["suggested_lr"] == suggest_lr(result["lrs"], result["smoothed_losses"])
    assert (out / "lr_find.png").is_file()


def test_a_bad_range_is_one_line(trainlab):
    code, _, stderr = trainlab("lr-find", "image-classification", "--data", "digits", "--start-lr", "1",
                               "--end-lr", "0.1")
    assert code == 2
    assert stderr.strip() == ("trainlab: error: lr-find: need --steps >= 2 and 0 < --start-lr < --end-lr "
                              "(got 100, 1, 0.1)")
